/**
 * Continuous traffic through a cluster while something breaks, and the ledger that proves what
 * happened to it (docs/cluster.md "What is proven"). Senders pipeline sends over WebSockets and resend
 * everything not yet acknowledged after each reconnect (same client message ids); recipients
 * acknowledge what they receive. Every client (re)connects to a relay chosen round-robin among those
 * up, so after a kill its traffic moves to another relay.
 *
 * The verdict: every message acknowledged to its sender was delivered; none whose acknowledgement was
 * confirmed was delivered again; each sender's messages arrived in order without gaps; the database
 * holds each sender's messages in sequence order; and every mailbox ends empty.
 */
import pg from "pg";
import { envelopeMarker, testEnvelope } from "../relay/fixtures/identities.ts";
import { type Frame, http, Peer, type RelayProcess, signUpOver } from "../relay/fixtures/processes.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const decode = (envelope: unknown) => envelopeMarker(new Uint8Array(Buffer.from(String(envelope), "base64")));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TrafficOptions {
  readonly relays: readonly RelayProcess[];
  /** Which relays are up; the fault injector marks them. */
  readonly up: Set<number>;
  readonly databaseUrl: string;
  readonly senders: number;
  readonly recipients: number;
  readonly perSender: number;
  readonly deadlineMs: number;
  /** Runs beside the traffic; `progress()` is the fraction of sends acknowledged so far. */
  readonly faults: (progress: () => number) => Promise<void>;
  readonly window?: number;
}

export interface TrafficReport {
  readonly total: number;
  readonly acknowledged: number;
  readonly delivered: number;
  readonly duplicatesAfterAck: number;
  readonly redeliveries: number;
  readonly orderViolations: string[];
  readonly storeOrder: string[];
  readonly errors: Frame[];
  readonly leftInMailboxes: number;
  readonly reconnects: number;
}

