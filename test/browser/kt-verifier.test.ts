// The key-transparency verifier in Chromium (issue 16, docs/web.md "Plan for the browser client" step 4):
// a REAL relay process (bin/nano-relay.js on port 0) logs three claims; what it serves — the kt log's
// vkeys, two bindings at two tree sizes with their inclusion proofs and signed checkpoints, and the
// consistency proof between the trees — is verified in the page with the browser's provider (WebCrypto
// by detection, and @noble only) and in Node with node:crypto, by the same code
// (test/support/kt-scenario.ts). Tampered checkpoints and proofs are refused with the same typed codes.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import {
  b64,
  call,
  claim,
  ktTempDir,
  login,
  makeUser,
  publishBundle,
  type RelayProcess,
  startRelayProcess,
  writeKtConfig,
} from "../relay/_kt-helpers.ts";
import { type KtOutcome, type KtScenario, type KtServed, runKtScenario } from "../support/kt-scenario.ts";
import { useBundledPage } from "./_bundled-page.ts";

const PAGE = new URL("./pages/kt-verifier/", import.meta.url).pathname;

type PageRun =
  | { implementations: Record<string, string>; outcomes: Record<string, KtOutcome> }
  | { error: string };

describe("the key-transparency verifier in Chromium, on a real relay's proofs", () => {
  const bundled = useBundledPage(PAGE);
  const dir = ktTempDir("browser");
  let relay: RelayProcess | undefined;
  let scenario: KtScenario;

  // The relay and the Node runs need no Chromium: only the page's tests skip without it.
  before(async () => {
    relay = await startRelayProcess(writeKtConfig(dir), dir);
    const { api } = relay;
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(makeUser));
    for (const user of [alice!, bob!]) {
      assert.equal((await claim(api, user)).status, 201);
      await login(api, user);
      await publishBundle(api, user);
    }
    // Bundle and account responses both carry the proof (docs/api.md).
    const served = async (user: typeof alice, path: string): Promise<KtServed> => {
      const answer = await call(api, "GET", path, undefined, alice!.token);
      assert.equal(answer.status, 200);
      return {
        username: user!.name,
        record: b64(user!.record.encoded),
        transparency: answer.body.transparency as Record<string, unknown>,
      };
    };
    const older = await served(alice, "/v1/prekeys/alice");
    // A third claim grows the tree: carol's binding is proven at a larger checkpoint.
    assert.equal((await claim(api, carol!)).status, 201);
    const newer = await served(carol, "/v1/accounts/carol");
    const from = older.transparency.tree_size as number;
    const to = newer.transparency.tree_size as number;
    assert.ok(from >= 2 && to > from, `tree sizes ${from} then ${to}`);
    const proof = await call(api, "GET", `/v1/transparency/kt/consistency?from=${from}&to=${to}`);
    const keys = await call(api, "GET", "/v1/transparency/log-keys");
    scenario = {
      vkeys: (keys.body.kt as { verifier_keys: [string, string] }).verifier_keys,
      older,
      newer,
      consistency: { from, to, proof: proof.body.proof as string[] },
    };
  });

  after(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const expected = (outcomes: Record<string, KtOutcome>) => {
    const { from, to } = scenario.consistency;
    assert.deepEqual(outcomes, {
      older: { proven: { logIndex: 0, size: from } },
      newer: { proven: { logIndex: 2, size: to } },
      stale: { proven: { logIndex: 0, size: from } },
      rollback: { error: "log_rollback_detected" },
      tamperedCheckpoint: { error: "checkpoint_signature_invalid" },
      tamperedInclusion: { error: "inclusion_proof_invalid" },
      otherUser: { error: "salted_commitment_mismatch" },
      tamperedConsistency: { error: "log_fork_detected" },
    });
  };

  test("in Node, node:crypto and the browser's provider on Node's WebCrypto: the relay's proofs verify, and every tampering has its code", async () => {
    expected(await runKtScenario(nodeProvider, scenario));
    for (const use of ["detect", "noble"] as const)
      expected(await runKtScenario(await createWebProvider({ use }), scenario));
  });

  for (const use of ["detect", "noble"] as const) {
    test(`the page (${use === "detect" ? "WebCrypto by detection" : "@noble only"}): the same outcomes as Node, on no node:crypto`, async (t) => {
      if (!bundled.available) return t.skip("Chromium is missing");
      const run = (await bundled.page.evaluate(
        ([variant, input]) =>
          (
            globalThis as unknown as {
              nanoKt: { run(use: string, scenario: unknown): Promise<unknown> };
            }
          ).nanoKt.run(variant, input),
        [use, scenario] as const,
      )) as PageRun;
      if ("error" in run) assert.fail(`in the page: ${run.error}`);
      expected(run.outcomes);
      assert.deepEqual(run.outcomes, await runKtScenario(nodeProvider, scenario));
      const { implementations } = run;
      assert.ok(Object.values(implementations).every((source) => source !== "node:crypto"));
      assert.equal(implementations.sha256, "noble");
      const signatures = use === "detect" ? "webcrypto" : "noble";
      assert.equal(implementations.ed25519, signatures);
      assert.equal(implementations["ml-dsa-65"], signatures);
    });
  }
});
