import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { envelopeMarker, testEnvelope } from "./fixtures/identities.ts";
import { type Frame, http, Peer, RelayProcess, signUpOver } from "./fixtures/processes.ts";

/**
 * Crash test (DESIGN.md "Relay promises"): a bounded load from several senders while the relay is
 * SIGKILLed and restarted. Senders resend everything not yet acknowledged after each restart (same
 * client message ids); recipients acknowledge what they receive. Afterwards: no acknowledged message
 * is lost, nothing whose acknowledgement was confirmed is delivered again, and each sender's messages
 * arrive in order with no gaps.
 */
const SENDERS = 4;
const RECIPIENTS = 2;
const PER_SENDER = Number(process.env.NANO_CRASH_PER_SENDER ?? 1250); // 5,000 messages in all
const TOTAL = SENDERS * PER_SENDER;
const KILL_AT = [0.12, 0.3, 0.5, 0.7, 0.88]; // fractions of acknowledged sends
const WINDOW = 64;
const DEADLINE_MS = Number(process.env.NANO_CRASH_DEADLINE_MS ?? 150_000);

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const decode = (envelope: unknown) => envelopeMarker(new Uint8Array(Buffer.from(String(envelope), "base64")));

class Availability {
  #up!: Promise<void>;
  #resolve!: () => void;
  constructor() {
    this.down();
  }
  down(): void {
    this.#up = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  up(): void {
    this.#resolve();
  }
  wait(): Promise<void> {
    return this.#up;
  }
}

/**
 * Opens an authenticated socket. `onFrame` is installed before the first byte arrives: the relay
 * pushes queued messages right behind "ready", often in the same TCP read.
 */
async function connect(
  relay: RelayProcess,
  availability: Availability,
  token: string,
  onFrame: (frame: Frame) => void,
): Promise<Peer | null> {
  await availability.wait();
  const peer = new Peer(relay.wsUrl, token);
  peer.onFrame = onFrame;
  const ready = peer.waitFor((f) => f.type === "ready", 10_000).then(() => true);
  const closed = peer.closed.then(() => false);
  if (await Promise.race([ready, closed]).catch(() => false)) return peer;
  peer.socket.terminate();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return null;
}

