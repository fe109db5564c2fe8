import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../relay/fixtures/harness.ts";
import { envelopeMarker, testEnvelope } from "../relay/fixtures/identities.ts";
import { http, Peer, signUpOver } from "../relay/fixtures/processes.ts";
import { createTestDatabase, PrivateRedis, type TestDatabase } from "../support/services.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

interface Block {
  readonly info: string;
  readonly body: string;
}

/** The fenced blocks of docs/cluster.md's "Worked example" section, in order. */
function workedExample(): Block[] {
  const doc = readFileSync(new URL("docs/cluster.md", `file://${ROOT}`), "utf8");
  const start = doc.indexOf("## Worked example");
  const end = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, end);
  return [...section.matchAll(/```([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({
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
 * docs/cluster.md's worked example, run exactly as written with bash from the project folder: every
 * block in order, except that the first (`sh env`) is replaced by this test's own database and Redis in
 * the same two variables, and the last (stopping the relays) runs after the test has used the cluster.
 */
describe("docs/cluster.md worked example, followed literally", () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  const dir = tempDir("cluster-docs");
  const blocks = workedExample();
  let env: NodeJS.ProcessEnv;
  before(async () => {
    database = await createTestDatabase("nano_docs");
    redis = await PrivateRedis.start();
    env = {
      ...process.env,
      TMPDIR: dir,
      NANO_RELAY_POSTGRES_URL: database.url,
      NANO_RELAY_REDIS_URL: redis.url,
    };
  });
  after(async () => {
    // The doc's own stop step; then whatever is left of the relays cannot hold the database.
    spawnSync("bash", ["-c", `cd ${dir}/nano-cluster && ${blocks.at(-1)?.body ?? ""}`], { env });
    await redis.kill();
    await database.drop();
  });

  it("has the blocks the test expects", () => {
    assert.deepEqual(
      blocks.map((b) => b.info),
      ["sh env", "sh", "toml file=cluster.toml", "sh", "sh"],
    );
  });

  it("starts three relays that serve as one", { timeout: 120_000 }, async () => {
    for (const port of [18081, 18082, 18083]) assert.ok(await portFree(port), `port ${port} is in use`);
    const script = ["set -euo pipefail"];
    for (const block of blocks.slice(1, -1)) {
      if (block.info.startsWith("toml file=")) {
        const file = block.info.slice("toml file=".length);
        script.push(`cat > ${file} <<'NANO_DOC_EOF'\n${block.body}NANO_DOC_EOF`);
      } else script.push(block.body);
    }
    const run = spawnSync("bash", ["-c", script.join("\n")], {
      cwd: ROOT,
      env,
      encoding: "utf8",
      timeout: 90_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    // `migrate` prints what it applied; the readiness answers are the JSON lines.
    const ready = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(ready.length, 3);
    // What the page says each prints, key by key (the page elides the rest with "…").
    const doc = readFileSync(new URL("docs/cluster.md", `file://${ROOT}`), "utf8");
    const shown = /Each prints `(\{[^`]*\})`/.exec(doc)?.[1];
    assert.ok(shown !== undefined, "the page shows what readiness prints");
    const promised = JSON.parse(shown.replaceAll("…,", "").replaceAll(",…", "")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(promised).sort(), ["ready", "redis", "store"]);
    for (const answer of ready)
      for (const [key, value] of Object.entries(promised))
        assert.equal(answer[key], value, `readiness ${key}`);
    const [one, two] = ["http://127.0.0.1:18081", "http://127.0.0.1:18082"];
    const alice = await signUpOver(one, "alice");
    const bob = await signUpOver(two, "bob");
    const peer = new Peer("ws://127.0.0.1:18082/v1/ws", bob.token);
    await peer.waitFor((f) => f.type === "ready");
    const sent = await http(
      one!,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: "doc1", envelope: b64(testEnvelope("through relay 1")) },
      alice.token,
    );
    assert.equal(sent.status, 201);
    const pushed = await peer.waitFor((f) => f.type === "message", 5000);
    assert.equal(
      envelopeMarker(new Uint8Array(Buffer.from(String(pushed.envelope), "base64"))),
      "through relay 1",
    );
    peer.close();
    // The page's last block stops them: every relay process is gone and its port free.
    const pids = [1, 2, 3].map((i) => Number(readFileSync(`${dir}/nano-cluster/relay${i}.pid`, "utf8")));
    const stop = spawnSync("bash", ["-c", `cd ${dir}/nano-cluster && ${blocks.at(-1)!.body}`], { env });
    assert.equal(stop.status, 0, String(stop.stderr));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(pids.filter(alive), [], "every relay stopped");
    for (const port of [18081, 18082, 18083]) assert.ok(await portFree(port), `port ${port} is free again`);
  });
});
