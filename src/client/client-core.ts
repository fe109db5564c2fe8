import type { SuiteName } from "../crypto/suite-ids.ts";
import type { ClientRuntime } from "./client-runtime.ts";
import { ClientContext } from "./context.ts";
import type { UnlockedHome } from "./home/open-home.ts";
import type { DeliveryReceipt } from "./messaging/delivery-receipts.ts";
import { type ClaimUsernameResult, claimUsername } from "./operations/claim-username.ts";
import { type BlockResult, setBlocked } from "./operations/contact-blocks.ts";
import {
  type ContactSummary,
  listContacts,
  type RemovedContact,
  removeContact,
  trustContact,
} from "./operations/contacts.ts";
import { type DeleteAccountResult, deleteAccount } from "./operations/delete-account.ts";
import { type ExportDocument, exportDocument } from "./operations/export-document.ts";
import {
  type Conversation,
  conversations,
  type HistoryEntry,
  type HistoryOptions,
  history,
  markRead,
  setConversationExpiry,
} from "./operations/history.ts";
import { cancelPending, listPending, type PendingMessage } from "./operations/pending.ts";
import {
  discardQuarantined,
  listQuarantine,
  type QuarantineEntry,
  type RetryResult,
  retryQuarantined,
} from "./operations/quarantine.ts";
import {
  type IncomingMessage,
  type ReceiveOptions,
  type ReceiveResult,
  receive,
} from "./operations/receive.ts";
import { type RenewDeviceResult, renewDevice } from "./operations/renew-device.ts";
import { type SendRequest, type SendResult, send } from "./operations/send.ts";
import { type StatusReport, status } from "./operations/status.ts";
import { type VerifyResult, verifyContact } from "./operations/verify.ts";
import { Outbox } from "./outbox/outbox.ts";

/** Emitted when a contact's identity record changed: sending and receiving are blocked until trusted. */
export interface IdentityChangedEvent {
  readonly username: string;
}

export type IdentityChangedListener = (event: IdentityChangedEvent) => void;

export type ReceiptListener = (receipt: DeliveryReceipt) => void;

/** The options of `send(peer, text, options)`, the short form for a text. */
export interface SendTextOptions {
  /** Disappearing message (whole seconds, 1 s..365 d); absent: the conversation's timer; null: none. */
  readonly expireAfterMs?: number | null;
  readonly cryptoMode?: SuiteName | null;
  readonly reusePending?: boolean;
}

/**
 * One open client in any runtime: an unlocked home (runtime-free, open-home.ts), the runtime it runs on
 * (client-runtime.ts: the provider, the relay endpoint, the attachment sink) and the SDK's operations
 * over them. NanoClient is this over a Node home plus what only a folder can do (init, export to a
 * file, replace the identity); the web app opens it over the browser home (src/web/browser-runtime.ts).
 * One definition of every operation, so the page runs exactly what the CLI runs.
 */
export class ClientCore {
  readonly #context: ClientContext;
  readonly #identityListeners = new Set<IdentityChangedListener>();
  readonly #receiptListeners = new Set<ReceiptListener>();
  /** Messages committed locally and not yet acknowledged by the relay. */
  readonly outbox: Outbox;

  constructor(home: UnlockedHome, runtime: ClientRuntime) {
    this.#context = new ClientContext(home, runtime);
    this.outbox = new Outbox(home.store, {
      state: this.#context.outbox,
      randomBytes: this.#context.provider.primitives.randomBytes,
    });
  }

  /** This client's in-memory state (relay link, outbox bookkeeping, caches): tests and tools. */
  get context(): ClientContext {
    return this.#context;
  }

