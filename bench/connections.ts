// `npm run bench -- connections [--quick] [--sockets N]`: N idle authenticated WebSockets (default
// 10,000; --quick 1,000) on one real relay process over loopback: the relay's memory per idle socket
// (RSS and heap after a full GC, after - before, / N), the time to connect them all, and push latency
// p50/p99 to random probe sockets under a light load with all of them open, beside the same with only
// the probes open before and after, in the same run (issue 17, goal 6). Measurement: bench/_connections.ts.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, testConfig } from "../test/relay/fixtures/harness.ts";
import { RelayProcess } from "../test/relay/fixtures/processes.ts";
import { type ConnectionsResult, type ConnectionsScenario, runConnections } from "./_connections.ts";
import { machineInfo, printMachine } from "./_harness.ts";

/** The schema's ceiling on limits.websocket.max_connections_per_account: the idle sockets share accounts. */
const SOCKETS_PER_ACCOUNT = 1000;
/** Descriptors besides the sockets: the database and its journals, blobs, stdio, the event loop. */
const SPARE_DESCRIPTORS = 512;
const KIB = 1024;
/** Issue 17, goal 6. */
const GOAL_BYTES_PER_SOCKET = 40 * 1000;
const GOAL_P99_RATIO = 2;

/**
 * Each socket is a descriptor in the relay and one in this process (the relay is forked from it and
 * inherits its limit). Node cannot raise its own limit, so it is checked here and the fix named.
 */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((row) => row.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
}

export function scenarioFor(quick: boolean, sockets: number | undefined): ConnectionsScenario {
  return {
    sockets: sockets ?? (quick ? 1000 : 10_000),
    probes: 10,
    pushes: quick ? 200 : 600,
    // Light: a fraction of what the relay commits per second on this machine even when it is loaded.
    pushesPerSecond: 50,
    connectConcurrency: 64,
    socketsPerAccount: SOCKETS_PER_ACCOUNT,
  };
}

/** The relay config of the bench: the testing config with the connection bounds raised above N. */
export function connectionsRelayConfig(scenario: ConnectionsScenario, dir: string) {
  const room = scenario.sockets + scenario.probes + 64;
  return testConfig(
    {
      server: { max_connections: room, max_connections_per_address: room },
      limits: {
        websocket: {
          max_connections_per_account: scenario.socketsPerAccount,
          max_unauthenticated_per_address: room,
        },
        // The 1 GiB default refuses new sockets above it; the bench measures memory rather than bounding it.
        memory_budget_bytes: 8 * 1024 * 1024 * 1024,
      },
    },
    dir,
  );
}

function goals(result: ConnectionsResult) {
  const fewP99 = (result.runs[0].p99ms + result.runs[2].p99ms) / 2;
  const p99Ratio = Math.round((result.runs[1].p99ms / fewP99) * 100) / 100;
  return [
    {
      goal: "relay RSS per idle socket",
      measured: `${(result.rssPerSocketBytes / KIB).toFixed(1)} KiB`,
      target: `≤ ${GOAL_BYTES_PER_SOCKET / 1000} KB`,
      met: result.rssPerSocketBytes <= GOAL_BYTES_PER_SOCKET,
    },
    {
      goal: "p99 push latency, all sockets / few sockets",
      measured: `${p99Ratio}x`,
      target: `≤ ${GOAL_P99_RATIO}x`,
      met: p99Ratio <= GOAL_P99_RATIO,
    },
  ];
}

export function formatConnections(result: ConnectionsResult): string {
  const lines: string[] = [];
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  lines.push(
    `${result.idleSockets} idle sockets on ${result.idleAccounts} accounts: connected in ` +
      `${result.connectSeconds} s (${result.connectsPerSecond}/s)`,
    `relay RSS ${mib(result.rssBeforeBytes)} -> ${mib(result.rssAfterBytes)}: ` +
      `${(result.rssPerSocketBytes / KIB).toFixed(1)} KiB per idle socket; heap ` +
      `${mib(result.heapBeforeBytes)} -> ${mib(result.heapAfterBytes)}: ` +
      `${(result.heapPerSocketBytes / KIB).toFixed(1)} KiB per idle socket (after a full GC)`,
    "",
  );
  const header = ["latency run", "open sockets", "pushes", "p50 ms", "p99 ms"];
  const rows = result.runs.map((run) => [
    run.label,
    String(run.openSockets),
    String(run.pushes),
    String(run.p50ms),
    String(run.p99ms),
  ]);
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) lines.push(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
  lines.push("");
  for (const goal of goals(result))
    lines.push(`goal: ${goal.goal}: ${goal.measured} / ${goal.target} / ${goal.met ? "met" : "NOT met"}`);
  return `${lines.join("\n")}\n`;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const socketsIndex = args.indexOf("--sockets");
  const sockets = socketsIndex >= 0 ? Number(args[socketsIndex + 1]) : undefined;
  if (sockets !== undefined && !(Number.isInteger(sockets) && sockets >= 1 && sockets <= 100_000)) {
    process.stderr.write("bench connections: --sockets needs a whole number of sockets, 1-100000\n");
    process.exitCode = 64;
    return;
  }
  const scenario = scenarioFor(quick, sockets);
  const limit = openFileLimit();
  if (limit < scenario.sockets + SPARE_DESCRIPTORS) {
    process.stderr.write(
      `bench connections: the open-file limit is ${limit}, below the ${scenario.sockets + SPARE_DESCRIPTORS} ` +
        "descriptors this needs (each socket is one in the relay and one here); raise it first " +
        `(\`ulimit -n ${scenario.sockets + 4 * SPARE_DESCRIPTORS}\`) or pass a smaller --sockets\n`,
    );
    process.exitCode = 64;
    return;
  }
  const machine = machineInfo();
  printMachine(machine);
  const dir = tempDir("bench-connections");
  const relay = new RelayProcess(connectionsRelayConfig(scenario, dir), dir);
  await relay.start();
  process.on("exit", () => relay.kill("SIGKILL"));
  let result: ConnectionsResult;
  try {
    result = await runConnections(relay, scenario);
  } finally {
    await relay.stop();
  }
  process.stdout.write(formatConnections(result));
  process.stdout.write(
    `loopback, one relay process (testing config, connection bounds raised to ${scenario.sockets} + ` +
      `${scenario.probes + 64}, ${scenario.socketsPerAccount} sockets per idle account, memory budget ` +
      `lifted); pushes: ${scenario.pushes} per run at ${scenario.pushesPerSecond}/s to ${scenario.probes} ` +
      "probe accounts of one socket each, durable commit included; open-file limit " +
      `${limit}.\n`,
  );
  const resultsDir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  const body = { benchmark: "connections", date: new Date().toISOString(), machine, quick, scenario, result };
  const file = join(resultsDir, `connections-${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ ...body, goals: goals(result) }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}
