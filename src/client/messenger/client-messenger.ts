/**
 * The web app's Messenger (src/web/messenger.ts) over the SDK's operations: what the screens ask,
 * answered by the same code the CLI runs. Runtime-neutral — it takes the client as the structural
 * `MessengerClient` (NanoClient in Node satisfies it; the browser client will) and the few things that
 * differ per runtime (creating a home, exporting, opening a received file) as functions — so it is
 * tested in Node against a real relay and real peers, and the page runs the same mapping.
 *
 * It keeps, per open client, only what the store does not: the delivery state receipts reported
 * (content id → delivered/read; the store keeps no receipts, so after a restart a delivered message
 * shows "sent" until the next receipt) and the listeners. The receive loop (`start`) watches the relay
 * until `stop`, and retries with a capped backoff when it fails.
 */
import type {
  AccountView,
  ContactView,
  ConversationView,
  DeliveryState,
  MessageView,
  Messenger,
  MessengerEvent,
  NewIdentity,
  OutgoingFile,
  PendingView,
  Progress,
  SafetyNumberView,
} from "../../web/messenger.ts";
import type { DeliveryReceipt } from "../messaging/delivery-receipts.ts";
import type { ClaimUsernameResult } from "../operations/claim-username.ts";
import type { ContactSummary } from "../operations/contacts.ts";
import type { Conversation, HistoryEntry, HistoryOptions } from "../operations/history.ts";
import type { PendingMessage } from "../operations/pending.ts";
import type { ReceiveOptions, ReceiveResult } from "../operations/receive.ts";
import { MAX_FILE_BYTES, type SendRequest, type SendResult } from "../operations/send.ts";
import type { StatusReport } from "../operations/status.ts";
import type { VerifyResult } from "../operations/verify.ts";

/** What the Messenger needs of an open client (NanoClient's methods of the same names). */
export interface MessengerClient {
  status(): Promise<StatusReport>;
  claimUsername(username: string): Promise<ClaimUsernameResult>;
  conversations(): Promise<Conversation[]>;
  history(options: HistoryOptions): Promise<HistoryEntry[]>;
  markRead(peer: string): Promise<number>;
  send(request: SendRequest): Promise<SendResult>;
  contacts(): Promise<ContactSummary[]>;
  trust(username: string): Promise<ContactSummary>;
  verify(username: string, confirm: boolean | string): Promise<VerifyResult>;
  pending(): Promise<PendingMessage[]>;
  deleteAccount(confirm: string): Promise<unknown>;
  receive(options: ReceiveOptions): Promise<ReceiveResult>;
}

/** What differs per runtime: where a home lives, where files go. */
export interface MessengerRuntime {
  /** The open client, or null before an identity exists here. */
  client(): MessengerClient | null;
  /** Makes a home with a new identity and opens it (the next `client()` returns it). */
  createIdentity(identity: NewIdentity): Promise<MessengerClient>;
  /** True when a home exists here behind a passphrase not given yet. */
  locked(): Promise<boolean>;
  /** Opens the home with its passphrase (`wrong_passphrase`). */
  unlock(passphrase: string, onProgress?: (fraction: number) => void): Promise<MessengerClient>;
  /** The relay this client talks to (for display). */
  relay(): string;
  /** A received attachment's bytes. */
  openFile(entry: HistoryEntry): Promise<OutgoingFile>;
  exportData(client: MessengerClient): Promise<OutgoingFile>;
  /** Forgets this runtime's copy of the account after the relay deleted it. */
  forget(): Promise<void>;
  /** Where received attachments go (ReceiveOptions.saveDir). */
  readonly saveDir: string | null;
}

/** How many messages a conversation screen shows (the newest). */
export const CONVERSATION_PAGE = 200;
/** Retry delays of the receive loop after a failure: doubling from the first, capped. */
export const RECEIVE_RETRY_MS = Object.freeze({ first: 500, max: 15_000 });
/**
 * While the outbox holds the user's messages, how often it is looked at: the watch flushes it when the
 * relay is back, and says nothing, so the screens learn it here (ticks, the outbox list, "online").
 */
export const OUTBOX_LOOK_MS = 1000;

const notReady = () =>
  Object.assign(new Error("create an identity first"), { code: "username_not_claimed" as const });

export class ClientMessenger implements Messenger {
  readonly maxFileBytes: number = MAX_FILE_BYTES;
  readonly #runtime: MessengerRuntime;
  readonly #listeners = new Set<(event: MessengerEvent) => void>();
  /** Content id → what the newest receipt said. */
  readonly #receipts = new Map<string, "delivered" | "read">();
  #loop: { controller: AbortController; done: Promise<void> } | null = null;
  #outboxTimer: ReturnType<typeof setTimeout> | null = null;
  #online: boolean | null = null;

  constructor(runtime: MessengerRuntime) {
    this.#runtime = runtime;
  }

