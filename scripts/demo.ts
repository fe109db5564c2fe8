// `npm run demo`: a relay on SQLite in a temporary directory, two clients per mode talking through it
// with the SDK (the same NanoClient the CLI uses), a refused downgrade, and a summary of what crossed
// the wire. Everything is on loopback and removed at the end.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { NanoClient } from "../src/client/nano-client.ts";
import type { IncomingMessage } from "../src/client/operations/receive.ts";
import type { SuiteName } from "../src/crypto/index.ts";
import { NanoError } from "../src/errors/index.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PASSPHRASE = "demo passphrase, never use it";
const MODES: readonly SuiteName[] = ["hybrid", "quantum", "classical"];

async function startRelay(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const config = join(dir, "relay.toml");
  const portFile = join(dir, "ports.json");
  await writeFile(
    config,
    `environment = "testing"
[server]
bind_address = "127.0.0.1"
api_port = 0
websocket_port = 0
[server.tls]
enabled = false
[security]
minimum_crypto_mode = "classical"
require_post_quantum = false
[storage]
backend = "sqlite"
path = "${join(dir, "relay.sqlite")}"
blob_dir = "${join(dir, "blobs")}"
[monitoring]
log_level = "silent"
`,
  );
  const child = spawn(
    process.execPath,
    [join(ROOT, "bin/nano-relay.js"), "start", "--config", config, "--port-file", portFile],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 400; i++) {
    if (existsSync(portFile)) {
      const { api_url: url } = JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string };
      return { url, child };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  throw new Error("the relay did not start within 10 s");
}

async function newClient(dir: string, name: string, mode: SuiteName, relay: string): Promise<NanoClient> {
  const home = join(dir, name);
  await NanoClient.init({ home, mode, passphrase: PASSPHRASE, relay });
  const client = await NanoClient.open({ home, passphrase: PASSPHRASE });
  await client.claimUsername(name);
  return client;
}

async function receiveOne(client: NanoClient): Promise<IncomingMessage[]> {
  const messages: IncomingMessage[] = [];
  await client.receive({ watch: false, saveDir: null, onMessage: (m) => void messages.push(m) });
  return messages;
}

interface Row {
  mode: string;
  direction: string;
  suite: string;
  bytes: number;
  ms: number;
}

async function converse(dir: string, relay: string, mode: SuiteName, rows: Row[]): Promise<string> {
  const a = await newClient(dir, `alice-${mode}`, mode, relay);
  const b = await newClient(dir, `bob-${mode}`, mode, relay);
  try {
    for (const [from, to, toName, text] of [
      [a, b, `bob-${mode}`, `hello in ${mode}`],
      [b, a, `alice-${mode}`, "got it, replying"],
      [a, b, `bob-${mode}`, "second message on the session"],
    ] as const) {
      const started = performance.now();
      const sent = await from.send({ recipient: toName, text, file: null, cryptoMode: mode });
      const [received] = await receiveOne(to);
      const ms = performance.now() - started;
      if (received?.text !== text) throw new Error(`${mode}: message lost`);
      rows.push({
        mode,
        direction: `${received.sender} -> ${toName}${sent.newSession ? " (first contact)" : ""}`,
        suite: received.suite,
        bytes: sent.envelopeBytes,
        ms,
      });
    }
    const number = (await a.verify(`bob-${mode}`, false)).safetyNumber;
    const other = (await b.verify(`alice-${mode}`, false)).safetyNumber;
    if (number !== other) throw new Error("safety numbers differ");
    if (mode === "hybrid") {
      try {
        await a.send({ recipient: `bob-${mode}`, text: "downgrade?", file: null, cryptoMode: "classical" });
        throw new Error("a downgrade to classical was not refused");
      } catch (error) {
        if (!NanoError.is(error)) throw error;
        console.log(`refused downgrade: send --crypto-mode classical -> ${error.code}: ${error.message}`);
      }
    }
    return number;
  } finally {
    await a.close();
    await b.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), "nano-demo-"));
let relay: { url: string; child: ChildProcess } | null = null;
try {
  relay = await startRelay(dir);
  console.log(`relay: ${relay.url} (SQLite in ${dir})\n`);
  const rows: Row[] = [];
  const numbers: [string, string][] = [];
  for (const mode of MODES) numbers.push([mode, await converse(dir, relay.url, mode, rows)]);
  console.log(
    `\n${"mode".padEnd(10)} ${"direction".padEnd(50)} ${"suite".padEnd(10)} envelope  send+receive`,
  );
  for (const row of rows) {
    console.log(
      `${row.mode.padEnd(10)} ${row.direction.padEnd(50)} ${row.suite.padEnd(10)} ${String(row.bytes).padStart(6)} B  ${row.ms.toFixed(0).padStart(6)} ms`,
    );
  }
  console.log("\nsafety numbers (identical on both sides):");
  for (const [mode, number] of numbers) console.log(`  ${mode.padEnd(10)} ${number}`);
} finally {
  relay?.child.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
}
