import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { TestIdentity, testEnvelope } from "../relay/fixtures/identities.ts";
import { Peer } from "../relay/fixtures/processes.ts";
import { ServeProcess } from "./_serve.ts";

/**
 * `nano-relay serve --instances 3` on SQLite (docs/deploy.md): three workers share the port and the
 * database. What must hold although the kernel hands each new connection to any worker: a challenge
 * issued by one worker is answered at another, and a message committed by one worker is pushed at
 * once to the recipient's sockets on the others (without the supervisor's wake-ups they would wait
 * for the 30 s safety poll, past this test's bounds). A SIGKILLed worker is restarted.
 */
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** One request on a connection of its own (no keep-alive), so requests spread over the workers. */
function fresh(base: string, method: string, path: string, body?: unknown, token?: string) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method,
        agent: false,
        headers: {
          connection: "close",
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function signUp(base: string, username: string): Promise<string> {
  const user = await TestIdentity.create(username);
  const c1 = await fresh(base, "POST", "/v1/challenges", { purpose: "claim", username });
  const claim = new Uint8Array(Buffer.from(String(c1.json.challenge), "base64"));
  const claimed = await fresh(base, "POST", "/v1/accounts", {
    username,
    identity_record: b64(user.record),
    challenge: b64(claim),
    signature: b64(await user.claimSignature(claim)),
  });
  assert.equal(claimed.status, 201, JSON.stringify(claimed.json));
  const c2 = await fresh(base, "POST", "/v1/challenges", { purpose: "auth", username });
  const auth = new Uint8Array(Buffer.from(String(c2.json.challenge), "base64"));
  const token = await fresh(base, "POST", "/v1/auth/token", {
    username,
    challenge: b64(auth),
    device_certificate: b64(await user.deviceCertificate(Date.now() + 86_400_000)),
    signature: b64(await user.authSignature(auth)),
  });
  assert.equal(token.status, 200, JSON.stringify(token.json));
  return String(token.json.token);
}

describe("nano-relay serve --instances 3 on SQLite", () => {
  let serve: ServeProcess;
  before(async () => {
    const dir = tempDir("serve");
    serve = new ServeProcess(testConfig({}, dir), dir);
    await serve.start(3);
  });
  after(async () => serve.stop());

  it("runs three ready workers of one generation behind a 0600 control socket", async () => {
    assert.equal(statSync(serve.control).mode & 0o777, 0o600);
    const status = await serve.status();
    assert.equal(status.generation, 1);
    assert.equal(status.workers.length, 3);
    assert.ok(status.workers.every((worker) => worker.ready === true && worker.state === "serving"));
  });

  it("accepts at one worker a challenge issued by another: every claim and login over fresh connections succeeds", async () => {
    for (let i = 0; i < 8; i++) await signUp(serve.url, `user${i}`);
  });

  it("pushes a message committed by one worker at once to the recipient's sockets on the others", async () => {
    const alice = await signUp(serve.url, "alice");
    const bob = await signUp(serve.url, "bob");
    const receivers = Array.from({ length: 6 }, () => new Peer(serve.wsUrl, bob));
    const senders = Array.from({ length: 6 }, () => new Peer(serve.wsUrl, alice));
    for (const peer of [...receivers, ...senders]) await peer.waitFor((f) => f.type === "ready");
    const spread = (await serve.status()).workers.filter((worker) => (worker.connections ?? 0) > 0);
    assert.ok(spread.length >= 2, "the kernel put every connection on one worker: nothing crosses workers");
    const ids: number[] = [];
    for (const [i, sender] of senders.entries()) {
      sender.send({ type: "send", id: `m${i}`, to: "bob", envelope: b64(testEnvelope(`m${i}`)) });
      const sent = await sender.waitFor((f) => f.type === "sent" && f.id === `m${i}`);
      ids.push(Number(sent.server_id));
    }
    // Bounded well below the 30 s safety poll: only a wake-up from the committing worker is this fast.
    for (const receiver of receivers)
      for (const id of ids) await receiver.waitFor((f) => f.type === "message" && f.id === id, 15_000);
    for (const peer of [...receivers, ...senders]) peer.close();
  });

  it("drains every worker on a Ctrl-C to the whole process group, and exits 0", async () => {
    const dir = tempDir("serve-sigint");
    const other = new ServeProcess(testConfig({}, dir), dir);
    await other.start(2, process.env, { detached: true });
    // A terminal's Ctrl-C: SIGINT to every process of the foreground group. Workers in that group
    // would also get the supervisor's SIGTERM, take it as a second signal and exit 130 undrained.
    process.kill(-other.child!.pid!, "SIGINT");
    await other.exited();
    assert.equal(other.exitCode, 0, other.output.slice(-2000));
  });

  it("restarts a SIGKILLed worker", async () => {
    const before = await serve.status();
    const victim = before.workers[0]!;
    process.kill(victim.pid, "SIGKILL");
    for (let i = 0; i < 600; i++) {
      const now = await serve.status();
      const again = now.workers.find((worker) => worker.id === victim.id);
      if (
        again !== undefined &&
        again.pid !== victim.pid &&
        again.ready === true &&
        again.state === "serving"
      ) {
        assert.equal(again.restarts, victim.restarts + 1);
        assert.equal(now.workers.length, 3);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`worker ${victim.id} was not restarted:\n${serve.output.slice(-2000)}`);
  });
});
