// `npm run bench -- cli [--quick] [--runs N]`: how long `nano-client` takes as a whole process (spawn
// to exit, what a user waits for): `--help`, `status` and `send` on a warm session (a home whose
// session with the peer exists and whose compile cache is filled), beside `node -e 0` and the argon2id
// unlock of the same keystore alone, medians of several runs taken in turn so a burst of load lands on
// all of them (issue 17, goal 7: --help ≤ 3x node -e 0; send ≤ unlock + 6x node -e 0).
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openKeystore } from "../src/client/keystore/keystore.ts";
import { PASSPHRASE, Relay, User, withTempDir } from "../test/e2e/_harness.ts";
import { machineInfo, printMachine } from "./_harness.ts";

const CLIENT_BIN = new URL("../bin/nano-client.js", import.meta.url).pathname;
const GOAL_HELP = 3;
const GOAL_SEND_NODES = 6;

interface Case {
  readonly name: string;
  readonly run: () => Promise<number>;
}

export interface CliRow {
  readonly name: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly ratioToNode: number;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round1 = (value: number) => Math.round(value * 10) / 10;

/** Spawn to exit of one process; a failure stops the run with its output (a broken command is not fast). */
function timeProcess(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, NANO_PASSPHRASE: PASSPHRASE, ...extraEnv };
  delete env.NANO_CLIENT_HOME;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`${args.join(" ")} exited ${code}:\n${output}`));
    });
  });
}

/** Runs every case `runs` times in turn (A1 B1 C1 A2 ...) after one unreported warm-up round. */
async function measureCases(cases: readonly Case[], runs: number): Promise<Map<string, number[]>> {
  for (const item of cases) await item.run();
  const times = new Map(cases.map((item) => [item.name, [] as number[]]));
  for (let round = 0; round < runs; round++)
    for (const item of cases) times.get(item.name)!.push(await item.run());
  return times;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const runsIndex = args.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : quick ? 3 : 9;
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 100)) {
    process.stderr.write("bench cli: --runs needs a whole number, 1-100\n");
    process.exitCode = 64;
    return;
  }
  const machine = machineInfo();
  printMachine(machine);
  await withTempDir(async (dir) => {
    const relay = new Relay(dir);
    await relay.start();
    try {
      // The default keystore work factor (no --kdf-*): the unlock a real user pays on every command.
      const alice = new User(dir, "alice");
      const bob = new User(dir, "bob");
      for (const user of [alice, bob]) {
        await user.json(["--relay", relay.url, "init", "--crypto-mode", "hybrid"]);
        await user.json(["claim-username", user.name]);
      }
      // A warm session both ways: the timed sends are not first contacts.
      await alice.send("bob", "hello");
      await bob.receive();
      await bob.send("alice", "hello back");
      await alice.receive();
      const keystore = readFileSync(join(alice.home, "keystore"));
      let sent = 0;
      const cases: Case[] = [
        { name: "node -e 0", run: () => timeProcess(["-e", "0"]) },
        { name: "nano-client --help", run: () => timeProcess([CLIENT_BIN, "--help"]) },
        {
          // What bin/_compile-cache.js saves: the same command compiling and type-stripping every module.
          name: "nano-client --help, no compile cache",
          run: () => timeProcess([CLIENT_BIN, "--help"], { NODE_DISABLE_COMPILE_CACHE: "1" }),
        },
        { name: "nano-client status", run: () => timeProcess([CLIENT_BIN, "--home", alice.home, "status"]) },
        {
          name: "nano-client send (warm session)",
          run: () => timeProcess([CLIENT_BIN, "--home", alice.home, "send", "bob", `timed ${sent++}`]),
        },
        {
          name: "argon2id unlock alone (in process)",
          run: async () => {
            const started = performance.now();
            await openKeystore(keystore, PASSPHRASE);
            return performance.now() - started;
          },
        },
      ];
      const times = await measureCases(cases, runs);
      const nodeMs = median(times.get("node -e 0")!);
      const rows: CliRow[] = cases.map(({ name }) => {
        const values = times.get(name)!;
        return {
          name,
          runs: values.length,
          medianMs: round1(median(values)),
          minMs: round1(Math.min(...values)),
          maxMs: round1(Math.max(...values)),
          ratioToNode: Math.round((median(values) / nodeMs) * 100) / 100,
        };
      });
      const byName = (name: string) => rows.find((row) => row.name === name)!;
      const help = byName("nano-client --help");
      const send = byName("nano-client send (warm session)");
      const unlock = byName("argon2id unlock alone (in process)");
      const sendBudget = round1(unlock.medianMs + GOAL_SEND_NODES * nodeMs);
      const goals = [
        {
          goal: "--help / node -e 0",
          measured: `${help.ratioToNode}x`,
          target: `≤ ${GOAL_HELP}x`,
          met: help.ratioToNode <= GOAL_HELP,
        },
        {
          goal: "send",
          measured: `${send.medianMs} ms`,
          target: `≤ unlock + ${GOAL_SEND_NODES}x node -e 0 = ${sendBudget} ms`,
          met: send.medianMs <= sendBudget,
        },
      ];
      const header = ["command", "runs", "median ms", "min ms", "max ms", "x node -e 0"];
      const table = [
        header,
        ...rows.map((row) => [
          row.name,
          String(row.runs),
          String(row.medianMs),
          String(row.minMs),
          String(row.maxMs),
          `${row.ratioToNode}x`,
        ]),
      ];
      const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
      for (const row of table)
        process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")}\n`);
      for (const goal of goals)
        process.stdout.write(
          `goal: ${goal.goal}: ${goal.measured} / ${goal.target} / ${goal.met ? "met" : "NOT met"}\n`,
        );
      process.stdout.write(
        "whole processes (spawn to exit) on Node " +
          `${process.versions.node}; hybrid homes with the default argon2id work factor, a relay on loopback; ` +
          "status and send unlock the keystore, send also logs in and commits on the relay.\n",
      );
      const resultsDir = new URL("./results/", import.meta.url).pathname;
      mkdirSync(resultsDir, { recursive: true });
      const file = join(resultsDir, `cli-${new Date().toISOString().replaceAll(":", "-")}.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ benchmark: "cli", date: new Date().toISOString(), machine, quick, runs, rows, goals }, null, 2)}\n`,
      );
      process.stdout.write(`wrote ${file}\n`);
    } finally {
      await relay.stop();
    }
  });
}
