import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT, withRelay, withTempDir } from "./_harness.ts";

/**
 * README's quick start and operator section, run as written (issue 14: "work literally on a fresh
 * clone"). The code blocks are read from README.md, so the test breaks when README changes in a way
 * that does not work. Two substitutions only, both for sharing the machine: the relay's address
 * (quick start: the relay `npm start` would run is a test relay here, on a free port) and the port
 * 9443 (operator section: a free port). Commands run through `npx` in a fresh folder whose
 * node_modules/.bin holds the project's two commands — how `npx` finds them in the project folder —
 * so nothing is written into the project.
 */
const README = readFileSync(join(REPO_ROOT, "README.md"), "utf8");

function shellBlock(heading: string): string {
  const section = README.slice(README.indexOf(heading));
  assert.ok(README.includes(heading), `README has "${heading}"`);
  const start = section.indexOf("```sh\n") + "```sh\n".length;
  return section.slice(start, section.indexOf("\n```", start));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A folder where `npx nano-client` / `npx nano-relay` are the project's commands. */
async function projectLikeFolder(dir: string): Promise<string> {
  const folder = join(dir, "readme");
  await mkdir(join(folder, "node_modules", ".bin"), { recursive: true });
  for (const name of ["nano-client", "nano-relay"])
    await symlink(join(REPO_ROOT, "bin", `${name}.js`), join(folder, "node_modules", ".bin", name));
  await writeFile(join(folder, "package.json"), '{"name": "readme-run", "private": true}\n');
  return folder;
}

interface ScriptRun {
  readonly code: number | null;
  readonly output: string;
  /** Kills whatever the script left running (its process group). */
  readonly cleanUp: () => void;
}

/**
 * Runs `script` with `bash -e` (the first failing command fails the run) in its own process group,
 * so that a relay the script left running (it failed before its `kill`) can be ended with it.
 */
function runScript(script: string, cwd: string): Promise<ScriptRun> {
  const env = { ...process.env };
  delete env.NANO_CLIENT_HOME;
  delete env.NANO_PASSPHRASE;
  const child = spawn("bash", ["-e", "-x", "-c", script], {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const cleanUp = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // The group is gone: nothing was left running.
    }
  };
  const timer = setTimeout(cleanUp, 10 * 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    // "exit", not "close": a relay left running would hold the output pipes open.
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, cleanUp });
    });
  });
}

/** Whether process `pid` still runs, waiting up to `ms` for it to end. */
async function stillRunning(pid: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

test("README quick start, as written, against a real relay", () =>
  withRelay(async (relay, dir) => {
    const folder = await projectLikeFolder(dir);
    const block = shellBlock("## Quick start: two people talking");
    assert.match(block, /http:\/\/127\.0\.0\.1:8080/, "the quick start names npm start's relay");
    // README's own comment says bob's `verify alice` shows the same digits: run that too.
    const script = `${block.replaceAll("http://127.0.0.1:8080", relay.url)}
echo "--- bob verifies alice"
npx nano-client --home $H/bob verify alice
rm -rf "$H"`;
    const run = await runScript(script, folder);
    run.cleanUp();
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /\] alice \(hybrid\): hello bob\n/);
    assert.match(run.output, /\] bob \(hybrid\): hi alice\n/);
    const numbers = [...run.output.matchAll(/^(alice|bob): ((?:\d{5} ?){12})/gm)].map((m) => [m[1], m[2]]);
    assert.equal(numbers.length, 2, run.output);
    assert.equal(numbers[0]![1], numbers[1]![1], "the same 60 digits on both sides");
  }));

test("README operator section, as written: production config with a throwaway certificate", () =>
  withTempDir(async (dir) => {
    const folder = await projectLikeFolder(dir);
    const block = shellBlock("## Operating the relay");
    assert.match(block, /--port 9443/);
    const port = await freePort();
    const run = await runScript(block.replaceAll("9443", String(port)), folder);
    try {
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /relay\.toml: valid \(production\)/);
      assert.match(run.output, /schema version 0 -> \d+/);
      assert.match(run.output, /ready/i, "status reports the relay");
      assert.ok(existsSync(join(folder, "relay-backup.sqlite")), "the backup was written");
      // README's `kill` (SIGTERM) ends the relay by itself: it drains and exits.
      const { pid } = JSON.parse(readFileSync(join(folder, "relay-port.json"), "utf8")) as { pid: number };
      assert.equal(await stillRunning(pid, 60_000), false, "the relay stopped on SIGTERM");
    } finally {
      run.cleanUp();
    }
  }));
