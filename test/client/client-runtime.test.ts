// The seam the page's client plugs into (docs/web.md "Plan for the browser client", step 1): a
// ClientContext reaches the relay and keeps attachments only through the ClientRuntime its creator
// hands in. Faults: an endpoint that fails (kept for no one: the next command asks again), a home with
// no identity (refused before the runtime is asked for the relay), and the runtime's own crypto.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { ClientRuntime } from "../../src/client/client-runtime.ts";
import { ClientContext } from "../../src/client/context.ts";
import { generateIdentitySeeds } from "../../src/client/home/identity-seeds.ts";
import { ensureOwnIdentity } from "../../src/client/home/local-identity.ts";
import type { UnlockedHome } from "../../src/client/home/open-home.ts";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import type { AttachmentSink } from "../../src/client/messaging/attachment-sink.ts";
import { fetchEndpoint } from "../../src/client/transport/relay-fetch.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";

async function withHome(work: (home: UnlockedHome, store: LocalStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "nano-runtime-"));
  const key = new Uint8Array(32).fill(7);
  const store = await LocalStore.open(join(dir, "local.db"), key);
  const quarantine = await LocalStore.open(join(dir, "quarantine.db"), key);
  let closed = false;
  const home: UnlockedHome = {
    location: dir,
    config: {
      version: 1,
      cryptoMode: "hybrid",
      relay: "http://127.0.0.1:9",
      ca: null,
      username: null,
      createdAt: 1,
    },
    seeds: await generateIdentitySeeds(nodeProvider, "hybrid"),
    store,
    quarantine,
    saveConfig: () => Promise.reject(new Error("not in this test")),
    close: async () => {
      // Closed by the context (its close closes the home) or by this helper after the test: once.
      if (closed) return;
      closed = true;
      await Promise.all([store.close(), quarantine.close()]);
    },
  };
  try {
    await work(home, store);
  } finally {
    await home.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A runtime that counts what it is asked and answers with `endpoint` (or its failure). */
function countingRuntime(endpoint: () => ReturnType<ClientRuntime["relayEndpoint"]>) {
  const asked = { endpoint: 0, sinks: [] as (string | null)[] };
  const sink: AttachmentSink = { save: () => Promise.reject(new Error("no download in this test")) };
  const runtime: ClientRuntime = {
    provider: nodeProvider,
    relayEndpoint: () => {
      asked.endpoint += 1;
      return endpoint();
    },
    attachmentSink: async (_home, saveDir) => {
      asked.sinks.push(saveDir);
      return sink;
    },
  };
  return { runtime, asked, sink };
}

test("a home with no identity is refused before the runtime is asked for the relay", () =>
  withHome(async (home) => {
    const { runtime, asked } = countingRuntime(async () => fetchEndpoint("http://127.0.0.1:9"));
    const context = new ClientContext(home, runtime);
    await assert.rejects(context.link(), (error: unknown) => NanoError.is(error, "username_not_claimed"));
    assert.equal(asked.endpoint, 0);
    assert.equal(context.provider, nodeProvider, "the context's crypto is the runtime's");
  }));

test("a failing endpoint fails the link, and the next command asks the runtime again (no failure kept)", () =>
  withHome(async (home, store) => {
    await ensureOwnIdentity(nodeProvider, store, home.seeds, "rosa", Date.now());
    const refusal = new NanoError("invalid_argument", "no relay here");
    let fail = true;
    const { runtime, asked } = countingRuntime(async () => {
      if (fail) throw refusal;
      return fetchEndpoint("http://127.0.0.1:9");
    });
    const context = new ClientContext(home, runtime);
    await assert.rejects(context.link(), (error: unknown) => error === refusal);
    fail = false;
    const link = await context.link();
    assert.equal(asked.endpoint, 2);
    assert.equal(link.api.endpoint.base.href, "http://127.0.0.1:9/");
    assert.equal(link.own.record.username, "rosa");
    assert.equal(await context.link(), link, "one link per open client");
    assert.equal(asked.endpoint, 2);
    await context.close();
  }));

test("received attachments go to the runtime's sink, with the caller's folder choice passed on", () =>
  withHome(async (home) => {
    const { runtime, asked, sink } = countingRuntime(async () => fetchEndpoint("http://127.0.0.1:9"));
    const context = new ClientContext(home, runtime);
    assert.equal(await context.attachmentSink(null), sink);
    assert.equal(await context.attachmentSink("/somewhere"), sink);
    assert.deepEqual(asked.sinks, [null, "/somewhere"]);
  }));
