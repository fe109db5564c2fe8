/**
 * A Messenger whose state the test scripts (test/browser/app-screens.test.ts): the screens' view logic
 * in Chromium — navigation, focus, labels, the changed-identity block, ticks, progress, layout — apart
 * from the protocol. It holds no keys and encrypts nothing, and no test of it says anything about the
 * crypto or the relay: those are proved against the real relay and client (relay-fetch.test.ts and the
 * end-to-end tests). Everything the app calls is recorded in `calls` for the test to check.
 */
import type {
  AccountView,
  ContactView,
  ConversationView,
  MessageView,
  Messenger,
  MessengerEvent,
  NewIdentity,
  OutgoingFile,
  PendingView,
  Progress,
  SafetyNumberView,
} from "../../../../src/web/messenger.ts";

class ScriptedError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class ScriptedMessenger implements Messenger {
  /** Small, so the test can offer a file over it. */
  readonly maxFileBytes = 10_000;
  readonly calls: string[] = [];
  #account: AccountView | null = null;
  #passphrase: string | null = null;
  #locked = false;
  readonly #messages = new Map<string, MessageView[]>();
  readonly #contacts = new Map<string, ContactView>();
  readonly #listeners = new Set<(event: MessengerEvent) => void>();
  readonly #read = new Set<string>();
  #pending: PendingView[] = [];
  #online = true;
  #next = 1;
  /** Usernames the "relay" says are taken. */
  readonly taken = new Set<string>(["taken"]);
  /** The QR payload and digits the safety number screen shows. */
  safety = { digits: "", qrPayload: "" };

