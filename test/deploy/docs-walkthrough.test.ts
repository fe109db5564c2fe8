import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tempDir } from "../relay/fixtures/harness.ts";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { Peer, signUpOver } from "../relay/fixtures/processes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Block {
  readonly info: string;
  readonly body: string;
}

/** The fenced blocks of docs/deploy.md's worked example, in order. */
function workedExample(): Block[] {
  const doc = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
  const start = doc.indexOf("## Worked example: three workers on one host");
  const end = doc.indexOf("\n## ", start + 1);
  return [...doc.slice(start, end).matchAll(/```([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({
    info: m[1]!.trim(),
    body: m[2]!,
  }));
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });

/**
 * docs/deploy.md's worked example, run with bash from the project folder exactly as written; the last
 * block (the stop) runs after the test used the relay. Between the deploys and the stop a real client
 * claims, logs in and sends through the shared port.
 */
describe("docs/deploy.md worked example, followed literally", () => {
  const dir = tempDir("deploy-docs");
  const blocks = workedExample();
  const env = { ...process.env, TMPDIR: dir };
  const folder = join(dir, "nano-serve");
  after(() => {
    if (existsSync(join(folder, "serve.json")))
      spawnSync("bash", ["-c", `cd ${folder} && ${blocks.at(-1)?.body ?? ""}`], { env });
  });

  it("has the blocks the test expects", () => {
    assert.deepEqual(
      blocks.map((b) => b.info),
      ["sh", "toml file=relay.toml", "sh", "sh", "sh"],
    );
  });

  it("serves with three workers and deploys rolling, then blue-green", { timeout: 300_000 }, async () => {
    assert.ok(await portFree(18090), "port 18090 is in use");
    const script = ["set -euo pipefail"];
    for (const block of blocks.slice(0, -1)) {
      if (block.info.startsWith("toml file=")) {
        const file = block.info.slice("toml file=".length);
        script.push(`cat > ${file} <<'NANO_DOC_EOF'\n${block.body}NANO_DOC_EOF`);
      } else script.push(block.body);
    }
    const run = spawnSync("bash", ["-c", script.join("\n")], {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 280_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /"ready":true/);
    assert.match(run.stdout, /generation 1:\n.*\n\s+1\s+\d+\s+serving\s+yes/);
    assert.match(run.stdout, /deployed: generation 2 serves \(rolling\)/);
    assert.match(run.stdout, /deployed: generation 3 serves \(blue-green\)/);
    const final = run.stdout.slice(run.stdout.lastIndexOf("nano-relay serve, pid"));
    assert.match(final, /generation 3\b/);
    for (const id of [7, 8, 9]) assert.match(final, new RegExp(`\\n\\s+${id}\\s+\\d+\\s+serving\\s+yes`));

    const url = "http://127.0.0.1:18090";
    const alice = await signUpOver(url, "alice");
    await signUpOver(url, "bob");
    const peer = new Peer("ws://127.0.0.1:18090/v1/ws", alice.token);
    await peer.waitFor((f) => f.type === "ready");
    peer.send({
      type: "send",
      id: "doc-1",
      to: "bob",
      envelope: Buffer.from(testEnvelope("doc")).toString("base64"),
    });
    await peer.waitFor((f) => f.type === "sent" && f.id === "doc-1");
    peer.close();

    const stop = spawnSync("bash", ["-c", `cd ${folder} && ${blocks.at(-1)!.body}`], {
      env,
      encoding: "utf8",
    });
    assert.equal(stop.status, 0, stop.stderr);
  });
});
