// Issue 17's goals, evaluated on one `npm run bench -- e2e` run: every goal a ratio of two things
// measured in the same run (the bare relay baseline, the protocol's own one-way cost, the crypto of a
// 1 MiB attachment, the latency floor of three durable commits), printed as measured / goal / met and
// written into the run's JSON. Goals 3, 6 and 7 have benchmarks of their own (relay, connections,
// cli); their newest results under bench/results/ are read back and shown with their date.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { decryptAttachment, encryptAttachment } from "../src/client/attachments/attachment.ts";
import { randomBytes, type SuiteName } from "../src/crypto/index.ts";
import type { PhaseResult } from "./_e2e-report.ts";
import { renderTable } from "./_e2e-report.ts";
import type { OneWayCost } from "./_protocol-steady.ts";

/** What the run measured besides its phases, for the goals' denominators. */
export interface Yardsticks {
  /** Bare relay baseline (ws + the relay's SQLite group commit), same pairs, window and 1 KiB bucket. */
  readonly bareKibPerSecond: number | null;
  /** Bare attachment baseline (PUT + fsync, GET), same pairs, window and 1 MiB. */
  readonly bareMibPerSecond: number | null;
  /** Per mode: the protocol's own one-way cost (bench/_protocol-steady.ts). */
  readonly protocol: readonly OneWayCost[];
  /** CPU ms to verify and decrypt one 1 MiB attachment (ChaCha20-Poly1305 chunks, BLAKE2b-512). */
  readonly attachmentCryptoMs: number | null;
  /**
   * Median wall ms of three durable commits one after another (sender, relay, receiver), sampled right
   * before and after the hybrid 1 KiB half-load phase; null when that phase was not run.
   */
  readonly latencyFloorMs: number | null;
}

export interface GoalCheck {
  /** Issue 17's goal number. */
  readonly number: number;
  readonly goal: string;
  readonly measured: string;
  readonly target: string;
  /** null: the phases it needs were not run. */
  readonly met: boolean | null;
  /** Where it comes from when not this run: "relay bench 2026-12-07T22:03Z". */
  readonly source?: string;
}

export const GOALS = Object.freeze({
  endToEndVsBare: 0.35,
  hybridVsClassical: 0.85,
  clientVsProtocol: 2.5,
  protocolOtherShare: 0.4,
  mibVsBare: 0.6,
  mibReceiverVsCrypto: 3,
  p50VsFloor: 2,
  p99VsFloor: 4,
});

const ratio = (value: number) => `${value.toFixed(2)}x`;
const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));

/** One durable commit of a ~1 KiB row: WAL and synchronous=FULL, as the relay and the local store commit. */
function openDurable(path: string): { commit(): void; close(): void } {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  db.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)");
  const insert = db.prepare("INSERT INTO rows (body) VALUES (?)");
  const body = randomBytes(1100);
  return {
    commit: () => {
      db.exec("BEGIN IMMEDIATE");
      insert.run(body);
      db.exec("COMMIT");
    },
    close: () => db.close(),
  };
}

/**
 * The latency floor of a message on this disk: three durable commits one after another (sender's
 * outbox, relay's mailbox, receiver's store), each in its own database. Wall-clock samples; the
 * median, because a single commit's fsync moves with everything else the disk does.
 */
