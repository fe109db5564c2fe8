// `npm run bench -- abuse [--quick] [--seconds N] [--attacks a,b] [--no-verify-modes]`: issue 12's
// attacks, one after another, against a real relay process with its default limits, while a victim pair
// exchanges messages. Per attack: the victim's send -> delivery p50/p99, /healthz p50/p99 and the
// relay's peak resident memory, beside the same figures with no attack in the same run, and the goals
// (victim p99 within 2x of no attack, /healthz p99 under 100 ms, RSS under limits.memory_budget_bytes)
// as measured / goal / met. Then the signature checks of uploads with the upload limit lifted, once on
// the worker pool and once inline in slices (limits.verify_workers = 1 and 0). See docs/performance.md.
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg, setPriority } from "node:os";
import { join } from "node:path";
import { type RelayConfig, relayConfigSchema } from "../src/relay/config/schema.ts";
import { tempDir } from "../test/relay/fixtures/harness.ts";
import { http, RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import { ATTACKS, type AttackCounters, type AttackTarget, fillerEnvelope } from "./_abuse-attacks.ts";
import { Measurements, percentile, type Window } from "./_abuse-measure.ts";

const ATTACKER_ENTRY = new URL("./_abuse-attacker.ts", import.meta.url).pathname;
const ATTACKER_ADDRESS = "127.0.0.2";
const VICTIM_RATE = 10;
const MiB = 1024 * 1024;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * The relay as shipped (schema defaults: every abuse bound at its default), on loopback without TLS,
 * with two changes for the setup only: claims per hour (the bench creates a dozen accounts from one
 * address) and what `overrides` set.
 */
function relayConfig(dir: string, overrides: Record<string, Record<string, unknown>> = {}): RelayConfig {
  return relayConfigSchema.parse({
    environment: "testing",
    server: { api_port: 0, websocket_port: 0, tls: { enabled: false } },
    security: { minimum_crypto_mode: "classical", require_post_quantum: false },
    storage: { path: join(dir, "relay.sqlite"), blob_dir: join(dir, "blobs") },
    monitoring: { log_level: "warn" },
    ...overrides,
    limits: { ...overrides.limits, rate: { claims_per_hour: 1000, ...(overrides.limits?.rate as object) } },
  });
}

interface Row {
  readonly phase: string;
  readonly finding: string;
  readonly victimSent: number;
  readonly victimDelivered: number;
  readonly victimP50: number;
  readonly victimP99: number;
  readonly healthP50: number;
  readonly healthP99: number;
  readonly healthFailures: number;
  readonly rssMaxMiB: number;
  readonly attacker: AttackCounters | null;
}

function summarize(phase: string, finding: string, window: Window, attacker: AttackCounters | null): Row {
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    phase,
    finding,
    victimSent: window.victimSent,
    victimDelivered: window.victimLatencies.length,
    victimP50: round(percentile(window.victimLatencies, 50)),
    victimP99: round(percentile(window.victimLatencies, 99)),
    healthP50: round(percentile(window.healthLatencies, 50)),
    healthP99: round(percentile(window.healthLatencies, 99)),
    healthFailures: window.healthFailures,
    rssMaxMiB: round(window.rssMax / MiB),
    attacker,
  };
}