export async function runTraffic(options: TrafficOptions): Promise<TrafficReport> {
  const { relays, up } = options;
  const total = options.senders * options.perSender;
  const window = options.window ?? 32;
  const deadline = Date.now() + options.deadlineMs;
  let turn = 0;
  const pick = async (): Promise<RelayProcess> => {
    for (;;) {
      const live = [...up].sort();
      if (live.length > 0) return relays[live[turn++ % live.length]!]!;
      await sleep(20);
    }
  };
  const anyUp = async () => (await pick()).url;

  const senders: { token: string }[] = [];
  for (let i = 0; i < options.senders; i++) senders.push(await signUpOver(await anyUp(), `sender${i}`));
  const recipients: { token: string }[] = [];
  for (let i = 0; i < options.recipients; i++)
    recipients.push(await signUpOver(await anyUp(), `recipient${i}`));

  let reconnects = 0;
  const connect = async (token: string, onFrame: (frame: Frame) => void): Promise<Peer | null> => {
    const relay = await pick();
    if (relay.ports === null) return null;
    const peer = new Peer(relay.wsUrl, token);
    peer.onFrame = onFrame;
    const ready = peer.waitFor((f) => f.type === "ready", 5000).then(() => true);
    const closed = peer.closed.then(() => false);
    reconnects++;
    if (await Promise.race([ready, closed]).catch(() => false)) return peer;
    peer.socket.terminate();
    await sleep(50);
    return null;
  };

  const acked = senders.map(() => new Set<number>());
  let totalAcked = 0;
  const errors: Frame[] = [];
  let finished = false;

  const sendAll = async (s: number) => {
    const token = senders[s]!.token;
    const to = `recipient${s % options.recipients}`;
    while (acked[s]!.size < options.perSender && Date.now() < deadline) {
      let handler: (frame: Frame) => void = () => {};
      const peer = await connect(token, (frame) => handler(frame));
      if (peer === null) continue;
      let next = 0;
      const inflight = new Set<number>();
      const pump = () => {
        while (inflight.size < window && next < options.perSender) {
          if (!acked[s]!.has(next)) {
            peer.send({ type: "send", id: `m${next}`, to, envelope: b64(testEnvelope(`${s}:${next}`)) });
            inflight.add(next);
          }
          next++;
        }
      };
      let failed: () => void = () => {};
      const errored = new Promise<void>((resolve) => {
        failed = resolve;
      });
      const allDone = new Promise<void>((resolve) => {
        handler = (frame) => {
          if (frame.type === "sent") {
            const seq = Number(String(frame.id).slice(1));
            inflight.delete(seq);
            if (!acked[s]!.has(seq)) {
              acked[s]!.add(seq);
              totalAcked++;
            }
            if (acked[s]!.size === options.perSender) resolve();
            pump();
          } else if (frame.type === "error") {
            // A store failure answered to the sender is allowed (never an ack without a row); the
            // message is resent on the next connection. Anything else is a bug.
            if (frame.code !== "store_unavailable" && frame.code !== "relay_draining") errors.push(frame);
            inflight.delete(Number(String(frame.id).slice(1)));
            failed();
          }
        };
      });
      pump();
      // A connection that got a store error stops here and reconnects: resending in order.
      await Promise.race([allDone, peer.closed, errored]);
      peer.socket.terminate();
    }
  };

  const seen = recipients.map(() => new Set<string>());
  const confirmed = recipients.map(() => new Set<string>());
  const lastSeq = new Map<number, number>();
  let duplicatesAfterAck = 0;
  let redeliveries = 0;
  const orderViolations: string[] = [];

  const receiveAll = async (r: number) => {
    const token = recipients[r]!.token;
    while (!finished && Date.now() < deadline) {
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
      const peer = await connect(token, (frame) => {
        if (frame.type === "message") {
          const key = decode(frame.envelope);
          const [s, q] = key.split(":").map(Number) as [number, number];
          if (confirmed[r]!.has(key)) duplicatesAfterAck++;
          else if (seen[r]!.has(key)) redeliveries++;
          else {
            const expected = (lastSeq.get(s) ?? -1) + 1;
            if (q !== expected) orderViolations.push(`${key} expected ${s}:${expected}`);
            lastSeq.set(s, q);
            seen[r]!.add(key);
          }
          pendingIds.push(Number(frame.id));
          pendingKeys.push(key);
          if (pendingIds.length >= 50) flush();
        } else if (frame.type === "acked") {
          for (const key of refs.get(String(frame.ref)) ?? []) confirmed[r]!.add(key);
          refs.delete(String(frame.ref));
        } else if (frame.type === "error") {
          // An ack the relay could not commit (its database connection was cut): as a client would,
          // reconnect; the unacknowledged messages come again and are acknowledged then.
          current?.socket.terminate();
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

  const receivers = recipients.map((_, r) => receiveAll(r));
  await Promise.all([...senders.map((_, s) => sendAll(s)), options.faults(() => totalAcked / total)]);

  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 1 });
  const leftOver = async () =>
    Number(
      (
        await pool.query(
          "SELECT coalesce(sum(messages), 0)::int AS n FROM mailboxes WHERE recipient LIKE 'recipient%'",
        )
      ).rows[0].n,
    );
  try {
    while (Date.now() < deadline) {
      if (seen.reduce((sum, set) => sum + set.size, 0) >= total && (await leftOver()) === 0) break;
      await sleep(50);
    }
    finished = true;
    await Promise.all(receivers);

    // The database's view: each sender's sequence numbers grow with its client message ids.
    const storeOrder: string[] = [];
    for (let s = 0; s < options.senders; s++) {
      const rows = (
        await pool.query("SELECT client_message_id AS id, server_id FROM sent_messages WHERE sender = $1", [
          `sender${s}`,
        ])
      ).rows
        .map((row) => [Number(String(row.id).slice(1)), Number(row.server_id)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < rows.length; i++)
        if (rows[i]![1] <= rows[i - 1]![1])
          storeOrder.push(
            `sender${s} m${rows[i]![0]}=${rows[i]![1]} after m${rows[i - 1]![0]}=${rows[i - 1]![1]}`,
          );
    }
    const leftInMailboxes = await leftOver();
    for (const recipient of recipients) {
      const left = await http(await anyUp(), "GET", "/v1/messages", undefined, recipient.token);
      if ((left.json.messages as unknown[] | undefined)?.length !== 0)
        throw new Error("a mailbox is not empty");
    }
    return {
      total,
      acknowledged: totalAcked,
      delivered: seen.reduce((sum, set) => sum + set.size, 0),
      duplicatesAfterAck,
      redeliveries,
      orderViolations,
      storeOrder,
      errors,
      leftInMailboxes,
      reconnects,
    };
  } finally {
    finished = true;
    await pool.end();
  }
}
