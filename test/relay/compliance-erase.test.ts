// `nano-relay compliance erase` against a REAL relay process: what an erasure removes, the cooling-off
// tombstone, `audit verify` afterwards, and a byte-level search of every file the relay wrote (database,
// WAL, logs, blobs) for the erased name and identity keys (docs/compliance.md, "Erasure").
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "smol-toml";
import { decodeAuditEvent } from "../../src/audit/audit-event.ts";
import { blake2b, toHex } from "../../src/crypto/index.ts";
import { actorPseudonym, readLogKey } from "../../src/relay/audit-log-key.ts";
import { RelayTransparency, transactionRunner } from "../../src/relay/transparency.ts";
import { openDatabase } from "../../src/store/sqlite/sqlite-store.ts";
import {
  BIN,
  b64,
  call,
  claim,
  ktTempDir,
  login,
  makeUser,
  publishBundle,
  runRelayCli,
  type User,
  updateIdentity,
} from "./_kt-helpers.ts";
import { testEnvelope } from "./fixtures/identities.ts";

const ERASED = "quentin";

interface Relay {
  api: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

/** A relay whose stdout and stderr (info-level logs) go to `logFile`, so the test can search them. */
async function startLogged(config: string, dir: string, logFile: string): Promise<Relay> {
  const portFile = join(dir, "ports.json");
  rmSync(portFile, { force: true });
  const log = openSync(logFile, "a");
  const child = spawn(process.execPath, [BIN, "start", "--config", config, "--port-file", portFile], {
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  for (let i = 0; i < 2400 && !existsSync(portFile) && child.exitCode === null; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  if (!existsSync(portFile)) {
    child.kill("SIGKILL");
    throw new Error(`relay did not start: ${readFileSync(logFile, "utf8")}`);
  }
  const { api_url: api } = JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string };
  return {
    api,
    child,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

async function signUp(api: string, name: string): Promise<User> {
  const user = await makeUser(name);
  const claimed = await claim(api, user);
  assert.equal(claimed.status, 201, JSON.stringify(claimed.body));
  await login(api, user);
  await publishBundle(api, user);
  return user;
}

async function send(api: string, from: User, to: string, id: string): Promise<void> {
  const envelope = testEnvelope(`${from.name} to ${to} ${id}`);
  const sent = await call(
    api,
    "POST",
    "/v1/messages",
    { to, client_message_id: id, envelope: b64(envelope) },
    from.token,
  );
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
}

async function upload(api: string, from: User, recipients: string): Promise<string> {
  const blob = new Uint8Array(4096).map((_, i) => (i * 31 + from.name.length) & 0xff);
  const hash = toHex(blake2b(blob));
  const response = await fetch(new URL(`/v1/attachments/${hash}?recipients=${recipients}`, api), {
    method: "PUT",
    headers: { authorization: `Bearer ${from.token}`, "content-type": "application/octet-stream" },
    body: blob,
  });
  assert.equal(response.status, 201, await response.text());
  return hash;
}

function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(path));
    else files.push(path);
  }
  return files;
}

describe("nano-relay compliance erase", () => {
  let dir: string;
  let config: string;
  let logFile: string;
  let relay: Relay;
  let quentin: User;
  let bob: User;
  const keyNeedles: { what: string; bytes: Uint8Array }[] = [];
  let blobHash: string;

  before(async () => {
    dir = ktTempDir("compliance-erase");
    const data = join(dir, "data");
    config = join(dir, "relay.toml");
    logFile = join(data, "relay.log");
    writeFileSync(
      config,
      stringify({
        environment: "testing",
        server: { bind_address: "127.0.0.1", api_port: 0, websocket_port: 0, tls: { enabled: false } },
        storage: { path: join(data, "relay.sqlite"), blob_dir: join(data, "blobs") },
        compliance: {
          log_origin: "relay.test",
          log_key_file: join(data, "log-key.json"),
          erasure_cooling_off_days: 30,
        },
        monitoring: { log_level: "info" },
      }),
    );
    // The data folder exists before the relay creates it, so the log file can live there too.
    runRelayCli(["migrate", "--config", config]);
    relay = await startLogged(config, dir, logFile);
    quentin = await signUp(relay.api, ERASED);
    bob = await signUp(relay.api, "bob");
    const recordKeys = (user: User) => {
      for (const keys of user.record.keys)
        for (const [what, bytes] of [
          ["signature", keys.signature],
          ["agreement", keys.agreement],
          ["kem", keys.kem],
        ] as const)
          if (bytes !== null) keyNeedles.push({ what: `v${user.record.recordVersion} ${what} key`, bytes });
    };
    recordKeys(quentin);
    // A second identity record: the erasure must remove the history, not just the current one.
    assert.equal((await updateIdentity(relay.api, quentin)).status, 200);
    recordKeys(quentin);
    await publishBundle(relay.api, quentin);
    await send(relay.api, quentin, "bob", "q1");
    await send(relay.api, bob, ERASED, "b1");
    await send(relay.api, bob, "bob", "self");
    blobHash = await upload(relay.api, quentin, "bob");
    // A failed login: an audit event with the address and the name as commitments.
    const failed = await call(relay.api, "POST", "/v1/auth/token", {
      username: ERASED,
      challenge: b64(new Uint8Array(32)),
      device_certificate: b64(new Uint8Array(64)),
      signature: b64(new Uint8Array(64)),
    });
    assert.notEqual(failed.status, 200);
    const exported = runRelayCli([
      "compliance",
      "export",
      "--config",
      config,
      "--user",
      ERASED,
      "--output",
      join(dir, "export.json"),
    ]);
    assert.equal(exported.status, 0, exported.stderr);
  });

  after(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to erase an account under legal hold (exit 77, account_on_hold) until it is released", async () => {
    const cli = (...args: string[]) =>
      runRelayCli(["compliance", ...args, "--config", config, "--user", ERASED]);
    const held = cli("hold", "--reason", "litigation hold 7", "--json");
    assert.equal(held.status, 0, held.stderr);
    assert.deepEqual(JSON.parse(held.stdout), { user: ERASED, state: "held", changed: true });
    assert.equal(JSON.parse(cli("hold", "--json").stdout).changed, false, "a second hold changes nothing");
    const refused = cli("erase");
    assert.equal(refused.status, 77, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /under a legal hold; release it first/);
    // Still all there: the refused erase changed nothing.
    assert.equal((await call(relay.api, "GET", `/v1/prekeys/${ERASED}`, undefined, bob.token)).status, 200);
    const exported = cli("export", "--output", join(dir, "held.json"));
    assert.equal(exported.status, 0, exported.stderr);
    const file = JSON.parse(readFileSync(join(dir, "held.json"), "utf8")) as {
      payload: { legal_hold: unknown };
    };
    assert.notEqual(file.payload.legal_hold, null, "the export shows the hold");
    const released = cli("release", "--reason", "matter closed", "--json");
    assert.equal(released.status, 0, released.stderr);
    assert.deepEqual(JSON.parse(released.stdout), { user: ERASED, state: "released", changed: true });
    const unknown = runRelayCli(["compliance", "hold", "--config", config, "--user", "nobody"]);
    assert.equal(unknown.status, 66);
  });

  it("erases while the relay runs: tokens, mailbox, bundles and blobs are gone; the name is in cooling-off", async () => {
    const erased = runRelayCli([
      "compliance",
      "erase",
      "--config",
      config,
      "--user",
      ERASED,
      "--reason",
      "Art. 17 request 42",
      "--json",
    ]);
    assert.equal(erased.status, 0, erased.stderr);
    const summary = JSON.parse(erased.stdout) as Record<string, unknown>;
    assert.equal(summary.messages, 2, "the message it sent and the one waiting for it");
    assert.equal(summary.attachments, 1);
    assert.equal(summary.blobs_removed, 1);
    assert.equal(summary.wal_truncated, true);
    assert.ok(
      !existsSync(join(dir, "data", "blobs", blobHash.slice(0, 2), blobHash)),
      "the blob file is gone",
    );

    assert.equal((await call(relay.api, "GET", "/v1/messages", undefined, quentin.token)).status, 401);
    const inbox = await call(relay.api, "GET", "/v1/messages", undefined, bob.token);
    assert.equal(inbox.status, 200);
    assert.deepEqual(
      (inbox.body.messages as { from: string }[]).map((m) => m.from),
      ["bob"],
      "what the erased account sent is gone, the rest stays",
    );
    assert.equal((await call(relay.api, "GET", `/v1/prekeys/${ERASED}`, undefined, bob.token)).status, 404);

    const again = await claim(relay.api, await makeUser(ERASED));
    assert.equal(again.status, 409);
    assert.equal((again.body.error as { code: string }).code, "username_cooling_off");
    assert.equal(
      (await claim(relay.api, await makeUser("someone-else"))).status,
      201,
      "other names are free",
    );

    const twice = runRelayCli(["compliance", "erase", "--config", config, "--user", ERASED]);
    assert.equal(twice.status, 66, "nothing left to erase");
    const verify = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it("logs the erasure by pseudonym only, with operator and reason as commitments", async () => {
    const key = readLogKey(join(dir, "data", "log-key.json"), "relay.test");
    const db = openDatabase(join(dir, "data", "relay.sqlite"));
    try {
      const transparency = new RelayTransparency({
        db,
        key,
        run: transactionRunner(db),
        now: () => Date.now(),
      });
      const size = await transparency.stores.audit.size();
      const entries = await transparency.stores.audit.entries(0, size);
      const erasures = entries
        .map((entry) => decodeAuditEvent(entry.data))
        .filter((event) => event.details.action === "compliance_erase");
      assert.deepEqual(
        erasures.map((event) => event.outcome),
        ["failure", "success"],
        "the refused erase of the held account is an audit event too",
      );
      const holds = entries
        .map((entry) => decodeAuditEvent(entry.data))
        .filter((event) => ["compliance_hold", "compliance_release"].includes(String(event.details.action)));
      assert.equal(holds.length, 3);
      erasures.shift();
      assert.deepEqual(erasures[0]!.actor, actorPseudonym(key, ERASED));
      assert.deepEqual(Object.keys(erasures[0]!.commitments), ["operator", "reason"]);
      // Every leaf that names a person does so through a salted commitment: no name in any leaf.
      for (const logId of ["audit", "kt"] as const) {
        const all = await transparency.stores[logId].entries(0, await transparency.stores[logId].size());
        for (const { data } of all)
          assert.ok(!Buffer.from(data).includes("bob"), `a ${logId} leaf names bob`);
      }
    } finally {
      db.close();
    }
  });

  it("leaves no byte of the name or of any identity key in the database, its WAL, the logs or the blobs", async () => {
    assert.equal(await relay.stop(), 0);
    const needles = [
      { what: "username", bytes: Buffer.from(ERASED) },
      ...keyNeedles.flatMap(({ what, bytes }) => [
        { what: `${what} (raw)`, bytes: Buffer.from(bytes.subarray(0, 32)) },
        { what: `${what} (base64)`, bytes: Buffer.from(b64(bytes).slice(0, 40)) },
        { what: `${what} (hex)`, bytes: Buffer.from(toHex(bytes).slice(0, 64)) },
      ]),
    ];
    const files = filesUnder(join(dir, "data"));
    assert.ok(files.some((file) => file.endsWith("relay.sqlite")));
    assert.ok(files.includes(logFile) && statSync(logFile).size > 0, "the relay logged");
    const found: string[] = [];
    for (const file of files) {
      const content = readFileSync(file);
      for (const needle of needles)
        if (content.includes(needle.bytes)) found.push(`${needle.what} in ${file}`);
    }
    assert.deepEqual(found, []);
    // The search can fail: bob was not erased and is still in the database.
    const database = readFileSync(join(dir, "data", "relay.sqlite"));
    assert.ok(database.includes(Buffer.from("bob")));
  });
});
