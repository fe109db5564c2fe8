/**
 * What the screens need from a client, and nothing more: the web app's one seam between the view and
 * the protocol. The browser client (browser-client.ts, over src/client's operations, the browser crypto
 * provider, the IndexedDB store and the fetch transport) implements it; the screens never import the
 * protocol, the store or the transport, so a view bug cannot reach a key and the screens can be tested
 * in Chromium against any implementation of this interface.
 *
 * The record shapes are src/client's own (type-only imports: nothing of src/client is bundled through
 * them), so the app shows exactly what the SDK and the CLI report.
 */
import type { SuiteName } from "../crypto/suite-ids.ts";

/** The three modes, in the order the identity screen offers them (hybrid first: the default). */
export const MODES: readonly SuiteName[] = Object.freeze(["hybrid", "quantum", "classical"]);
export const DEFAULT_MODE: SuiteName = "hybrid";

export interface AccountView {
  /** Null until a username is claimed. */
  readonly username: string | null;
  readonly mode: SuiteName;
  /** Where the relay is: the page's own origin unless the relay setting names another. */
  readonly relay: string;
}

export interface ConversationView {
  readonly peer: string;
  /** The newest message's text (an attachment: its one-line description). */
  readonly lastText: string;
  readonly lastAt: number;
  readonly unread: number;
  /** The contact's identity changed: sending is blocked until the user accepts it. */
  readonly identityChanged: boolean;
}

/** pending: in the outbox; sent: the relay stored it; delivered/read: the peer's receipt said so. */
export type DeliveryState = "pending" | "sent" | "delivered" | "read";

export interface MessageView {
  readonly id: string;
  readonly direction: "in" | "out";
  readonly text: string;
  readonly file: { readonly name: string; readonly size: number } | null;
  /** Local time: received, or sent. */
  readonly at: number;
  /** Only for sent messages. */
  readonly delivery: DeliveryState | null;
  /**
   * When the message disappears (ms since the epoch), for a conversation with a disappearing timer;
   * null otherwise. The hook for the compliance issue's timer (docs/web.md "Limits").
   */
  readonly expiresAt: number | null;
}

export interface ContactView {
  readonly peer: string;
  readonly mode: SuiteName;
  readonly verified: boolean;
  /** The contact's identity changed since it was pinned: sending is blocked until accepted. */
  readonly identityChanged: boolean;
}

export interface SafetyNumberView {
  readonly peer: string;
  /** 60 digits in groups of five (docs/safety-numbers.md). */
  readonly digits: string;
  /** The QR payload (docs/safety-numbers.md "QR payload"), hex. */
  readonly qrPayload: string;
  readonly verified: boolean;
  readonly identityChanged: boolean;
}

export interface PendingView {
  readonly id: string;
  readonly recipient: string;
  readonly text: string | null;
  readonly createdAt: number;
  readonly attempts: number;
  /** The error code of the last failed attempt (relay_unreachable...), null before any. */
  readonly lastError: string | null;
}

export interface OutgoingFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Progress of an upload, in ciphertext bytes. */
export type Progress = (sent: number, total: number) => void;

/** What changed, so the open screen can refresh what it shows. */
export type MessengerEvent =
  | { readonly kind: "message"; readonly peer: string }
  | { readonly kind: "delivery"; readonly peer: string }
  | { readonly kind: "identity-changed"; readonly peer: string }
  | { readonly kind: "outbox" }
  | { readonly kind: "connection"; readonly online: boolean };

/** How an identity is made: its mode, and an optional passphrase over the browser's keystore. */
export interface NewIdentity {
  readonly mode: SuiteName;
  /** Null: the keys are protected by this browser's storage alone (docs/web.md "Browser keystore"). */
  readonly passphrase: string | null;
  /** Completed fraction (0..1) of the passphrase's key derivation (argon2id takes seconds in a page). */
  readonly onProgress?: (fraction: number) => void;
}

export interface Messenger {
  /** The largest file `sendFile` takes: the screens refuse a bigger one before reading it into memory. */
  readonly maxFileBytes: number;
  /** Null before an identity exists in this browser (and while it is locked). */
  account(): Promise<AccountView | null>;
  /** True when an identity exists here behind a passphrase that has not been given yet. */
  locked(): Promise<boolean>;
  /** Opens the identity with its passphrase: `wrong_passphrase` when it is not the one. */
  unlock(passphrase: string, onProgress?: (fraction: number) => void): Promise<AccountView>;
  createIdentity(identity: NewIdentity): Promise<AccountView>;
  claimUsername(username: string): Promise<AccountView>;
  conversations(): Promise<ConversationView[]>;
  history(peer: string): Promise<MessageView[]>;
  markRead(peer: string): Promise<void>;
  /** Commits to the outbox first: resolves `queued` when the relay is unreachable (sent later). */
  sendText(peer: string, text: string): Promise<{ readonly queued: boolean }>;
  sendFile(peer: string, file: OutgoingFile, onProgress: Progress): Promise<{ readonly queued: boolean }>;
  /** A received file's bytes, to save. */
  openFile(peer: string, messageId: string): Promise<OutgoingFile>;
  /** Null for someone this browser never exchanged a message with. */
  contact(peer: string): Promise<ContactView | null>;
  safetyNumber(peer: string): Promise<SafetyNumberView>;
  /** `typed`: the number read from the peer's screen, which must match; without it, "they match". */
  markVerified(peer: string, typed?: string): Promise<SafetyNumberView>;
  /** Accepts a changed identity (trust): sending is allowed again, the contact is not verified. */
  acceptIdentity(peer: string): Promise<void>;
  pending(): Promise<PendingView[]>;
  /** Account, contacts and decrypted history as a file to save (docs/client.md "Exporting your data"). */
  exportData(): Promise<OutgoingFile>;
  /** Deletes the account at the relay and this browser's copy; `confirm` must be the username. */
  deleteAccount(confirm: string): Promise<void>;
  subscribe(listener: (event: MessengerEvent) => void): () => void;
}