  status(): Promise<StatusReport> {
    return status(this.#context);
  }

  contacts(): Promise<ContactSummary[]> {
    return listContacts(this.#context);
  }

  trust(username: string): Promise<ContactSummary> {
    return trustContact(this.#context, username);
  }

  /**
   * The safety number with `username`; `confirm` true records it as compared, a string is the number
   * the user typed from the peer's screen and must match (`safety_number_mismatch`, nothing recorded).
   */
  verify(username: string, confirm: boolean | string): Promise<VerifyResult> {
    return verifyContact(this.#context, username, confirm);
  }

  /** A new device certificate from the identity key (one made for the future, or expired). */
  renewDevice(): Promise<RenewDeviceResult> {
    return renewDevice(this.#context);
  }

  /** Forgets a contact: pinned record, verification, sessions (docs/client.md "Contacts"). */
  removeContact(username: string): Promise<RemovedContact> {
    return removeContact(this.#context, username);
  }

  /** Blocks (or unblocks) a sender: their messages are acknowledged and dropped unread. */
  setBlocked(username: string, blocked: boolean): Promise<BlockResult> {
    return setBlocked(this.#context, username, blocked);
  }

  claimUsername(username: string): Promise<ClaimUsernameResult> {
    return claimUsername(this.#context, username);
  }

  /**
   * This home's account, contacts and decrypted history as one document (docs/client.md "Exporting
   * your data"): what `nano-client export` writes to a file and the web app offers as a download.
   */
  exportDocument(): Promise<ExportDocument> {
    return exportDocument(this.#context);
  }

  /**
   * Deletes this account at the relay (docs/client.md "Deleting your account"); `confirm` must be the
   * username. The local home stays.
   */
  deleteAccount(confirm: string): Promise<DeleteAccountResult> {
    return deleteAccount(this.#context, confirm);
  }

  /** Listens for contacts whose identity changed (DESIGN.md "Safety numbers"); returns an unsubscribe. */
  onIdentityChanged(listener: IdentityChangedListener): () => void {
    this.#identityListeners.add(listener);
    return () => this.#identityListeners.delete(listener);
  }

  /**
   * Listens for delivery receipts from peers (they arrive through `receive` and `messages`); returns
   * an unsubscribe. A receipt names the `contentId`s that `send` returned.
   */
  onReceipt(listener: ReceiptListener): () => void {
    this.#receiptListeners.add(listener);
    return () => this.#receiptListeners.delete(listener);
  }

  #emitIdentityChanged(username: string, emitted: Set<string>): void {
    if (emitted.has(username)) return;
    emitted.add(username);
    for (const listener of this.#identityListeners) listener({ username });
  }

  /** Emits for every contact whose identity became changed while `work` ran (once per contact). */
  async #watchingIdentities<T>(work: (emitted: Set<string>) => Promise<T>): Promise<T> {
    // Nobody listens: nothing to compare (listing every contact decrypts every contact row, per send).
    if (this.#identityListeners.size === 0) return work(new Set());
    const changed = async () =>
      new Set(
        (await this.#context.store.read((tables) => tables.listContacts()))
          .filter((c) => c.identityChanged)
          .map((c) => c.username),
      );
    const before = await changed();
    const emitted = new Set<string>(before);
    try {
      return await work(emitted);
    } finally {
      if (this.#identityListeners.size > 0) {
        for (const username of await changed()) this.#emitIdentityChanged(username, emitted);
      }
    }
  }

  /**
   * Messages kept in the sealed local store (received and sent), oldest first: one conversation with
   * `peer`, from `since` on, the newest `limit` (docs/sdk.md "History"). Kept per the home's
   * `historyRetentionDays`.
   */
  history(options: HistoryOptions = {}): Promise<HistoryEntry[]> {
    return history(this.#context, options);
  }

  /** Every conversation with its newest message and unread count, the most recent first. */
  conversations(): Promise<Conversation[]> {
    return conversations(this.#context);
  }

  /**
   * The timer new messages to `peer` get (docs/sdk.md "Disappearing messages"), in ms (whole seconds,
   * 1 s..365 d), or null for none. A `send` with its own `expireAfterMs` overrides it. Returns seconds.
   */
  setConversationExpiry(peer: string, expireAfterMs: number | null): Promise<number | null> {
    return setConversationExpiry(this.#context, peer, expireAfterMs);
  }

  /** Marks the messages received from `peer` read; returns how many were unread. */
  markRead(peer: string): Promise<number> {
    return markRead(this.#context, peer);
  }

  /** Messages that could not be opened, kept with their envelopes (docs/sdk.md "Quarantine"). */
  quarantine(): Promise<QuarantineEntry[]> {
    return listQuarantine(this.#context);
  }

  /** Tries quarantined messages again; opened ones go to `onMessage` and leave the quarantine. */
  retryQuarantined(options: {
    readonly messageId?: string;
    readonly saveDir?: string | null;
    readonly onMessage: (message: IncomingMessage) => void | Promise<void>;
  }): Promise<RetryResult> {
    return retryQuarantined(this.#context, options);
  }

  /** Drops one quarantined message, or all of them; returns how many. */
  discardQuarantined(messageId: string | "all"): Promise<number> {
    return discardQuarantined(this.#context, messageId);
  }

  /** Messages committed and not yet acknowledged by the relay, with their text, in send order. */
  pending(): Promise<PendingMessage[]> {
    return listPending(this.#context);
  }

  /** Removes a pending message from the outbox (and history): it is not posted. Local only. */
  cancelPending(clientMessageId: string): Promise<PendingMessage> {
    return cancelPending(this.#context, clientMessageId);
  }

  /**
   * Encrypts, commits to the outbox and delivers; `queued` when the relay is unreachable. The short
   * form sends a text: `send("bob", "hi", { expireAfterMs: 3_600_000 })` (a disappearing message).
   */
  send(request: SendRequest): Promise<SendResult>;
  send(peer: string, text: string, options?: SendTextOptions): Promise<SendResult>;
  send(request: SendRequest | string, text?: string, options: SendTextOptions = {}): Promise<SendResult> {
    const full: SendRequest =
      typeof request === "string"
        ? {
            recipient: request,
            text: text ?? "",
            file: null,
            cryptoMode: options.cryptoMode ?? null,
            ...(options.expireAfterMs === undefined ? {} : { expireAfterMs: options.expireAfterMs }),
            ...(options.reusePending === undefined ? {} : { reusePending: options.reusePending }),
          }
        : request;
    return this.#watchingIdentities(() => send(this.#context, full));
  }

  /** Fetches, decrypts, commits, acknowledges; with `watch`, stays connected until `signal` aborts. */
  receive(options: ReceiveOptions): Promise<ReceiveResult> {
    return this.#watchingIdentities((emitted) =>
      receive(this.#context, {
        ...options,
        // During a long watch, say so as soon as it is seen, not when the watch ends.
        onIdentityChanged: (username) => {
          this.#emitIdentityChanged(username, emitted);
          options.onIdentityChanged?.(username);
        },
        onReceipt: async (receipt) => {
          for (const listener of this.#receiptListeners) listener(receipt);
          await options.onReceipt?.(receipt);
        },
      }),
    );
  }

  /**
   * Messages as they arrive over the WebSocket, until `signal` aborts or the loop breaks. Each one is
   * committed locally before it is yielded, and acknowledged to the relay after (in batches).
   */
  async *messages(signal?: AbortSignal): AsyncGenerator<IncomingMessage> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal?.addEventListener("abort", abort, { once: true });
    // A message counts as taken (and is marked shown) once the loop asked for the one after it or
    // stopped: one still queued when the loop stops is handed over by the next receive instead.
    const queue: { message: IncomingMessage; taken: () => void; left: (error: Error) => void }[] = [];
    let wake: (() => void) | null = null;
    let failure: unknown = null;
    let done = false;
    let stopped = false;
    // Never seen by anyone: the receive ends with it (the rest of its batch is refused the same way,
    // then handed over by the next receive), and this loop has stopped listening.
    const notTaken = () => new Error("the messages() loop stopped first");
    const running = this.receive({
      watch: true,
      saveDir: null,
      signal: controller.signal,
      onMessage: (message) =>
        new Promise<void>((taken, left) => {
          if (stopped) return left(notTaken());
          queue.push({ message, taken, left });
          wake?.();
        }),
    })
      .catch((error: unknown) => {
        failure = error;
      })
      .finally(() => {
        done = true;
        wake?.();
      });
    try {
      while (true) {
        const next = queue.shift();
        if (next !== undefined) {
          try {
            yield next.message;
          } finally {
            next.taken();
          }
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
      if (failure !== null) throw failure;
    } finally {
      controller.abort();
      signal?.removeEventListener("abort", abort);
      stopped = true;
      for (const left of queue.splice(0)) left.left(notTaken());
      await running;
    }
  }

  /** Closes the relay channel, forgets every in-memory state of this client and closes the home. */
  close(): Promise<void> {
    return this.#context.close();
  }
}
