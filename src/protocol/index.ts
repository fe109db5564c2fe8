/** The session protocol (docs/protocol.md): formats, handshake, ratchet, sessions. Pure: no I/O. */

export { allLabels, KDF_LABELS, label, PROTOCOL_VERSION, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
export {
  assembleBundle,
  type Bundle,
  bundleHash,
  decodeBundle,
  decodeBundleExact,
  encodeBundle,
  MAX_BUNDLE_BYTES,
} from "./bundle.ts";
export {
  ATTACHMENT_REFERENCE_MAX_BYTES,
  ATTACHMENT_REFERENCE_MIN_BYTES,
  CONTENT_TYPES,
  type Content,
  decodeContent,
  decodeContentExact,
  encodeContent,
  MAX_RECEIPT_IDS,
  MESSAGE_ID_BYTES,
  RECEIPT_KINDS,
} from "./content.ts";
export {
  createDevice,
  type DeviceCertificate,
  decodeDeviceCertificate,
  decodeDeviceCertificateExact,
  signDeviceChallenge,
  verifyDeviceCertificate,
  verifyDeviceChallenge,
} from "./device-certificate.ts";
export {
  decodeEnvelope,
  ENVELOPE_TYPES,
  type Envelope,
  type EnvelopeType,
  encodeEnvelope,
  MAX_ENVELOPE_BYTES,
  maxEnvelopeLength,
} from "./envelope.ts";
export {
  acceptedSuites,
  checkUsername,
  createIdentityRecord,
  decodeIdentityRecord,
  decodeIdentityRecordExact,
  generateIdentityKeys,
  type IdentityKeys,
  type IdentityRecord,
  MAX_IDENTITY_RECORD_BYTES,
  MAX_USERNAME_BYTES,
  type SuiteKeyPairs,
  type SuitePublicKeys,
} from "./identity-record.ts";
export { acceptIdentity } from "./identity-trust.ts";
export { DEFAULT_LIMITS, type ProtocolLimits, tightenLimits } from "./limits.ts";
export {
  type AcceptOutcome,
  type Blocked,
  type CallOptions,
  type ChooseOutcome,
  type ReceiveOutcome,
  type Refused,
  type SendOutcome,
  type StartOutcome,
  wipeConsumed,
} from "./outcomes.ts";
export { bucketFor, MAX_PADDED_CONTENT, pad, unpad } from "./padding.ts";
export {
  decodePrekeyList,
  decodeSignedPrekey,
  decodeSignedPrekeyExact,
  encodePrekeyList,
  generatePrekey,
  MAX_PREKEYS_PER_UPLOAD,
  PREKEY_LIFETIMES,
  PREKEY_ROLES,
  type PrekeyRole,
  type PrekeySecret,
  planRotation,
  type SignedPrekey,
  verifySignedPrekey,
} from "./prekey.ts";
export { rotatePrekeys } from "./prekey-rotation.ts";
export { type ReceiveInput, receiveMessage } from "./receive-message.ts";
export { createRelayVerifier, type RelayVerifier } from "./relay-verifier.ts";
export { checkPin, defaultSuite, raisePin, SELECTION, type Selection, selectSuite } from "./selection.ts";
export { type SendInput, sendMessage } from "./send-message.ts";
export {
  activeSessionSuite,
  type ContactSessions,
  decodeContactSessions,
  decodeRatchetStateExact,
  encodeContactSessions,
  encodeRatchetState,
  SESSION_RECORD_VERSION,
} from "./session-record.ts";
export { chooseSuite, type StartInput, startSession } from "./session-start.ts";
export {
  type Contact,
  type HeldPrekeyRecord,
  isEmpty,
  MemoryStores,
  NO_WRITES,
  type OwnIdentity,
  type PrekeyRef,
  type ProtocolStore,
  type ProtocolView,
  type ProtocolWrites,
} from "./stores.ts";
export {
  signAccountDeletion,
  signIdentityUpdate,
  signUsernameClaim,
  verifyAccountDeletion,
  verifyIdentityUpdate,
  verifyUsernameClaim,
} from "./username-claim.ts";
