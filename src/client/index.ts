/** The client SDK: NanoClient and the pieces it is built from (keystore, local store, outbox). */
export { ensurePrivateDirectory, sweepTemporaryFiles, writeFileAtomic } from "./atomic-file.ts";
export type { ClaimUsernameResult } from "./commands/claim-username.ts";
export type { ContactSummary } from "./commands/contacts.ts";
export type { InitResult } from "./commands/init.ts";
export type {
  IncomingMessage,
  ReceiveOptions,
  ReceiveResult,
  RejectedMessage,
} from "./commands/receive.ts";
export type { SendRequest, SendResult } from "./commands/send.ts";
export type { StatusReport } from "./commands/status.ts";
export type { VerifyResult } from "./commands/verify.ts";
export type { DeliveryReceipt } from "./delivery-receipts.ts";
export { type ClientConfig, type HomePaths, resolveHome } from "./home.ts";
export { acceptedSuites, type IdentitySeeds } from "./identity-seeds.ts";
export {
  changeKeystorePassphrase,
  loadKeystore,
  openKeystore,
  type Passphrase,
  saveKeystore,
  sealKeystore,
} from "./keystore.ts";
export {
  decodeKeystoreContents,
  encodeKeystoreContents,
  type KeystoreContents,
} from "./keystore-contents.ts";
export {
  type ContactRecord,
  LocalStore,
  LocalTables,
  type OutboxEntry,
  type PrekeySecretRecord,
  type ReceivedMessage,
  type SessionRecord,
} from "./local-store.ts";
export {
  type IdentityChangedEvent,
  type IdentityChangedListener,
  NanoClient,
  type NanoClientInitOptions,
  type NanoClientOptions,
  type ReceiptListener,
} from "./nano-client.ts";
export {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  type FlushResult,
  newClientMessageId,
  Outbox,
  type OutboxAck,
  type SendTransport,
} from "./outbox.ts";
export type { UnlockedHome } from "./unlocked-home.ts";
