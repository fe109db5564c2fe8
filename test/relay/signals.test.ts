// A supervisor (or a test) may send SIGTERM the instant the port file appears: the relay must drain
// and exit 0 then too, never die by Node's default signal action (exit by signal, no drain, no
// audit stop). The port file is written inside startRelay, so the handlers must exist before it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, rmSync, watch } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BIN, ktTempDir, writeKtConfig } from "./_kt-helpers.ts";

describe("relay signals", () => {
  const dir = ktTempDir("signals");
  const config = writeKtConfig(dir);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a SIGTERM sent the moment the port file appears drains the relay and exits 0", async () => {
    for (let round = 0; round < 3; round++) {
      const portFile = join(dir, `ports-${round}.json`);
      const child = spawn(process.execPath, [BIN, "start", "--config", config, "--port-file", portFile], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on("exit", (code, signal) => resolve([code, signal])),
      );
      // React to the rename itself (fs.watch), not to a poll that would give the relay time.
      const watcher = watch(dir, () => {
        if (existsSync(portFile) && child.exitCode === null) {
          watcher.close();
          child.kill("SIGTERM");
        }
      });
      const [code, signal] = await exited;
      watcher.close();
      assert.equal(signal, null, `round ${round}: killed by ${signal}: ${stderr}`);
      assert.equal(code, 0, `round ${round}: ${stderr}`);
    }
  });
});
