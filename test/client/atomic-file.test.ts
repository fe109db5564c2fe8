import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ensurePrivateDirectory,
  sweepTemporaryFiles,
  TEMPORARY_PREFIX,
  writeFileAtomic,
} from "../../src/client/home/atomic-file.ts";
import { withTempDir } from "./_helpers.ts";
import { parseVersion, versionContent } from "./fixtures/atomic-content.ts";

const WRITER = new URL("./fixtures/atomic-writer.ts", import.meta.url).pathname;
const ITERATIONS = 30;

test("writes replace the file whole, 0600 even under a permissive umask", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "secret");
    const previous = process.umask(0);
    try {
      await writeFileAtomic(path, versionContent(1));
      await writeFileAtomic(path, versionContent(2));
    } finally {
      process.umask(previous);
    }
    assert.equal(parseVersion(await readFile(path)), 2);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ["secret"]);
  }));

test("an explicit mode is honoured", () =>
  withTempDir(async (dir) => {
    await writeFileAtomic(join(dir, "public"), versionContent(1), { mode: 0o644 });
    assert.equal((await stat(join(dir, "public"))).mode & 0o777, 0o644);
  }));

test("a failed write leaves the old file and no temporary file", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "file");
    await writeFileAtomic(path, versionContent(1));
    // Renaming a file over a non-empty directory fails after the temporary file was written.
    await ensurePrivateDirectory(join(dir, "blocked", "child"));
    await assert.rejects(writeFileAtomic(join(dir, "blocked"), versionContent(2)));
    assert.equal(parseVersion(await readFile(path)), 1);
    assert.ok((await readdir(dir)).every((name) => !name.startsWith(TEMPORARY_PREFIX)));
  }));

test("ensurePrivateDirectory creates 0700 and tightens an existing loose directory", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "a", "home");
    await ensurePrivateDirectory(home);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    await chmod(home, 0o755);
    await ensurePrivateDirectory(home);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    await writeFile(join(dir, "file"), "x");
    await assert.rejects(ensurePrivateDirectory(join(dir, "file")));
  }));

test(`SIGKILL at random moments (${ITERATIONS} times) never leaves a torn or readable file`, () =>
  withTempDir(async (dir) => {
    const path = join(dir, "state");
    await writeFileAtomic(path, versionContent(0));
    let confirmed = 0;
    let changes = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration += 1) {
      const child = spawn(process.execPath, [WRITER, path, String(confirmed)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let printed = confirmed;
      let buffered = "";
      let markReady = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "ready") markReady();
          else printed = Math.max(printed, Number(line));
        }
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // Kill relative to the writer being ready (a loaded machine starts it slowly), inside some write.
      await Promise.race([ready, exited]);
      await sleep(Math.floor(Math.random() * 60));
      child.kill("SIGKILL");
      await exited;
      const version = parseVersion(await readFile(path));
      assert.notEqual(version, null, `iteration ${iteration}: the file is torn`);
      // The last write the child reported is on disk; at most the one in flight went further.
      assert.ok(version! >= printed && version! <= printed + 1, `v${version} after printed v${printed}`);
      if (version !== confirmed) changes += 1;
      confirmed = version!;
      for (const name of await readdir(dir)) {
        const mode = (await stat(join(dir, name))).mode & 0o777;
        assert.equal(mode & 0o077, 0, `${name} has mode ${mode.toString(8)}`);
      }
      await sweepTemporaryFiles(dir);
    }
    assert.ok(changes > 0, "the child never completed a write: the test proved nothing");
  }));