  #emit(event: MessengerEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #list(peer: string): MessageView[] {
    let list = this.#messages.get(peer);
    if (list === undefined) {
      list = [];
      this.#messages.set(peer, list);
    }
    return list;
  }

  #contactOf(peer: string): ContactView {
    const known = this.#contacts.get(peer);
    if (known !== undefined) return known;
    const made: ContactView = { peer, mode: "hybrid", verified: false, identityChanged: false };
    this.#contacts.set(peer, made);
    return made;
  }

  // --- the test's controls ---

  receive(peer: string, text: string): void {
    this.#contactOf(peer);
    this.#list(peer).push({
      id: `in-${this.#next++}`,
      direction: "in",
      text,
      file: null,
      at: Date.now(),
      delivery: null,
      expiresAt: null,
    });
    this.#emit({ kind: "message", peer });
  }

  receiveFile(peer: string, name: string, size: number): void {
    this.#contactOf(peer);
    this.#list(peer).push({
      id: `in-${this.#next++}`,
      direction: "in",
      text: `file ${name}`,
      file: { name, size },
      at: Date.now(),
      delivery: null,
      expiresAt: null,
    });
    this.#emit({ kind: "message", peer });
  }

  /** A receipt for every message sent to `peer`. */
  deliver(peer: string, state: "delivered" | "read"): void {
    const list = this.#list(peer);
    for (const [i, message] of list.entries())
      if (message.direction === "out") list[i] = { ...message, delivery: state };
    this.#emit({ kind: "delivery", peer });
  }

  changeIdentity(peer: string): void {
    this.#contacts.set(peer, { ...this.#contactOf(peer), identityChanged: true, verified: false });
    this.#emit({ kind: "identity-changed", peer });
  }

  setOnline(online: boolean): void {
    this.#online = online;
    if (online) {
      for (const entry of this.#pending) {
        const list = this.#list(entry.recipient);
        const index = list.findIndex((message) => message.id === entry.id);
        if (index >= 0) list[index] = { ...list[index]!, delivery: "sent" };
      }
      this.#pending = [];
    }
    this.#emit({ kind: "connection", online });
    this.#emit({ kind: "outbox" });
  }

  // --- Messenger ---

  account(): Promise<AccountView | null> {
    return Promise.resolve(this.#account);
  }

  async createIdentity(identity: NewIdentity): Promise<AccountView> {
    this.calls.push(`createIdentity ${identity.mode} ${identity.passphrase ?? "-"}`);
    for (const fraction of [0.25, 0.5, 1]) identity.onProgress?.(fraction);
    this.#passphrase = identity.passphrase;
    this.#account = { username: null, mode: identity.mode, relay: location.origin };
    return this.#account;
  }

  /** The test's control: as after a reload, the identity needs its passphrase again. */
  lock(): void {
    this.#locked = this.#passphrase !== null;
  }

  async locked(): Promise<boolean> {
    return this.#locked;
  }

  async unlock(passphrase: string): Promise<AccountView> {
    this.calls.push("unlock");
    if (passphrase !== this.#passphrase)
      throw new ScriptedError("wrong_passphrase", "the passphrase is wrong");
    this.#locked = false;
    return this.#account!;
  }

  async claimUsername(username: string): Promise<AccountView> {
    this.calls.push(`claimUsername ${username}`);
    if (this.taken.has(username))
      throw new ScriptedError("username_taken", `the username "${username}" is taken`);
    this.#account = { ...this.#account!, username };
    return this.#account;
  }

  async conversations(): Promise<ConversationView[]> {
    const out: ConversationView[] = [];
    for (const [peer, list] of this.#messages) {
      const last = list.at(-1);
      if (last === undefined) continue;
      out.push({
        peer,
        lastText: last.text,
        lastAt: last.at,
        unread: list.filter((message) => message.direction === "in" && !this.#read.has(message.id)).length,
        identityChanged: this.#contacts.get(peer)?.identityChanged === true,
      });
    }
    return out.sort((a, b) => b.lastAt - a.lastAt);
  }

  async history(peer: string): Promise<MessageView[]> {
    return [...(this.#messages.get(peer) ?? [])];
  }

  async markRead(peer: string): Promise<void> {
    for (const message of this.#list(peer)) if (message.direction === "in") this.#read.add(message.id);
  }

  async #send(
    peer: string,
    text: string,
    file: OutgoingFile | null,
    onProgress?: Progress,
  ): Promise<{ queued: boolean }> {
    if (this.#contactOf(peer).identityChanged)
      throw new ScriptedError("identity_changed", `${peer}'s identity changed`);
    if (file !== null && onProgress !== undefined) {
      for (let sent = 0; sent <= file.bytes.length; sent += Math.max(1, Math.ceil(file.bytes.length / 4))) {
        onProgress(sent, file.bytes.length);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const id = `out-${this.#next++}`;
    const queued = !this.#online;
    this.#list(peer).push({
      id,
      direction: "out",
      text,
      file: file === null ? null : { name: file.name, size: file.bytes.length },
      at: Date.now(),
      delivery: queued ? "pending" : "sent",
      expiresAt: null,
    });
    if (queued)
      this.#pending.push({
        id,
        recipient: peer,
        text,
        createdAt: Date.now(),
        attempts: 1,
        lastError: "relay_unreachable",
      });
    return { queued };
  }

  sendText(peer: string, text: string): Promise<{ queued: boolean }> {
    this.calls.push(`sendText ${peer} ${text}`);
    return this.#send(peer, text, null);
  }

  sendFile(peer: string, file: OutgoingFile, onProgress: Progress): Promise<{ queued: boolean }> {
    this.calls.push(`sendFile ${peer} ${file.name} ${file.bytes.length}`);
    return this.#send(peer, `file ${file.name}`, file, onProgress);
  }

  async openFile(_peer: string, messageId: string): Promise<OutgoingFile> {
    this.calls.push(`openFile ${messageId}`);
    return { name: "received.txt", bytes: new TextEncoder().encode("hello") };
  }

  async contact(peer: string): Promise<ContactView | null> {
    return this.#contacts.get(peer) ?? null;
  }

  async safetyNumber(peer: string): Promise<SafetyNumberView> {
    const contact = this.#contactOf(peer);
    return { peer, ...this.safety, verified: contact.verified, identityChanged: contact.identityChanged };
  }

  async markVerified(peer: string, typed?: string): Promise<SafetyNumberView> {
    this.calls.push(`markVerified ${peer} ${typed ?? "match"}`);
    if (typed !== undefined && typed.replace(/\s/g, "") !== this.safety.digits.replace(/\s/g, ""))
      throw new ScriptedError("safety_number_mismatch", "the safety numbers differ");
    this.#contacts.set(peer, { ...this.#contactOf(peer), verified: true, identityChanged: false });
    return this.safetyNumber(peer);
  }

  async acceptIdentity(peer: string): Promise<void> {
    this.calls.push(`acceptIdentity ${peer}`);
    this.#contacts.set(peer, { ...this.#contactOf(peer), identityChanged: false });
  }

  async pending(): Promise<PendingView[]> {
    return [...this.#pending];
  }

  async exportData(): Promise<OutgoingFile> {
    this.calls.push("exportData");
    return { name: "nano-export.json", bytes: new TextEncoder().encode("{}") };
  }

  async deleteAccount(confirm: string): Promise<void> {
    this.calls.push(`deleteAccount ${confirm}`);
    if (confirm !== this.#account?.username)
      throw new ScriptedError("invalid_argument", "type your username to confirm");
    this.#account = null;
  }

  subscribe(listener: (event: MessengerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