export function measureLatencyFloor(samples: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), "nano-bench-floor-"));
  const databases = ["sender", "relay", "receiver"].map((name) => openDurable(join(dir, `${name}.sqlite`)));
  try {
    for (const db of databases) db.commit();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      for (const db of databases) db.commit();
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    for (const db of databases) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU ms to verify and decrypt one attachment of `bytes` (the minimum of `samples`: the work, not the queue). */
export async function measureAttachmentCrypto(bytes: number, samples: number): Promise<number> {
  const { ciphertext, reference } = await encryptAttachment(randomBytes(bytes), {
    contentType: "text/plain;charset=utf-8",
  });
  await decryptAttachment(ciphertext, reference, { maxBytes: bytes });
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < samples; i++) {
    const started = process.cpuUsage();
    await decryptAttachment(ciphertext, reference, { maxBytes: bytes });
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Goals 1, 2, 4 and 5 from this run's phases and yardsticks. */
export function checkGoals(results: readonly PhaseResult[], yard: Yardsticks): GoalCheck[] {
  const find = (mode: SuiteName, size: string, load: string) =>
    results.find((r) => r.mode === mode && r.sizeLabel === size && r.load === load);
  const checks: GoalCheck[] = [];
  const modes = [...new Set(results.map((r) => r.mode))];
  for (const mode of modes) {
    const max = find(mode, "1 KiB", "max");
    const bare = yard.bareKibPerSecond;
    const value = max === undefined || bare === null ? null : max.messagesPerSecond / bare;
    checks.push({
      number: 1,
      goal: `${mode} 1 KiB msg/s / bare relay`,
      measured:
        value === null ? "-" : `${ratio(value)} (${max!.messagesPerSecond.toFixed(0)} / ${bare!.toFixed(0)})`,
      target: `≥ ${GOALS.endToEndVsBare}x`,
      met: value === null ? null : value >= GOALS.endToEndVsBare,
    });
  }
  const hybrid = find("hybrid", "1 KiB", "max");
  const classical = find("classical", "1 KiB", "max");
  const share = hybrid && classical ? hybrid.messagesPerSecond / classical.messagesPerSecond : null;
  checks.push({
    number: 1,
    goal: "hybrid 1 KiB msg/s / classical",
    measured: share === null ? "-" : `${(share * 100).toFixed(0)}%`,
    target: `≥ ${GOALS.hybridVsClassical * 100}%`,
    met: share === null ? null : share >= GOALS.hybridVsClassical,
  });
  for (const mode of modes) {
    const max = find(mode, "1 KiB", "max");
    const protocol = yard.protocol.find((p) => p.suite === mode);
    const value =
      max === undefined || protocol === undefined
        ? null
        : (max.clientCpuPerMessageMs * 1000) / protocol.cpuMicrosPerMessage;
    checks.push({
      number: 2,
      goal: `${mode} 1 KiB client CPU (s + r) / protocol one-way CPU`,
      measured:
        value === null
          ? "-"
          : `${ratio(value)} (${ms(max!.clientCpuPerMessageMs)} / ${ms(protocol!.cpuMicrosPerMessage / 1000)} ms)`,
      target: `≤ ${GOALS.clientVsProtocol}x`,
      met: value === null ? null : value <= GOALS.clientVsProtocol,
    });
  }
  for (const protocol of yard.protocol)
    checks.push({
      number: 2,
      goal: `${protocol.suite} protocol's "async stores, copies, GC" share of one-way`,
      measured: `${(protocol.otherShare * 100).toFixed(0)}% (${protocol.cpuMicrosPerMessage.toFixed(0)} µs, components ${protocol.componentMicros.toFixed(0)} µs)`,
      target: `< ${GOALS.protocolOtherShare * 100}%`,
      met: protocol.otherShare < GOALS.protocolOtherShare,
    });
  for (const mode of modes) {
    const max = find(mode, "1 MiB", "max");
    if (max === undefined) continue;
    const bare = yard.bareMibPerSecond;
    const value = bare === null ? null : max.messagesPerSecond / bare;
    checks.push({
      number: 4,
      goal: `${mode} 1 MiB msg/s / bare attachment baseline`,
      measured:
        value === null ? "-" : `${ratio(value)} (${max.messagesPerSecond.toFixed(1)} / ${bare!.toFixed(1)})`,
      target: `≥ ${GOALS.mibVsBare}x`,
      met: value === null ? null : value >= GOALS.mibVsBare,
    });
    const crypto = yard.attachmentCryptoMs;
    const cpu = crypto === null ? null : max.receiverCpuPerMessageMs / crypto;
    checks.push({
      number: 4,
      goal: `${mode} 1 MiB receiver CPU / its attachment crypto`,
      measured: cpu === null ? "-" : `${ratio(cpu)} (${ms(max.receiverCpuPerMessageMs)} / ${ms(crypto!)} ms)`,
      target: `≤ ${GOALS.mibReceiverVsCrypto}x`,
      met: cpu === null ? null : cpu <= GOALS.mibReceiverVsCrypto,
    });
  }
  const half = find("hybrid", "1 KiB", "half");
  const floor = yard.latencyFloorMs;
  for (const [label, pick, limit] of [
    ["p50", (r: PhaseResult) => r.latency.p50, GOALS.p50VsFloor],
    ["p99", (r: PhaseResult) => r.latency.p99, GOALS.p99VsFloor],
  ] as const) {
    const value = half === undefined || floor === null ? null : pick(half) / floor;
    checks.push({
      number: 5,
      goal: `hybrid 1 KiB half-load ${label} / floor (3 durable commits)`,
      measured: value === null ? "-" : `${ratio(value)} (${ms(pick(half!))} / ${ms(floor!)} ms)`,
      target: `≤ ${limit}x`,
      met: value === null ? null : value <= limit,
    });
  }
  return checks;
}

interface StoredGoal {
  readonly goal: string;
  readonly measured: string;
  readonly target: string;
  readonly met: boolean;
}

/**
 * The goals of the newest `<bench>-*.json` under `directory` (relay: 3, connections: 6, cli: 7), or a
 * "not run" row when there is none; a file that does not parse is reported, not trusted.
 */
export function storedGoals(directory: string): GoalCheck[] {
  const benches = [
    { bench: "relay", number: 3 },
    { bench: "connections", number: 6 },
    { bench: "cli", number: 7 },
  ];
  let files: string[] = [];
  try {
    files = readdirSync(directory);
  } catch {
    files = [];
  }
  return benches.flatMap(({ bench, number }) => {
    // ISO timestamps in the names sort in time order.
    const newest = files
      .filter((file) => file.startsWith(`${bench}-2`) && file.endsWith(".json"))
      .sort()
      .at(-1);
    const notRun: GoalCheck = {
      number,
      goal: `${bench} bench goals`,
      measured: "-",
      target: "-",
      met: null,
      source: `no run found (npm run bench -- ${bench})`,
    };
    if (newest === undefined) return [notRun];
    try {
      const stored = JSON.parse(readFileSync(join(directory, newest), "utf8")) as {
        goals?: StoredGoal[];
        quick?: boolean;
      };
      if (!Array.isArray(stored.goals) || stored.goals.length === 0) return [notRun];
      const source = `${newest.replace(/\.json$/, "")}${stored.quick ? " (--quick)" : ""}`;
      return stored.goals.map((goal) => ({ number, ...goal, source }));
    } catch {
      return [{ ...notRun, measured: "does not parse", source: newest }];
    }
  });
}

export function goalsTable(checks: readonly GoalCheck[]): string {
  const sorted = [...checks].sort((a, b) => a.number - b.number);
  return renderTable(
    ["issue 17 goal", "measured", "goal", "met", "from"],
    sorted.map((c) => [
      `${c.number}. ${c.goal}`,
      c.measured,
      c.target,
      c.met === null ? "not run" : c.met ? "met" : "NOT met",
      c.source ?? "this run",
    ]),
  );
}
