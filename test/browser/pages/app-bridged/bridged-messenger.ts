/**
 * A Messenger whose every call crosses to Node, where the test runs the real client for this page
 * (ClientMessenger over NanoClient, a real relay): test/browser/app-with-node-client.test.ts. The
 * screens run in Chromium against real data — real safety numbers, ticks from real receipts, real
 * identity changes, a real outbox — while the client itself runs in Node until src/protocol runs in
 * the page (docs/web.md "Limits"). Bytes cross as base64; callbacks (progress) and events come back
 * through `nanoBridgeEvent`.
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

type Answer =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

interface BridgeGlobals {
  nanoBridgeCall(method: string, args: unknown[]): Promise<Answer>;
  nanoBridgeEvent(
    event: MessengerEvent | { kind: "progress"; call: number; sent: number; total: number },
  ): void;
}
const bridge = globalThis as unknown as BridgeGlobals;

const toB64 = (bytes: Uint8Array) => (bytes as Uint8Array & { toBase64(): string }).toBase64();
const fromB64 = (text: string) =>
  (Uint8Array as unknown as { fromBase64(text: string): Uint8Array }).fromBase64(text);

export class BridgedMessenger implements Messenger {
  /** The client's (MAX_FILE_BYTES of src/client/operations/send.ts): the bridge test sends far less. */
  readonly maxFileBytes = 100 * 1024 * 1024;
  readonly #listeners = new Set<(event: MessengerEvent) => void>();
  readonly #progress = new Map<number, Progress>();
  #nextCall = 0;

  constructor() {
    bridge.nanoBridgeEvent = (event) => {
      if (event.kind === "progress") this.#progress.get(event.call)?.(event.sent, event.total);
      else for (const listener of this.#listeners) listener(event);
    };
  }

  async #call<T>(method: string, ...args: unknown[]): Promise<T> {
    const answer = await bridge.nanoBridgeCall(method, args);
    if (answer.ok) return answer.value as T;
    throw Object.assign(new Error(answer.message), { code: answer.code });
  }

  account = () => this.#call<AccountView | null>("account");
  locked = () => this.#call<boolean>("locked");
  unlock = (passphrase: string) => this.#call<AccountView>("unlock", passphrase);
  createIdentity = (identity: NewIdentity) =>
    this.#call<AccountView>("createIdentity", { mode: identity.mode, passphrase: identity.passphrase });
  claimUsername = (username: string) => this.#call<AccountView>("claimUsername", username);
  conversations = () => this.#call<ConversationView[]>("conversations");
  history = (peer: string) => this.#call<MessageView[]>("history", peer);
  markRead = (peer: string) => this.#call<void>("markRead", peer);
  sendText = (peer: string, text: string) => this.#call<{ queued: boolean }>("sendText", peer, text);
  async sendFile(peer: string, file: OutgoingFile, onProgress: Progress): Promise<{ queued: boolean }> {
    const call = ++this.#nextCall;
    this.#progress.set(call, onProgress);
    try {
      return await this.#call("sendFile", peer, { name: file.name, bytes: toB64(file.bytes) }, call);
    } finally {
      this.#progress.delete(call);
    }
  }
  async openFile(peer: string, messageId: string): Promise<OutgoingFile> {
    const file = await this.#call<{ name: string; bytes: string }>("openFile", peer, messageId);
    return { name: file.name, bytes: fromB64(file.bytes) };
  }
  contact = (peer: string) => this.#call<ContactView | null>("contact", peer);
  safetyNumber = (peer: string) => this.#call<SafetyNumberView>("safetyNumber", peer);
  markVerified = (peer: string, typed?: string) => this.#call<SafetyNumberView>("markVerified", peer, typed);
  acceptIdentity = (peer: string) => this.#call<void>("acceptIdentity", peer);
  pending = () => this.#call<PendingView[]>("pending");
  async exportData(): Promise<OutgoingFile> {
    const file = await this.#call<{ name: string; bytes: string }>("exportData");
    return { name: file.name, bytes: fromB64(file.bytes) };
  }
  deleteAccount = (confirm: string) => this.#call<void>("deleteAccount", confirm);
  subscribe(listener: (event: MessengerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