  #client(): MessengerClient {
    const client = this.#runtime.client();
    if (client === null) throw notReady();
    return client;
  }

  #emit(event: MessengerEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #connection(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    this.#emit({ kind: "connection", online });
  }

  subscribe(listener: (event: MessengerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async account(): Promise<AccountView | null> {
    const client = this.#runtime.client();
    return client === null ? null : this.#accountOf(client);
  }

  async createIdentity(identity: NewIdentity): Promise<AccountView> {
    return this.#accountOf(await this.#runtime.createIdentity(identity));
  }

  locked(): Promise<boolean> {
    return this.#runtime.locked();
  }

  async unlock(passphrase: string, onProgress?: (fraction: number) => void): Promise<AccountView> {
    const client = await this.#runtime.unlock(passphrase, onProgress);
    const account = await this.#accountOf(client);
    if (account.username !== null) this.start();
    return account;
  }

  async #accountOf(client: MessengerClient): Promise<AccountView> {
    const status = await client.status();
    return { username: status.username, mode: status.mode, relay: status.relay ?? this.#runtime.relay() };
  }

  async claimUsername(username: string): Promise<AccountView> {
    const client = this.#client();
    await client.claimUsername(username);
    this.start();
    return (await this.account())!;
  }

  async conversations(): Promise<ConversationView[]> {
    const client = this.#client();
    const [conversations, contacts] = await Promise.all([client.conversations(), client.contacts()]);
    const changed = new Set(
      contacts.filter((contact) => contact.identityChanged).map((contact) => contact.username),
    );
    return conversations.map((conversation) => ({
      peer: conversation.peer,
      lastText: conversation.last.text,
      lastAt: conversation.last.at,
      unread: conversation.unread,
      identityChanged: changed.has(conversation.peer),
    }));
  }

  async history(peer: string): Promise<MessageView[]> {
    const client = this.#client();
    const [entries, pending] = await Promise.all([
      client.history({ peer, limit: CONVERSATION_PAGE }),
      client.pending(),
    ]);
    const waiting = new Set(pending.map((entry) => entry.clientMessageId));
    return entries.map((entry) => this.#view(entry, waiting));
  }

  #view(entry: HistoryEntry, waiting: ReadonlySet<string>): MessageView {
    let delivery: DeliveryState | null = null;
    if (entry.direction === "out") {
      const receipt = entry.contentId === null ? undefined : this.#receipts.get(entry.contentId);
      delivery = waiting.has(entry.id) ? "pending" : (receipt ?? "sent");
    }
    return {
      id: entry.id,
      direction: entry.direction,
      text: entry.text,
      file:
        entry.attachment === null
          ? null
          : { name: entry.attachment.filename ?? "(unnamed)", size: entry.attachment.size },
      at: entry.at,
      delivery,
      // A disappearing message's deadline (docs/client.md "Disappearing messages"): the screen shows it.
      expiresAt: entry.expiresAt,
    };
  }

  async markRead(peer: string): Promise<void> {
    await this.#client().markRead(peer);
  }

  async #send(request: SendRequest, peer: string): Promise<{ queued: boolean }> {
    const result = await this.#client().send(request);
    this.#connection(!result.queued);
    if (result.queued) {
      this.#emit({ kind: "outbox" });
      this.#watchOutbox();
    }
    this.#emit({ kind: "message", peer });
    return { queued: result.queued };
  }

  /** Looks at the outbox every OUTBOX_LOOK_MS until it is empty (or the client closes). */
  #watchOutbox(): void {
    if (this.#outboxTimer !== null) return;
    let last: ReadonlyMap<string, string> | null = null;
    const look = async () => {
      this.#outboxTimer = null;
      const client = this.#runtime.client();
      if (client === null) return;
      let waiting: PendingMessage[];
      try {
        waiting = (await client.pending()).filter((entry) => entry.contentType !== null);
      } catch {
        waiting = [];
      }
      const now = new Map(waiting.map((entry) => [entry.clientMessageId, entry.recipient]));
      if (last !== null) {
        const gone = [...last].filter(([id]) => !now.has(id));
        if (gone.length > 0) {
          this.#emit({ kind: "outbox" });
          for (const peer of new Set(gone.map(([, recipient]) => recipient)))
            this.#emit({ kind: "message", peer });
        }
      } else if (now.size === 0) {
        // The first look, from start(): what an earlier page left in the outbox may have gone out with
        // the watch's first flush already; whatever the screens show of it is refreshed.
        this.#emit({ kind: "outbox" });
      }
      last = now;
      if (now.size === 0) {
        this.#connection(true);
        return;
      }
      this.#outboxTimer = setTimeout(() => void look(), OUTBOX_LOOK_MS);
    };
    this.#outboxTimer = setTimeout(() => void look(), OUTBOX_LOOK_MS);
  }

  sendText(peer: string, text: string): Promise<{ queued: boolean }> {
    return this.#send({ recipient: peer, text, file: null, cryptoMode: null }, peer);
  }

  sendFile(peer: string, file: OutgoingFile, onProgress: Progress): Promise<{ queued: boolean }> {
    return this.#send(
      {
        recipient: peer,
        text: null,
        file: { name: file.name, bytes: file.bytes },
        cryptoMode: null,
        onProgress,
      },
      peer,
    );
  }

  async openFile(peer: string, messageId: string): Promise<OutgoingFile> {
    const entries = await this.#client().history({ peer, limit: CONVERSATION_PAGE });
    const entry = entries.find((candidate) => candidate.id === messageId && candidate.attachment !== null);
    if (entry === undefined)
      throw Object.assign(new Error(`no file ${messageId} with ${peer}`), {
        code: "invalid_argument" as const,
      });
    return this.#runtime.openFile(entry);
  }

  async contact(peer: string): Promise<ContactView | null> {
    const found = (await this.#client().contacts()).find((contact) => contact.username === peer);
    return found === undefined
      ? null
      : { peer, mode: found.pinnedSuite, verified: found.verified, identityChanged: found.identityChanged };
  }

  #safety(result: VerifyResult, contact: ContactView | null): SafetyNumberView {
    return {
      peer: result.username,
      digits: result.safetyNumber,
      qrPayload: result.qrPayload,
      verified: result.verified,
      identityChanged: contact?.identityChanged ?? false,
    };
  }

  async safetyNumber(peer: string): Promise<SafetyNumberView> {
    const result = await this.#client().verify(peer, false);
    return this.#safety(result, await this.contact(peer));
  }

  async markVerified(peer: string, typed?: string): Promise<SafetyNumberView> {
    const result = await this.#client().verify(peer, typed ?? true);
    this.#emit({ kind: "identity-changed", peer });
    return this.#safety(result, await this.contact(peer));
  }

  async acceptIdentity(peer: string): Promise<void> {
    await this.#client().trust(peer);
    // Their messages were held at the relay while the identity was in question; a new watch is pushed
    // the unacknowledged mailbox again, so they arrive now rather than at the next reconnect.
    if (this.#loop !== null) {
      await this.stop();
      this.start();
    }
    this.#emit({ kind: "identity-changed", peer });
  }

  /**
   * The user's messages waiting in the outbox. Delivery receipts wait there too (control messages,
   * no content type): they are not the user's and are left out.
   */
  async pending(): Promise<PendingView[]> {
    const entries = (await this.#client().pending()).filter((entry) => entry.contentType !== null);
    return entries.map((entry) => ({
      id: entry.clientMessageId,
      recipient: entry.recipient,
      text: entry.text,
      createdAt: entry.createdAt,
      attempts: entry.attempts,
      lastError: entry.lastError,
    }));
  }

  exportData(): Promise<OutgoingFile> {
    return this.#runtime.exportData(this.#client());
  }

  async deleteAccount(confirm: string): Promise<void> {
    await this.#client().deleteAccount(confirm);
    await this.stop();
    await this.#runtime.forget();
  }

  #receipt(receipt: DeliveryReceipt): void {
    for (const id of receipt.contentIds) {
      // "read" is never taken back by a later "delivered" for the same message.
      if (this.#receipts.get(id) !== "read") this.#receipts.set(id, receipt.kind);
    }
    this.#emit({ kind: "delivery", peer: receipt.from });
  }

  /**
   * Watches the relay until `stop`: messages, receipts and changed identities become events; the
   * outbox is flushed each time the connection is (re)established. Idempotent.
   */
  start(): void {
    if (this.#loop !== null || this.#runtime.client() === null) return;
    const controller = new AbortController();
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        controller.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    const run = async () => {
      let delay: number = RECEIVE_RETRY_MS.first;
      while (!controller.signal.aborted) {
        const client = this.#runtime.client();
        if (client === null) return;
        try {
          const result = await client.receive({
            watch: true,
            saveDir: this.#runtime.saveDir,
            signal: controller.signal,
            onMessage: (message) => {
              this.#connection(true);
              this.#emit({ kind: "message", peer: message.sender });
            },
            onReceipt: (receipt) => this.#receipt(receipt),
            onIdentityChanged: (peer) => this.#emit({ kind: "identity-changed", peer }),
          });
          if (result.outboxSent > 0) this.#emit({ kind: "outbox" });
          delay = RECEIVE_RETRY_MS.first;
        } catch {
          if (controller.signal.aborted) return;
          this.#connection(false);
          await sleep(delay);
          delay = Math.min(delay * 2, RECEIVE_RETRY_MS.max);
        }
      }
    };
    this.#loop = { controller, done: run() };
    // What an earlier page (a tab closed while the relay was down) left in the outbox is flushed by
    // the watch when it connects, which says nothing: the look is how the screens learn it went.
    this.#watchOutbox();
  }

  async stop(): Promise<void> {
    if (this.#outboxTimer !== null) clearTimeout(this.#outboxTimer);
    this.#outboxTimer = null;
    const loop = this.#loop;
    this.#loop = null;
    if (loop === null) return;
    loop.controller.abort();
    await loop.done;
  }
}