describe("crash test: SIGKILL under load", () => {
  it(`loses no acknowledged message and delivers none twice after ack (${TOTAL} messages, ${KILL_AT.length} kills)`, {
    timeout: DEADLINE_MS + 30_000,
  }, async () => {
    const dir = tempDir("crash");
    const relay = new RelayProcess(testConfig({ limits: { mailbox_max_messages: TOTAL } }, dir), dir);
    const availability = new Availability();
    await relay.start();
    availability.up();
    const deadline = Date.now() + DEADLINE_MS;
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, (_, i) => signUpOver(relay.url, `sender${i}`)),
    );
    const recipients = await Promise.all(
      Array.from({ length: RECIPIENTS }, (_, i) => signUpOver(relay.url, `recipient${i}`)),
    );

    const acked = senders.map(() => new Set<number>());
    let totalAcked = 0;
    const unexpectedErrors: Frame[] = [];
    let kills = 0;
    let finished = false;

    const sendAll = async (s: number) => {
      const token = senders[s]!.token;
      const to = `recipient${s % RECIPIENTS}`;
      while (acked[s]!.size < PER_SENDER && Date.now() < deadline) {
        let handler: (frame: Frame) => void = () => {};
        const peer = await connect(relay, availability, token, (frame) => handler(frame));
        if (peer === null) continue;
        let next = 0;
        const inflight = new Set<number>();
        const pump = () => {
          while (inflight.size < WINDOW && next < PER_SENDER) {
            if (!acked[s]!.has(next)) {
              peer.send({ type: "send", id: `m${next}`, to, envelope: b64(testEnvelope(`${s}:${next}`)) });
              inflight.add(next);
            }
            next++;
          }
        };
        const allDone = new Promise<void>((resolve) => {
          handler = (frame) => {
            if (frame.type === "sent") {
              const seq = Number(String(frame.id).slice(1));
              inflight.delete(seq);
              if (!acked[s]!.has(seq)) {
                acked[s]!.add(seq);
                totalAcked++;
              }
              if (acked[s]!.size === PER_SENDER) resolve();
              pump();
            } else if (frame.type === "error") {
              unexpectedErrors.push(frame);
            }
          };
        });
        pump();
        await Promise.race([allDone, peer.closed]);
        peer.socket.terminate();
      }
    };

    const seen = recipients.map(() => new Set<string>());
    const confirmed = recipients.map(() => new Set<string>());
    const lastSeq = new Map<number, number>();
    let duplicatesAfterAck = 0;
    let redeliveries = 0;
    const orderViolations: string[] = [];

    const trace = new Map<string, string[]>();
    let connectionCounter = 0;
    const receiveAll = async (r: number) => {
      const token = recipients[r]!.token;
      while (!finished && Date.now() < deadline) {
        const connection = connectionCounter++;
        const pendingIds: number[] = [];
        const pendingKeys: string[] = [];
        const refs = new Map<string, string[]>();
        let refCounter = 0;
        let current: Peer | null = null;
        const flush = () => {
          if (pendingIds.length === 0 || current === null) return;
          const ref = `r${refCounter++}`;
          refs.set(ref, pendingKeys.splice(0));
          current.send({ type: "ack", ids: pendingIds.splice(0), ref });
        };
        const peer = await connect(relay, availability, token, (frame) => {
          if (frame.type === "message") {
            const key = decode(frame.envelope);
            trace.set(key, [...(trace.get(key) ?? []), `c${connection}#${frame.id}`]);
            const [s, q] = key.split(":").map(Number) as [number, number];
            if (confirmed[r]!.has(key)) duplicatesAfterAck++;
            else if (seen[r]!.has(key)) redeliveries++;
            else {
              const expected = (lastSeq.get(s) ?? -1) + 1;
              if (q !== expected) {
                const near = [q - 2, q - 1, q, q + 1].map(
                  (n) => `${s}:${n}=${(trace.get(`${s}:${n}`) ?? []).join(",")}`,
                );
                orderViolations.push(`${key} expected ${s}:${expected} [${near.join(" ")}]`);
              }
              lastSeq.set(s, q);
              seen[r]!.add(key);
            }
            pendingIds.push(Number(frame.id));
            pendingKeys.push(key);
            if (pendingIds.length >= 100) flush();
          } else if (frame.type === "acked") {
            for (const key of refs.get(String(frame.ref)) ?? []) confirmed[r]!.add(key);
            refs.delete(String(frame.ref));
          }
        });
        if (peer === null) continue;
        current = peer;
        const timer = setInterval(flush, 20);
        await Promise.race([
          peer.closed,
          new Promise<void>((resolve) => {
            const check = setInterval(() => {
              if (finished) {
                clearInterval(check);
                resolve();
              }
            }, 50);
          }),
        ]);
        clearInterval(timer);
        peer.socket.terminate();
      }
    };

    const killer = async () => {
      for (const fraction of KILL_AT) {
        while (totalAcked < fraction * TOTAL && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)));
        availability.down();
        relay.kill("SIGKILL");
        await relay.exited();
        assert.equal(relay.exitSignal, "SIGKILL");
        kills++;
        await relay.start();
        availability.up();
      }
    };

    const receivers = recipients.map((_, r) => receiveAll(r));
    await Promise.all([...senders.map((_, s) => sendAll(s)), killer()]);
    // Wait until every message was received and every mailbox is empty (all acknowledgements
    // committed; an ack whose answer was lost in a crash is committed but never confirmed).
    const drained = async () => {
      if (seen.reduce((sum, set) => sum + set.size, 0) < TOTAL) return false;
      await availability.wait();
      for (const recipient of recipients) {
        const left = await http(relay.url, "GET", "/v1/messages", undefined, recipient.token).catch(
          () => null,
        );
        if (left === null || (left.json.messages as unknown[]).length > 0) return false;
      }
      return true;
    };
    while (!(await drained()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    finished = true;
    await Promise.all(receivers);

    // The store's own view: each sender's server ids must grow with its sequence numbers.
    const db = new DatabaseSync(join(dir, "relay.sqlite"), { readOnly: true });
    const storeOrder: string[] = [];
    for (let s = 0; s < SENDERS; s++) {
      const rows = db
        .prepare("SELECT client_message_id AS id, server_id FROM sent_messages WHERE sender = ?")
        .all(`sender${s}`)
        .map((row) => [Number(String(row.id).slice(1)), Number(row.server_id)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < rows.length; i++) {
        if (rows[i]![1] <= rows[i - 1]![1])
          storeOrder.push(
            `sender${s} m${rows[i]![0]}=${rows[i]![1]} after m${rows[i - 1]![0]}=${rows[i - 1]![1]}`,
          );
      }
    }
    db.close();
    const summary = {
      errors: unexpectedErrors.length,
      storeOrder: storeOrder.slice(0, 6),
      totalAcked,
      seen: seen.map((x) => x.size),
      confirmed: confirmed.map((x) => x.size),
      kills,
      duplicatesAfterAck,
      redeliveries,
      orderViolations: orderViolations.slice(0, 10),
      acked: acked.map((x) => x.size),
    };
    process.stdout.write(`# ${JSON.stringify(summary)}\n`);
    try {
      assert.deepEqual(
        unexpectedErrors.slice(0, 5),
        [],
        "a send was refused (SIGKILL leaves no time to drain)",
      );
      assert.equal(kills, KILL_AT.length, "every planned SIGKILL happened");
      assert.equal(totalAcked, TOTAL, "every message was eventually acknowledged to its sender");
      assert.equal(
        seen.reduce((sum, set) => sum + set.size, 0),
        TOTAL,
        "no acknowledged message was lost",
      );
      assert.equal(
        duplicatesAfterAck,
        0,
        "a message was delivered again after its acknowledgement was confirmed",
      );
      assert.deepEqual(orderViolations.slice(0, 5), [], "per-sender order was broken");
      assert.deepEqual(storeOrder.slice(0, 5), [], "the store holds a sender's messages out of order");
      for (const recipient of recipients) {
        const left = await http(relay.url, "GET", "/v1/messages", undefined, recipient.token);
        assert.deepEqual(left.json.messages, [], "acknowledged messages were deleted");
      }
      process.stdout.write(
        `# crash test: ${TOTAL} messages, ${kills} SIGKILLs, lost ${TOTAL - seen.reduce((sum, set) => sum + set.size, 0)}, duplicates after confirmed ack ${duplicatesAfterAck}, ${redeliveries} redeliveries of unconfirmed acks\n`,
      );
    } finally {
      await relay.stop();
    }
  });
});
