// A real SDK client (NanoClient: keystore, sealed local store, sessions, outbox) in a process of its
// own, driven over IPC by the deploy tests: the sender sends a numbered, time-stamped text every few
// ms; the receiver records every text it is shown. Both keep a watch open, which reconnects after a
// 1012 and flushes the outbox when it is back.
import { NanoClient } from "../../src/client/index.ts";

export type ChatCommand =
  | { readonly type: "setup"; readonly home: string; readonly name: string; readonly relay: string }
  | { readonly type: "listen" }
  | { readonly type: "send"; readonly peer: string; readonly intervalMs: number }
  | { readonly type: "stop-sending" }
  | { readonly type: "report" }
  | { readonly type: "close" };

export interface Delivery {
  readonly seq: number;
  readonly sentAt: number;
  readonly at: number;
}

export type ChatAnswer =
  | { readonly type: "ready" }
  | { readonly type: "listening" }
  | { readonly type: "sending" }
  | { readonly type: "stopped"; readonly sent: number }
  | {
      readonly type: "report";
      readonly sent: number;
      /** Sends the relay did not acknowledge at once: kept in the outbox and retried (not a failure). */
      readonly queued: number;
      /** Which sends were queued, and why (the first attempt's error code). */
      readonly queuedSeqs: readonly string[];
      /** Sends that threw: what a user would see as a failed send. */
      readonly failures: readonly string[];
      readonly received: readonly Delivery[];
      /** Texts shown more than once. */
      readonly duplicates: number;
      readonly watchErrors: readonly string[];
    }
  | { readonly type: "closed" }
  | { readonly type: "failed"; readonly message: string };

const PASSPHRASE = "deploy test passphrase";
const MIN_ARGON2ID = { memoryKiB: 19456, passes: 2, parallelism: 1 } as const;

const now = () => performance.timeOrigin + performance.now();

let client: NanoClient | null = null;
const watch = new AbortController();
let watching: Promise<unknown> = Promise.resolve();
let sending: Promise<void> | null = null;
let stopSending = false;
let sent = 0;
let queued = 0;
const queuedSeqs: string[] = [];
const failures: string[] = [];
const received: Delivery[] = [];
const seen = new Set<number>();
let duplicates = 0;
const watchErrors: string[] = [];

function answer(message: ChatAnswer): void {
  process.send?.(message);
}

async function sendLoop(peer: string, intervalMs: number): Promise<void> {
  while (!stopSending) {
    const seq = sent + 1;
    try {
      const result = await client!.send({
        recipient: peer,
        text: `${seq}|${now().toFixed(3)}`,
        file: null,
        cryptoMode: null,
      });
      if (result.queued) {
        queued++;
        queuedSeqs.push(`${seq}: ${result.queuedBecause}`);
      }
    } catch (error) {
      failures.push(`${seq}: ${error instanceof Error ? error.message : String(error)}`);
    }
    sent = seq;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function handle(command: ChatCommand): Promise<void> {
  switch (command.type) {
    case "setup":
      client = await NanoClient.create({
        home: command.home,
        mode: "hybrid",
        passphrase: PASSPHRASE,
        relay: command.relay,
        argon2id: MIN_ARGON2ID,
      });
      await client.claimUsername(command.name);
      answer({ type: "ready" });
      return;
    case "listen":
      watching = client!
        .receive({
          watch: true,
          saveDir: null,
          receipts: false,
          signal: watch.signal,
          onMessage: (message) => {
            const at = now();
            const [seqText, stamp] = (message.text ?? "").split("|");
            const seq = Number(seqText);
            if (seen.has(seq)) {
              duplicates++;
              return;
            }
            seen.add(seq);
            received.push({ seq, sentAt: Number(stamp), at });
          },
        })
        .catch((error: unknown) => {
          if (!watch.signal.aborted) watchErrors.push(String(error));
        });
      answer({ type: "listening" });
      return;
    case "send":
      stopSending = false;
      sending = sendLoop(command.peer, command.intervalMs);
      answer({ type: "sending" });
      return;
    case "stop-sending":
      stopSending = true;
      await sending;
      answer({ type: "stopped", sent });
      return;
    case "report":
      answer({ type: "report", sent, queued, queuedSeqs, failures, received, duplicates, watchErrors });
      return;
    case "close":
      stopSending = true;
      await sending;
      watch.abort();
      await watching;
      await client?.close();
      answer({ type: "closed" });
      process.disconnect?.();
      return;
  }
}

process.on("message", (raw) => {
  handle(raw as ChatCommand).catch((error: unknown) =>
    answer({
      type: "failed",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
});
