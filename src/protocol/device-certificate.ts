import type { SeedKeyPair } from "../crypto/algorithms.ts";
import { decodeTaggedKey, encodeTaggedKey } from "../crypto/key-encoding.ts";
import { KDF_LABELS, label, PROTOCOL_VERSION, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { constantTimeEqual } from "./_constant-time.ts";
import {
  checkUsername,
  type IdentityKeys,
  type IdentityRecord,
  identityKeysFor,
  MAX_USERNAME_BYTES,
  recordKeysFor,
} from "./identity-record.ts";
import { checkValidityPeriod } from "./validity.ts";

/**
 * Device keys and their certificates (docs/protocol.md §4.3). The relay authenticates a device by a
 * challenge signed with the device key, never with the identity key: an identity key that signs relay
 * challenges would be a signing oracle for a malicious relay. The identity key signs the certificate
 * once. The device key uses the certifying suite's signature algorithm, so a hybrid or quantum user
 * authenticates post-quantumly too.
 */
export interface DeviceCertificate {
  readonly suite: ProviderSuite;
  readonly username: string;
  /** BLAKE2b(nano/v1/ikh || tagged identity signature key): binds the certificate to one identity key. */
  readonly identityKeyHash: Uint8Array;
  readonly devicePublicKey: Uint8Array;
  readonly deviceId: number;
  readonly created: number;
  readonly expires: number;
  readonly signature: Uint8Array;
  readonly encoded: Uint8Array;
}

export function identityKeyHash(
  provider: CryptoProvider,
  suite: ProviderSuite,
  signaturePublicKey: Uint8Array,
): Uint8Array {
  return provider.primitives.blake2b(
    label(KDF_LABELS.identityKeyHash),
    encodeTaggedKey(suite.signature.alg, signaturePublicKey),
  );
}

function encodeBody(
  suite: ProviderSuite,
  username: string,
  ikh: Uint8Array,
  devicePublicKey: Uint8Array,
  deviceId: number,
  created: number,
  expires: number,
): Uint8Array {
  return new Writer()
    .u16(PROTOCOL_VERSION)
    .u16(suite.id)
    .vec8(checkUsername(username))
    .bytes(ikh)
    .bytes(encodeTaggedKey(suite.signature.alg, devicePublicKey))
    .u32(deviceId)
    .u64(created)
    .u64(expires)
    .finish();
}

export interface DeviceCertificateOptions {
  readonly deviceId?: number;
  readonly created?: number;
  /** Default: one year after `created`. */
  readonly expires?: number;
}

/** Generates a device key for `suite` and certifies it with that suite's identity key. */
export async function createDevice(
  provider: CryptoProvider,
  identity: IdentityKeys,
  suite: ProviderSuite,
  options: DeviceCertificateOptions = {},
): Promise<{ deviceKey: SeedKeyPair; certificate: DeviceCertificate }> {
  const keys = identityKeysFor(identity, suite);
  const deviceKey = await suite.signature.keygen();
  const created = options.created ?? Date.now();
  const expires = options.expires ?? created + 365 * 24 * 3600 * 1000;
  if (expires <= created) throw new RangeError("certificate must expire after it is created");
  const body = encodeBody(
    suite,
    identity.username,
    identityKeyHash(provider, suite, keys.signature.publicKey),
    deviceKey.publicKey,
    options.deviceId ?? 1,
    created,
    expires,
  );
  const signature = await suite.signature.sign(
    keys.signature.seed,
    body,
    label(SIGNATURE_CONTEXTS.deviceCert),
  );
  const encoded = new Writer().bytes(body).bytes(signature).finish();
  return { deviceKey, certificate: decodeDeviceCertificateExact(provider, encoded) };
}

/** Parses a certificate (no signature check: that needs the identity record, see verify). */
export function decodeDeviceCertificate(
  provider: CryptoProvider,
  bytes: Uint8Array,
  offset: number,
): [DeviceCertificate, number] {
  const reader = new Reader(bytes, offset);
  const version = reader.u16("device certificate version");
  if (version !== PROTOCOL_VERSION)
    throw new NanoError("unsupported_version", `device certificate version ${version}`);
  const suite = provider.suite(reader.u16("suite"));
  const username = new TextDecoder().decode(reader.vec8("username", MAX_USERNAME_BYTES, 1));
  checkUsername(username);
  const ikh = reader.fixed(64, "identity key hash");
  const [devicePublicKey, keyRead] = decodeTaggedKey(
    bytes,
    reader.offset,
    suite.signature.alg,
    suite.signature.lengths.publicKey,
  );
  reader.offset += keyRead;
  const deviceId = reader.u32("device id");
  const created = reader.u64n("created");
  const expires = reader.u64n("expires");
  if (expires <= created) throw new NanoError("malformed", "certificate expires before it is created");
  const signature = reader.fixed(suite.signature.lengths.signature, "certificate signature");
  const certificate: DeviceCertificate = {
    suite,
    username,
    identityKeyHash: ikh,
    devicePublicKey,
    deviceId,
    created,
    expires,
    signature,
    encoded: bytes.slice(offset, reader.offset),
  };
  return [certificate, reader.offset - offset];
}

export function decodeDeviceCertificateExact(provider: CryptoProvider, bytes: Uint8Array): DeviceCertificate {
  return decodeExact(bytes, (b, o) => decodeDeviceCertificate(provider, b, o), "device certificate");
}

/**
 * What the relay calls on registration and on every login: the certificate must name the record's
 * user, be signed by the record's identity key of its suite, and be valid at `now`.
 */
export async function verifyDeviceCertificate(
  provider: CryptoProvider,
  bytes: Uint8Array,
  record: IdentityRecord,
  now: number = Date.now(),
): Promise<DeviceCertificate> {
  const certificate = decodeDeviceCertificateExact(provider, bytes);
  const keys = recordKeysFor(record, certificate.suite);
  if (certificate.username !== record.username) {
    throw new NanoError("certificate_mismatch", "device certificate names another user");
  }
  const expectedHash = identityKeyHash(provider, certificate.suite, keys.signature);
  if (!constantTimeEqual(certificate.identityKeyHash, expectedHash)) {
    throw new NanoError("certificate_mismatch", "device certificate names another identity key");
  }
  // A device key equal to an identity key would make the identity key answer relay challenges.
  for (const entry of record.keys) {
    if (constantTimeEqual(entry.signature, certificate.devicePublicKey)) {
      throw new NanoError("certificate_mismatch", "the device key must differ from every identity key");
    }
  }
  const body = certificate.encoded.subarray(0, certificate.encoded.length - certificate.signature.length);
  const ok = await certificate.suite.signature.verify(
    keys.signature,
    body,
    certificate.signature,
    label(SIGNATURE_CONTEXTS.deviceCert),
  );
  if (!ok) throw new NanoError("invalid_signature", "device certificate signature");
  checkValidityPeriod(
    certificate,
    now,
    { early: "certificate_not_yet_valid", late: "certificate_expired" },
    "device certificate",
  );
  return certificate;
}

/** Device authentication message: `u16 suite || vec8 username || vec8 challenge`, context device-auth. */
function authMessage(suite: ProviderSuite, username: string, challenge: Uint8Array): Uint8Array {
  if (challenge.length < 16 || challenge.length > 64) throw new RangeError("challenge must be 16..64 bytes");
  return new Writer().u16(suite.id).vec8(checkUsername(username)).vec8(challenge).finish();
}

/** The device's answer to a relay login challenge. */
export function signDeviceChallenge(
  suite: ProviderSuite,
  deviceSeed: Uint8Array,
  username: string,
  challenge: Uint8Array,
): Promise<Uint8Array> {
  return suite.signature.sign(
    deviceSeed,
    authMessage(suite, username, challenge),
    label(SIGNATURE_CONTEXTS.deviceAuth),
  );
}

/** Relay side: the answer must be by the certified device key over exactly the issued challenge. */
export function verifyDeviceChallenge(
  certificate: DeviceCertificate,
  challenge: Uint8Array,
  answer: Uint8Array,
): Promise<boolean> {
  return verifyDeviceAnswer(
    certificate.suite,
    certificate.devicePublicKey,
    certificate.username,
    challenge,
    answer,
  );
}

/** The same check from the stored device key (raw) and its suite; false for anything malformed. */
export async function verifyDeviceAnswer(
  suite: ProviderSuite,
  devicePublicKey: Uint8Array,
  username: string,
  challenge: Uint8Array,
  answer: Uint8Array,
): Promise<boolean> {
  if (devicePublicKey.length !== suite.signature.lengths.publicKey) return false;
  if (challenge.length < 16 || challenge.length > 64) return false;
  try {
    return await suite.signature.verify(
      devicePublicKey,
      authMessage(suite, username, challenge),
      answer,
      label(SIGNATURE_CONTEXTS.deviceAuth),
    );
  } catch (error) {
    if (NanoError.is(error)) return false;
    throw error;
  }
}
