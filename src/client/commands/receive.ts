import type { ReceivedMessage } from "../local-store.ts";
import type { UnlockedHome } from "../unlocked-home.ts";
import { relayNotWired } from "./_not-wired.ts";

export interface ReceiveOptions {
  /** Keep the connection open and deliver messages as they arrive, until `signal` aborts. */
  readonly watch: boolean;
  /** Where attachments are written (0600 files); null keeps them in the local store only. */
  readonly saveDir: string | null;
  readonly onMessage: (message: ReceivedMessage) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface ReceiveResult {
  readonly received: number;
}

/**
 * COORDINATOR: fetch from the relay, decrypt with the session protocol, commit session state and the
 * plaintext (`store.transaction`: insertReceived + putSession + replay cache) BEFORE acknowledging
 * each message to the relay, then call `onMessage`.
 */
export async function receive(_home: UnlockedHome, _options: ReceiveOptions): Promise<ReceiveResult> {
  return relayNotWired("receive");
}