/** Starts the attack in its own low-priority process; `stop()` ends it and returns its counters. */
function launch(name: string, target: AttackTarget): { stop(): Promise<AttackCounters> } {
  const child: ChildProcess = fork(ATTACKER_ENTRY, [name], { stdio: "inherit" });
  child.send({ type: "start", target });
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, 19);
    } catch {
      // Not permitted here: the attacker then competes at normal priority (noted in the output).
    }
  }
  // An attacker killed before it reported (starved at the lowest priority) counts as -1.
  const done = new Promise<AttackCounters>((resolve) => {
    child.on("message", (message: { type?: string; counters?: AttackCounters }) => {
      if (message.type === "done" && message.counters !== undefined) resolve(message.counters);
    });
    child.on("exit", () => resolve({ sent: -1, refused: -1, errors: -1 }));
  });
  return {
    async stop() {
      child.send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Setup {
  readonly relay: RelayProcess;
  readonly measurements: Measurements;
  readonly target: AttackTarget;
  readonly config: RelayConfig;
}

/** A relay with the victim pair talking and the attacker's accounts made (uploads prepared). */
async function setUp(label: string, overrides: Record<string, Record<string, unknown>> = {}): Promise<Setup> {
  const dir = tempDir(`bench-abuse-${label}`);
  const config = relayConfig(dir, overrides);
  const relay = new RelayProcess(config, dir);
  await relay.start();
  const alice = await signUpOver(relay.url, "alice");
  const bob = await signUpOver(relay.url, "bob");
  // Bob has prekeys to drain.
  await http(
    relay.url,
    "PUT",
    "/v1/prekeys",
    { bundle: b64(await bob.user.bundle()), one_time_prekeys: (await bob.user.oneTimePrekeys(100)).map(b64) },
    bob.token,
  );
  const tokens: Record<string, string> = {};
  const uploads: Record<string, string> = {};
  for (const name of ["hoarder", "drainer", "prober"])
    tokens[name] = (await signUpOver(relay.url, name)).token;
  for (let i = 0; i < 4; i++) {
    const uploader = await signUpOver(relay.url, `uploader${i}`);
    tokens[uploader.user.username] = uploader.token;
    // The same real keys every time: each upload is verified in full again.
    uploads[uploader.user.username] = JSON.stringify({
      bundle: b64(await uploader.user.bundle()),
      one_time_prekeys: (await uploader.user.oneTimePrekeys(config.limits.max_prekeys_per_upload)).map(b64),
    });
  }
  const measurements = new Measurements();
  await measurements.start({
    wsUrl: relay.wsUrl,
    apiUrl: relay.url,
    pid: relay.ports!.pid,
    alice: alice.token,
    bob: bob.token,
    messagesPerSecond: VICTIM_RATE,
  });
  const target: AttackTarget = {
    url: relay.url,
    wsUrl: relay.wsUrl,
    apiPort: relay.ports!.api_port,
    localAddress: ATTACKER_ADDRESS,
    tokens,
    uploads,
    victim: "bob",
  };
  return { relay, measurements, target, config };
}

/** The hoarder sends to itself until its mailbox is full or `bytes` are stored (setup, not timed). */
async function fillMailbox(setup: Setup, bytes: number): Promise<number> {
  const envelope = fillerEnvelope();
  let stored = 0;
  let n = 0;
  let full = false;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (!full && stored * envelope.length * 0.75 < bytes) {
        const answer = await http(
          setup.relay.url,
          "POST",
          "/v1/messages",
          { to: "hoarder", client_message_id: `fill${n++}`, envelope },
          setup.target.tokens.hoarder,
        );
        if (answer.status === 201) stored++;
        else if (answer.status === 429) await pause(1000);
        else full = true;
      }
    }),
  );
  return stored;
}

async function phase(setup: Setup, name: string, seconds: number): Promise<Row> {
  const attack = ATTACKS[name];
  const attacker = attack === undefined ? null : launch(name, setup.target);
  // Let the attack ramp up before measuring.
  await pause(attacker === null ? 200 : 1000);
  const window = setup.measurements.open();
  await pause(seconds * 1000);
  await setup.measurements.close(window);
  const counters = attacker === null ? null : await attacker.stop();
  // Let the relay settle (timeouts, closes) before the next phase.
  await pause(1500);
  return summarize(name, attack?.finding ?? "no attack", window, counters);
}

interface Goal {
  readonly phase: string;
  readonly what: string;
  readonly measured: number;
  readonly goal: number;
  readonly met: boolean;
}

