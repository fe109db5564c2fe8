// `npm run bench -- e2e [--quick] [--pairs N] [--window W] [--modes a,b] [--profile DIR] [--chart FILE]`: the whole
// path of a message through real processes, in the shape of the product's published tables
// (docs/performance.md). A real relay process (SQLite in a temp folder), N sender clients in one child
// process and N receiver clients in another (real NanoClient homes: keystore, sealed store, sessions).
// Per message: encrypt, commit, send, durable store at the relay, push over the WebSocket, decrypt,
// commit, acknowledge; 1 MiB messages travel as attachments (upload, envelope, download, verify,
// decrypt). Per mode and size: the maximum rate (closed loop), then an open-loop load at half of it;
// then 1 KiB latency with 1, 20 and 100 ms of added round-trip time through a delaying proxy that the
// benchmark starts and removes itself. Progress goes to stderr; the tables to stdout; JSON and an SVG
// chart under bench/results/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SUITE_IDS, type SuiteName } from "../src/crypto/index.ts";
import { nodeProvider } from "../src/crypto/node-provider.ts";
import { testConfig } from "../test/relay/fixtures/harness.ts";
import { RelayProcess } from "../test/relay/fixtures/processes.ts";
import { bareEndpoint, runLoad, startBaseline } from "./_bare-relay.ts";
import {
  checkGoals,
  type GoalCheck,
  goalsTable,
  measureAttachmentCrypto,
  measureLatencyFloor,
  median,
  storedGoals,
  type Yardsticks,
} from "./_e2e-goals.ts";
import { type DelayProxy, startDelayProxy } from "./_e2e-proxy.ts";
import {
  checkTargets,
  detailTable,
  headlineTable,
  type PhaseResult,
  renderSvg,
  rttTable,
  summarize,
  targetsTable,
  thin,
} from "./_e2e-report.ts";
import { now } from "./_e2e-worker.ts";
import { processCpuSeconds, Worker } from "./_e2e-workers.ts";
import { machineInfo, printMachine } from "./_harness.ts";
import { type OneWayCost, oneWayCost } from "./_protocol-steady.ts";
import { runBareAttachments } from "./_relay-attachments.ts";

export interface E2eOptions {
  readonly quick: boolean;
  readonly pairs: number;
  /** Sends in flight per sender in the closed-loop (maximum) phases. */
  readonly window: number;
  readonly modes: readonly SuiteName[];
  readonly sizes: readonly { readonly label: string; readonly bytes: number }[];
  readonly rtts: readonly number[];
  /** Length of each load phase. */
  readonly phaseMs: number;
  /** Write CPU profiles of the relay and worker processes here (--cpu-prof). */
  readonly profileDir: string | null;
  /** No progress lines on stderr (--quiet; the smoke test). */
  readonly quiet: boolean;
}

const KiB = 1024;
const MiB = 1024 * 1024;
/** A phase's messages must all arrive within this long after the senders stop, or the run fails. */
const DRAIN_TIMEOUT_MS = 60_000;
const ALL_MODES: readonly SuiteName[] = ["classical", "hybrid", "quantum"];

/** Set from E2eOptions.quiet for the length of a run. */
let showProgress = true;

