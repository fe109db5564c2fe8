/** The client SDK: NanoClient and the pieces it is built from (keystore, local store, outbox). */

export { ClientCore } from "./client-core.ts";
export { ensurePrivateDirectory, sweepTemporaryFiles, writeFileAtomic } from "./home/atomic-file.ts";
export { type ClientConfig, type HomePaths, resolveHome } from "./home/home.ts";
export { type IdentitySeeds, suitesAcceptedByMode } from "./home/identity-seeds.ts";
export type { NodeUnlockedHome, UnlockedHome } from "./home/unlocked-home.ts";
export {
  changeKeystorePassphrase,
  loadKeystore,
  openKeystore,
  type Passphrase,
  saveKeystore,
  sealKeystore,
} from "./keystore/keystore.ts";
export {
  decodeKeystoreContents,
  encodeKeystoreContents,
  type KeystoreContents,
} from "./keystore/keystore-contents.ts";
export {
  type ContactRecord,
  LocalStore,
  type LocalStoreApi,
  type LocalTables,
  type OutboxEntry,
  type PrekeySecretRecord,
  type ReceivedMessage,
  type SessionRecord,
} from "./local-store/local-store.ts";
export type { DeliveryReceipt } from "./messaging/delivery-receipts.ts";
export {
  type IdentityChangedEvent,
  type IdentityChangedListener,
  NanoClient,
  type NanoClientInitOptions,
  type NanoClientOptions,
  type ReceiptListener,
  type SendTextOptions,
} from "./nano-client.ts";
export type { ClaimUsernameResult } from "./operations/claim-username.ts";
export type { BlockResult, BlockSummary } from "./operations/contact-blocks.ts";
export type { ContactSummary, RemovedContact } from "./operations/contacts.ts";
export type { Conversation, HistoryEntry, HistoryOptions } from "./operations/history.ts";
export type { InitResult } from "./operations/init.ts";
export type { PendingMessage } from "./operations/pending.ts";
export type { QuarantineEntry, RetryResult } from "./operations/quarantine.ts";
export type {
  IncomingMessage,
  ReceiveOptions,
  ReceiveResult,
  RejectedMessage,
} from "./operations/receive.ts";
export type { RenewDeviceResult } from "./operations/renew-device.ts";
export type { SendRequest, SendResult } from "./operations/send.ts";
export type { StatusReport } from "./operations/status.ts";
export type { VerifyResult } from "./operations/verify.ts";
export {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  type FlushResult,
  newClientMessageId,
  Outbox,
  type OutboxAck,
  type SendTransport,
} from "./outbox/outbox.ts";