function goalsFor(rows: readonly Row[], reference: number, budgetMiB: number): Goal[] {
  const goals: Goal[] = [];
  for (const row of rows) {
    if (row.attacker === null) continue;
    goals.push(
      {
        phase: row.phase,
        what: "victim p99 ms",
        measured: row.victimP99,
        goal: Math.round(2 * reference * 10) / 10,
        met: row.victimP99 <= 2 * reference && row.victimDelivered === row.victimSent,
      },
      {
        phase: row.phase,
        what: "/healthz p99 ms",
        measured: row.healthP99,
        goal: 100,
        met: row.healthP99 < 100,
      },
      {
        phase: row.phase,
        what: "RSS MiB",
        measured: row.rssMaxMiB,
        goal: budgetMiB,
        met: row.rssMaxMiB < budgetMiB,
      },
    );
  }
  return goals;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function rowCells(row: Row): string[] {
  const attacker = row.attacker;
  return [
    row.phase,
    `${row.victimDelivered}/${row.victimSent}`,
    String(row.victimP50),
    String(row.victimP99),
    String(row.healthP50),
    String(row.healthP99),
    String(row.healthFailures),
    String(row.rssMaxMiB),
    attacker === null ? "" : `${attacker.sent} sent, ${attacker.refused} refused, ${attacker.errors} errors`,
  ];
}

const HEADER = [
  "phase",
  "victim delivered",
  "victim p50 ms",
  "victim p99 ms",
  "healthz p50 ms",
  "healthz p99 ms",
  "healthz failed",
  "RSS max MiB",
  "attacker",
];

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const secondsAt = args.indexOf("--seconds");
  const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : quick ? 4 : 10;
  const attacksAt = args.indexOf("--attacks");
  const names = attacksAt >= 0 ? (args[attacksAt + 1] ?? "").split(",") : Object.keys(ATTACKS);
  const unknown = names.filter((name) => ATTACKS[name] === undefined);
  if (!(seconds >= 1 && seconds <= 600) || unknown.length > 0) {
    process.stderr.write(
      `bench abuse: --seconds takes 1-600; --attacks takes a comma list of ${Object.keys(ATTACKS).join(", ")}\n`,
    );
    process.exitCode = 64;
    return;
  }
  const started = new Date();
  const load = loadavg()[0] ?? 0;
  process.stdout.write(`abuse: ${seconds} s per phase, load ${load.toFixed(2)} at the start\n`);

  // 1. Each attack against the relay with its default limits.
  const main = await setUp("main");
  const killAll: (() => void)[] = [() => main.relay.kill("SIGKILL")];
  process.on("exit", () => {
    for (const kill of killAll) kill();
  });
  const rows: Row[] = [];
  try {
    if (names.includes("unread-sockets")) {
      const stored = await fillMailbox(main, 48 * MiB);
      process.stdout.write(`setup: the hoarder's mailbox holds ${stored} self-sent envelopes\n`);
    }
    rows.push(await phase(main, "none", seconds));
    for (const name of names) {
      process.stdout.write(`attack ${name}...\n`);
      rows.push(await phase(main, name, seconds));
    }
    rows.push({ ...(await phase(main, "none", seconds)), phase: "none (again)" });
  } finally {
    await main.measurements.stop();
    await main.relay.stop();
  }
  const quiet = rows.filter((row) => row.attacker === null);
  const reference = quiet.reduce((sum, row) => sum + row.victimP99, 0) / quiet.length;
  const budgetMiB = main.config.limits.memory_budget_bytes / MiB;
  const goals = goalsFor(rows, reference, budgetMiB);

  // 2. Signature checks of uploads with the upload limit lifted: worker pool against inline slices.
  const modes: Row[] = [];
  if (!args.includes("--no-verify-modes")) {
    for (const workers of [1, 0]) {
      const label = workers === 0 ? "inline slices" : "worker pool";
      const setup = await setUp(`verify-${workers}`, {
        limits: { verify_workers: workers, rate: { prekey_uploads_per_hour: 1_000_000 } },
      });
      killAll.push(() => setup.relay.kill("SIGKILL"));
      try {
        process.stdout.write(`uploads, ${label}...\n`);
        modes.push({ ...(await phase(setup, "none", seconds)), phase: `${label}: none` });
        modes.push({
          ...(await phase(setup, "prekey-uploads", seconds)),
          phase: `${label}: uploads unlimited`,
        });
      } finally {
        await setup.measurements.stop();
        await setup.relay.stop();
      }
    }
  }

  process.stdout.write(`\n${table(HEADER, rows.map(rowCells))}\n`);
  process.stdout.write(
    `\ngoals (victim p99 against the mean of the no-attack runs, ${reference.toFixed(1)} ms; every message delivered):\n`,
  );
  process.stdout.write(
    `${table(
      ["phase", "measure", "measured", "goal", "met"],
      goals.map((goal) => [
        goal.phase,
        goal.what,
        String(goal.measured),
        String(goal.goal),
        goal.met ? "yes" : "NO",
      ]),
    )}\n`,
  );
  if (modes.length > 0) {
    process.stdout.write(`\nsignature checks with uploads unlimited (4 accounts, 100 keys each):\n`);
    process.stdout.write(`${table(HEADER, modes.map(rowCells))}\n`);
  }
  const resultsDir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  const body = `${JSON.stringify(
    {
      benchmark: "abuse",
      date: started.toISOString(),
      loadAverage1m: load,
      seconds,
      node: process.version,
      rows,
      goals,
      referenceVictimP99: reference,
      modes,
    },
    null,
    2,
  )}\n`;
  const file = join(resultsDir, `abuse-${started.toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, body);
  writeFileSync(join(resultsDir, "abuse-latest.json"), body);
  process.stdout.write(`wrote ${file}\n`);
}