function progress(text: string): void {
  if (!showProgress) return;
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

export function parseOptions(args: readonly string[]): E2eOptions {
  const value = (flag: string) => {
    const index = args.indexOf(flag);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const quick = args.includes("--quick");
  const pairs = Number(value("--pairs") ?? (quick ? 2 : 4));
  if (!(Number.isInteger(pairs) && pairs >= 1 && pairs <= 32))
    throw new RangeError("--pairs: a whole number 1-32");
  const window = Number(value("--window") ?? 16);
  if (!(Number.isInteger(window) && window >= 1 && window <= 64))
    throw new RangeError("--window: a whole number 1-64");
  const modes = (value("--modes")?.split(",") ?? ALL_MODES) as SuiteName[];
  for (const mode of modes)
    if (!ALL_MODES.includes(mode)) throw new RangeError(`--modes: unknown mode ${mode}`);
  const phaseMs = Number(value("--phase-ms") ?? (quick ? 2000 : 10_000));
  if (!(phaseMs >= 200 && phaseMs <= 120_000)) throw new RangeError("--phase-ms: 200-120000");
  const sizes = (value("--sizes") ?? "1k,1m").split(",").map((size) => {
    if (size === "1k") return { label: "1 KiB", bytes: KiB };
    if (size === "1m") return { label: "1 MiB", bytes: MiB };
    throw new RangeError(`--sizes: 1k and/or 1m, not ${size}`);
  });
  const rtts = (value("--rtts") ?? "1,20,100").split(",").filter(Boolean).map(Number);
  for (const rtt of rtts) if (!(rtt > 0 && rtt <= 1000)) throw new RangeError("--rtts: 1-1000 ms each");
  return {
    quick,
    pairs,
    window,
    modes,
    sizes,
    rtts,
    phaseMs,
    profileDir: value("--profile") ?? null,
    quiet: args.includes("--quiet"),
  };
}

interface Phase {
  readonly mode: SuiteName;
  readonly sizeLabel: string;
  readonly bytes: number;
  readonly load: string;
  readonly addedRttMs: number;
  /** Messages per second over all senders; null = closed loop. */
  readonly offered: number | null;
}

interface Rig {
  readonly relay: RelayProcess;
  readonly senders: Worker;
  readonly receivers: Worker;
  readonly pairs: number;
  readonly window: number;
  readonly phaseMs: number;
}

async function runPhase(rig: Rig, phase: Phase): Promise<PhaseResult> {
  const { senders, receivers, relay } = rig;
  // Reset the receivers' counters and tell them the size to verify.
  await receivers.ask({ type: "collect", expectBytes: phase.bytes }, "collected", 10_000);
  const relayBefore = processCpuSeconds(relay.child?.pid);
  const started = now();
  const loaded = await senders.ask(
    {
      type: "load",
      peers: Array.from({ length: rig.pairs }, (_, i) => `${phase.mode}-r${i}`),
      bytes: phase.bytes,
      durationMs: rig.phaseMs,
      ratePerSender: phase.offered === null ? null : phase.offered / rig.pairs,
      // The same bound open and closed: concurrent sends on one client each flush the whole outbox, so
      // more in flight multiplies the requests (docs/performance.md "Outbox amplification").
      window: rig.window,
    },
    "loaded",
    rig.phaseMs + 120_000,
  );
  let delivered = 0;
  let bytes = 0;
  let wrong = 0;
  let lastAt = started;
  let receiverCpu = 0;
  const latencies: number[] = [];
  const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (true) {
    const got = await receivers.ask({ type: "collect", expectBytes: phase.bytes }, "collected", 10_000);
    delivered += got.delivered;
    bytes += got.bytes;
    wrong += got.wrong;
    receiverCpu += got.cpuSeconds;
    if (got.lastAt !== null) lastAt = got.lastAt;
    for (const latency of got.latenciesMs) latencies.push(latency);
    if (delivered + wrong >= loaded.sent || Date.now() > drainDeadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const relayAfter = processCpuSeconds(relay.child?.pid);
  const seconds = Math.max(1e-3, (lastAt - started) / 1000);
  const failures = [...loaded.failures];
  if (wrong > 0) failures.push(`${wrong} deliveries were not the message sent (size or stamp)`);
  if (delivered + wrong < loaded.sent)
    failures.push(`${loaded.sent - delivered} messages not delivered in time`);
  const perMessage = (cpuSeconds: number) => (delivered === 0 ? Number.NaN : (cpuSeconds * 1000) / delivered);
  return {
    mode: phase.mode,
    sizeLabel: phase.sizeLabel,
    bytes: phase.bytes,
    load: phase.load,
    addedRttMs: phase.addedRttMs,
    sent: loaded.sent,
    delivered,
    seconds,
    messagesPerSecond: delivered / seconds,
    megabytesPerSecond: bytes / seconds / 1e6,
    offeredPerSecond: phase.offered,
    relayCpuPerMessageMs:
      relayBefore === null || relayAfter === null ? null : perMessage(relayAfter - relayBefore),
    clientCpuPerMessageMs: perMessage(loaded.cpuSeconds + receiverCpu),
    senderCpuPerMessageMs: perMessage(loaded.cpuSeconds),
    receiverCpuPerMessageMs: perMessage(receiverCpu),
    latency: summarize(latencies),
    cdf: thin(latencies),
    failures,
    requestsPerMessage: null,
  };
}

function formatRequests(perMessage: Readonly<Record<string, number>>): string {
  const entries = Object.entries(perMessage).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return `${total.toFixed(2)} (${entries.map(([route, n]) => `${route} ${n.toFixed(2)}`).join(", ")})`;
}

function describe(result: PhaseResult): string {
  const l = result.latency;
  return (
    `${result.mode} ${result.sizeLabel} ${result.load}: ${result.delivered}/${result.sent} msgs, ` +
    `${result.messagesPerSecond.toFixed(1)} msg/s, p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} ms` +
    (result.failures.length > 0 ? `; PROBLEMS: ${result.failures.join("; ")}` : "")
  );
}

async function runMode(
  mode: SuiteName,
  options: E2eOptions,
  relay: RelayProcess,
  proxy: DelayProxy,
  dir: string,
  floorSamples: number[],
): Promise<PhaseResult[]> {
  const senders = new Worker(`${mode}-senders`, options.profileDir);
  const receivers = new Worker(`${mode}-receivers`, options.profileDir);
  const rig: Rig = {
    relay,
    senders,
    receivers,
    pairs: options.pairs,
    window: options.window,
    phaseMs: options.phaseMs,
  };
  const results: PhaseResult[] = [];
  try {
    progress(`${mode}: creating ${options.pairs} receiver and ${options.pairs} sender clients`);
    const names = (side: string) => Array.from({ length: options.pairs }, (_, i) => `${mode}-${side}${i}`);
    await receivers.ask(
      { type: "setup", dir: join(dir, mode), mode, names: names("r"), relay: relay.url },
      "ready",
      120_000,
    );
    await senders.ask(
      { type: "setup", dir: join(dir, mode), mode, names: names("s"), relay: relay.url },
      "ready",
      120_000,
    );
    await receivers.ask({ type: "listen" }, "listening", 10_000);
    // Senders are online too, as an SDK client is: they take in the receivers' delivery receipts,
    // which end each session's first-contact phase (docs/client.md "Delivery receipts").
    await senders.ask({ type: "listen" }, "listening", 10_000);
    // Warm-up: opens every session (prekey messages) and warms the JIT on both sides; not reported.
    const warmup = await runPhase(
      { ...rig, phaseMs: 500 },
      { mode, sizeLabel: "1 KiB", bytes: KiB, load: "warm-up", addedRttMs: 0, offered: null },
    );
    progress(`warm-up: ${describe(warmup)}`);
    for (const size of options.sizes) {
      const max = await runPhase(rig, {
        mode,
        sizeLabel: size.label,
        bytes: size.bytes,
        load: "max",
        addedRttMs: 0,
        offered: null,
      });
      progress(describe(max));
      results.push(max);
      const offered = Math.max(1, max.messagesPerSecond / 2);
      // The latency floor right before and after the phase whose latency it judges: a durable commit's
      // fsync moves with what the disk is doing (after a 1 MiB phase, writing back megabytes).
      const measureFloor = size.bytes === KiB && mode === "hybrid";
      if (measureFloor) floorSamples.push(...measureLatencyFloor(effort(options).floorSamples));
      const half = await runPhase(rig, {
        mode,
        sizeLabel: size.label,
        bytes: size.bytes,
        load: "half",
        addedRttMs: 0,
        offered,
      });
      progress(describe(half));
      results.push(half);
      if (measureFloor) floorSamples.push(...measureLatencyFloor(effort(options).floorSamples));
    }
    if (options.rtts.length > 0) {
      const kibMax =
        results.find((r) => r.sizeLabel === "1 KiB" && r.load === "max")?.messagesPerSecond ?? 100;
      for (const rtt of options.rtts) {
        proxy.rttMs = rtt;
        const proxyUrl = `http://127.0.0.1:${proxy.port}`;
        await senders.ask({ type: "reopen", relay: proxyUrl }, "ready", 60_000);
        await receivers.ask({ type: "reopen", relay: proxyUrl }, "ready", 60_000);
        const requestsBefore = new Map(proxy.requests);
        // Half the loopback maximum, but no faster than one message per sender per few round trips:
        // a send takes round trips of its own, so a higher rate would measure the senders' queue.
        const offered = Math.max(1, Math.min(kibMax / 2, (options.pairs * 1000) / (4 * rtt + 5)));
        const result = await runPhase(rig, {
          mode,
          sizeLabel: "1 KiB",
          bytes: KiB,
          load: `rtt ${rtt} ms`,
          addedRttMs: rtt,
          offered,
        });
        const requestsPerMessage: Record<string, number> = {};
        for (const [route, count] of proxy.requests) {
          const during = count - (requestsBefore.get(route) ?? 0);
          if (during > 0 && result.delivered > 0) requestsPerMessage[route] = during / result.delivered;
        }
        progress(`${describe(result)}; HTTP requests per message: ${formatRequests(requestsPerMessage)}`);
        results.push({ ...result, requestsPerMessage });
      }
      proxy.rttMs = 0;
    }
  } finally {
    await Promise.all([senders.stop(), receivers.stop()]);
  }
  return results;
}

/** How much each yardstick measures: smaller for short phases (the smoke test), as the phases are. */
function effort(options: E2eOptions) {
  const small = options.phaseMs < 1000;
  return {
    protocolRounds: small ? 1 : options.quick ? 3 : 5,
    protocolMessages: small ? 30 : options.quick ? 200 : 500,
    bareKibPerSender: small ? 100 : options.quick ? 500 : 2500,
    bareMibPerSender: small ? options.window : options.quick ? 2 * options.window : 4 * options.window,
    floorSamples: small ? 5 : options.quick ? 20 : 40,
    cryptoSamples: small ? 3 : 15,
  };
}

/**
 * The bare relay baseline with the phases' pairs, window and 1 KiB bucket (ws + the relay's SQLite group
 * commit, bench/_baseline-server.ts), in `dir`; msg/s.
 */
async function bareKib(options: E2eOptions, dir: string, tag: string): Promise<number> {
  const baseline = await startBaseline(dir);
  const kill = () => baseline.child.kill("SIGKILL");
  process.once("exit", kill);
  try {
    const names = Array.from({ length: options.pairs }, (_, i) => [`bare${tag}s${i}`, `bare${tag}r${i}`]);
    const result = await runLoad(
      "baseline",
      bareEndpoint(baseline.port),
      {
        name: "1 KiB bucket",
        contentBytes: KiB,
        pairs: options.pairs,
        perSender: effort(options).bareKibPerSender,
        window: options.window,
      },
      names,
    );
    return result.messagesPerSecond;
  } finally {
    process.off("exit", kill);
    // Killed outright: its database is thrown away, and nothing may keep this process waiting on it.
    baseline.child.kill("SIGKILL");
  }
}

/** The bare attachment baseline (PUT + fsync, GET + verify) with the phases' pairs, window and large size. */
async function bareMib(options: E2eOptions, dir: string, bytes: number): Promise<number> {
  const row = await runBareAttachments(dir, {
    pairs: options.pairs,
    perSender: effort(options).bareMibPerSender,
    plaintextBytes: bytes,
    window: options.window,
  });
  return row.transfersPerSecond;
}

function stamp(): string {
  return new Date()
    .toISOString()
    .replaceAll(":", "-")
    .replace(/\.\d+Z$/, "Z");
}

export async function runE2e(
  options: E2eOptions,
): Promise<{ results: PhaseResult[]; goals: GoalCheck[]; json: string; svg: string }> {
  showProgress = !options.quiet;
  const dir = mkdtempSync(join(tmpdir(), "nano-bench-e2e-"));
  const work = effort(options);
  // The yardsticks run before the relay starts and again after the phases (the mean or the pooled
  // median), on the same machine, so drift of a shared machine lands on both sides of each ratio.
  progress("yardsticks: the protocol's one-way cost per mode, attachment crypto, bare baselines");
  const protocol: OneWayCost[] = [];
  for (const mode of options.modes)
    protocol.push(
      await oneWayCost(nodeProvider.suite(SUITE_IDS[mode]), work.protocolRounds, work.protocolMessages),
    );
  const large = options.sizes.find((size) => size.bytes > 32 * KiB);
  const attachmentCryptoMs =
    large === undefined ? null : await measureAttachmentCrypto(large.bytes, work.cryptoSamples);
  const floorSamples: number[] = [];
  const bareKibRuns = [await bareKib(options, dir, "a")];
  const bareMibRuns = large === undefined ? [] : [await bareMib(options, dir, large.bytes)];
  if (options.profileDir !== null) {
    mkdirSync(options.profileDir, { recursive: true });
    process.env.NANO_RELAY_PROFILE_DIR = options.profileDir;
  }
  const relayDir = join(dir, "relay");
  mkdirSync(relayDir);
  const relay = new RelayProcess(
    testConfig(
      {
        monitoring: { log_level: "warn" },
        // The testing environment with classical allowed, so all three modes can be measured.
        security: { minimum_crypto_mode: "classical", require_post_quantum: false },
        limits: {
          mailbox_max_messages: 1_000_000,
          mailbox_max_bytes: 64 * 1024 * MiB,
          attachment_quota_bytes: 64 * 1024 * MiB,
        },
      },
      relayDir,
    ),
    relayDir,
  );
  const killRelay = () => relay.kill("SIGKILL");
  process.once("exit", killRelay);
  progress(`starting the relay process (SQLite in ${relayDir})`);
  await relay.start();
  const proxy = await startDelayProxy(relay.ports!.api_port, 0);
  const results: PhaseResult[] = [];
  try {
    for (const mode of options.modes) {
      results.push(...(await runMode(mode, options, relay, proxy, dir, floorSamples)));
    }
    progress("yardsticks again: bare baselines");
    bareKibRuns.push(await bareKib(options, dir, "b"));
    if (large !== undefined) bareMibRuns.push(await bareMib(options, dir, large.bytes));
  } finally {
    await proxy.close();
    await relay.stop();
    process.off("exit", killRelay);
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (values: readonly number[]) =>
    values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
  const yardsticks: Yardsticks = {
    bareKibPerSecond: mean(bareKibRuns),
    bareMibPerSecond: mean(bareMibRuns),
    protocol,
    attachmentCryptoMs,
    latencyFloorMs: floorSamples.length === 0 ? null : median(floorSamples),
  };
  const goals = [
    ...checkGoals(results, yardsticks),
    ...storedGoals(new URL("./results/", import.meta.url).pathname),
  ];
  const machine = machineInfo();
  const json = `${JSON.stringify(
    {
      benchmark: "e2e",
      date: new Date().toISOString(),
      machine,
      options: { ...options, profileDir: options.profileDir !== null },
      yardsticks: { ...yardsticks, bareKibRuns, bareMibRuns, latencyFloorSamples: floorSamples },
      goals,
      targets: checkTargets(results),
      results,
    },
    null,
    2,
  )}\n`;
  const title = `nano e2e, ${machine.cores} cores (${machine.cpuModel}), ${options.pairs} pairs, ${options.quick ? "--quick" : "full"} run`;
  return { results, goals, json, svg: renderSvg(results, title) };
}

export async function run(args: string[]): Promise<void> {
  let options: E2eOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    process.stderr.write(`bench e2e: ${(error as Error).message}\n`);
    process.exitCode = 64;
    return;
  }
  const begun = Date.now();
  const { results, goals, json, svg } = await runE2e(options);
  printMachine(machineInfo());
  process.stdout.write(
    `\nPublished-table shape (measured on this machine vs the product's published figures):\n`,
  );
  process.stdout.write(`${headlineTable(results)}\n\n`);
  process.stdout.write(
    `All phases (CPU per delivered message; latency = send call -> decrypted delivery):\n`,
  );
  process.stdout.write(`${detailTable(results)}\n\n`);
  if (options.rtts.length > 0)
    process.stdout.write(`Latency with added round-trip time (delaying proxy):\n${rttTable(results)}\n\n`);
  for (const r of results.filter((x) => x.requestsPerMessage !== null)) {
    process.stdout.write(
      `HTTP requests per message, ${r.mode} ${r.load}: ${formatRequests(r.requestsPerMessage!)}\n`,
    );
  }
  process.stdout.write(
    `Issue 17's goals (ratios within this run; 3, 6, 7 from the newest runs of their own benches):\n${goalsTable(goals)}\n\n`,
  );
  process.stdout.write(`Earlier targets (docs/performance.md):\n${targetsTable(checkTargets(results))}\n\n`);
  const problems = results.filter((r) => r.failures.length > 0);
  for (const r of problems)
    process.stdout.write(`PROBLEM ${r.mode} ${r.sizeLabel} ${r.load}: ${r.failures.join("; ")}\n`);
  const directory = new URL("./results/", import.meta.url).pathname;
  mkdirSync(directory, { recursive: true });
  const name = `e2e-${stamp()}`;
  writeFileSync(join(directory, `${name}.json`), json);
  writeFileSync(join(directory, "e2e-latest.json"), json);
  writeFileSync(join(directory, `${name}.svg`), svg);
  writeFileSync(join(directory, "e2e-latest.svg"), svg);
  const chartIndex = args.indexOf("--chart");
  if (chartIndex >= 0 && args[chartIndex + 1] !== undefined) writeFileSync(args[chartIndex + 1]!, svg);
  process.stdout.write(
    `wrote ${join(directory, `${name}.json`)} and .svg (${((Date.now() - begun) / 1000).toFixed(0)} s)\n`,
  );
  if (problems.length > 0) process.exitCode = 1;
}
