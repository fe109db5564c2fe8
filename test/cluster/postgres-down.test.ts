// PostgreSQL taken away from a relay (through a TCP proxy in front of the machine's server, which
// serves every other test and must not be stopped): down (connections cut and refused) and frozen
// (connections open, nothing answered: a hung host, a network that drops packets). Either way
// /readyz answers promptly with 503 "store": "unreachable", a send gets store_unavailable instead of
// hanging, nothing is acknowledged that was not committed, and the relay serves again once the
// database is back (docs/cluster.md "When something fails").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function within<T>(promise: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("cluster: PostgreSQL down or frozen under a relay", () => {
  let proxy: TcpProxy;
  let cluster: TestCluster;
  let alice: { token: string };
  before(async () => {
    const server = new URL(process.env.NANO_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test");
    proxy = await TcpProxy.start(server.hostname, Number(server.port || 5432));
    cluster = await TestCluster.create({
      relays: 1,
      postgresUrl: (url) => {
        const viaProxy = new URL(url);
        viaProxy.hostname = "127.0.0.1";
        viaProxy.port = String(proxy.port);
        return viaProxy.toString();
      },
    });
    await cluster.start();
    await cluster.ready();
    alice = await signUpOver(cluster.relays[0]!.url, "alice");
    await signUpOver(cluster.relays[0]!.url, "bob");
  });
  after(async () => {
    proxy.restore();
    await cluster.stop();
    await proxy.close();
  });

  const send = (id: string) =>
    http(
      cluster.relays[0]!.url,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: id, envelope: b64(testEnvelope(id)) },
      alice.token,
    );

  async function unready(what: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const answer = await within(http(cluster.relays[0]!.url, "GET", "/readyz"), `/readyz ${what}`, 10_000);
      if (answer.status === 503) return answer.json;
      await sleep(50);
    }
    assert.fail(`/readyz ${what}: still ready`);
  }

  async function storedRows(id: string): Promise<number> {
    const admin = new pg.Client({ connectionString: cluster.database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS n FROM sent_messages WHERE sender = 'alice' AND client_message_id = $1",
        [id],
      );
      return Number(rows[0].n);
    } finally {
      await admin.end();
    }
  }

  it("down: readiness says unreachable, a send is refused with store_unavailable, and all is well after", async () => {
    proxy.refuse();
    assert.equal((await unready("while PostgreSQL is down")).store, "unreachable");
    const refused = await within(send("down"), "a send while PostgreSQL is down", 20_000);
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal((refused.json.error as { code: string }).code, "store_unavailable");
    proxy.restore();
    await cluster.ready(30_000);
    assert.equal((await send("down")).status, 201, "the retry is stored");
    assert.equal(await storedRows("down"), 1);
  });

  it("frozen: readiness answers promptly, a send gets store_unavailable, and its retry stores it once", {
    timeout: 120_000,
  }, async () => {
    proxy.freeze();
    assert.equal((await unready("while PostgreSQL is frozen")).store, "unreachable");
    const refused = await within(send("frozen"), "a send while PostgreSQL is frozen", 60_000);
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal((refused.json.error as { code: string }).code, "store_unavailable");
    proxy.restore();
    await cluster.ready(30_000);
    // The refused send may have committed after all (its COMMIT was held, not lost): "unavailable"
    // promises nothing either way, and the retry with the same id yields one row.
    const retried = await send("frozen");
    assert.equal(retried.status, 201, JSON.stringify(retried.json));
    assert.equal(await storedRows("frozen"), 1);
  });
});
