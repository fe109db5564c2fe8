import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { generateIdentitySeeds } from "../../src/client/home/identity-seeds.ts";
import { ensureOwnIdentity } from "../../src/client/home/local-identity.ts";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import { maintainPrekeys, PREKEY_POLICY } from "../../src/client/messaging/prekey-maintenance.ts";
import type { PrekeyCount, RelayApi } from "../../src/client/transport/relay-api.ts";
import { SUITE_IDS } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact, decodeSignedPrekeyExact, PREKEY_ROLES } from "../../src/protocol/index.ts";
import { withTempDir } from "./_helpers.ts";

const DAY = 86_400_000;

/** The relay side of prekey upkeep, scripted per suite: what it reports and what it was sent. */
class FakeRelay {
  bySuite = new Map<number, { oneTimeCount: number; rotationDue: boolean }>();
  uploads: { suite: number; bundle: Uint8Array | null; oneTime: number }[] = [];
  /** The relay's clock: bundles are checked as of the upkeep's `now`. */
  now = Date.now();

  get count(): PrekeyCount {
    const suites = [...this.bySuite.entries()]
      .sort(([a], [b]) => a - b)
      .map(([suite, entry]) => ({ suite, ...entry }));
    return {
      hasBundle: suites.length > 0,
      oneTimeCount: suites.reduce((sum, entry) => sum + entry.oneTimeCount, 0),
      rotationDue: suites.some((entry) => entry.rotationDue),
      suites,
    };
  }

  asApi(): RelayApi {
    return {
      prekeyCount: async () => this.count,
      uploadPrekeys: async (bundle: Uint8Array | null, oneTime: readonly Uint8Array[]) => {
        const suites = new Set<number>(oneTime.map((key) => decodeSignedPrekeyExact(provider, key).suite.id));
        if (bundle !== null) suites.add((await decodeBundleExact(provider, bundle, this.now)).suite.id);
        // The real relay refuses a mixed-suite upload of one-time keys without their bundle.
        assert.equal(suites.size, 1, "one upload carries one suite");
        const suite = [...suites][0]!;
        const entry = this.bySuite.get(suite);
        if (entry === undefined) assert.notEqual(bundle, null, "one-time keys need the suite's bundle");
        const next = {
          oneTimeCount: (entry?.oneTimeCount ?? 0) + oneTime.length,
          rotationDue: bundle === null && (entry?.rotationDue ?? false),
        };
        this.bySuite.set(suite, next);
        this.uploads.push({ suite, bundle, oneTime: oneTime.length });
        return next.oneTimeCount;
      },
    } as unknown as RelayApi;
  }
}

test("prekey upkeep: a bundle and one-time keys for every accepted suite, refill and rotation per suite", () =>
  withTempDir(async (dir) => {
    const store = await LocalStore.open(join(dir, "p.db"), randomBytes(32));
    // Classical accepts every suite ranked at or above it: classical, quantum and hybrid.
    const seeds = await generateIdentitySeeds(provider, "classical", 0);
    const start = Date.now();
    const own = await ensureOwnIdentity(provider, store, seeds, "pat", start);
    const relay = new FakeRelay();
    const link = { own, api: relay.asApi() };
    const roles = async (suite: number) =>
      (await store.read((tables) => tables.listPrekeySecrets()))
        .filter((p) => p.suite === suite)
        .map((p) => Number(p.role))
        .sort();
    const upkeep = (now: number) => {
      relay.now = now;
      return maintainPrekeys(provider, store, link, { now });
    };
    try {
      let report = await upkeep(start);
      assert.equal(report.bundleRotated, true);
      assert.equal(report.uploadedOneTime, 3 * PREKEY_POLICY.target);
      assert.deepEqual(
        relay.uploads.map((u) => u.suite).sort(),
        [SUITE_IDS.classical, SUITE_IDS.hybrid, SUITE_IDS.quantum].sort(),
      );
      for (const upload of relay.uploads) {
        const bundle = await decodeBundleExact(provider, upload.bundle!, start);
        assert.equal(bundle.suite.id, upload.suite);
        assert.equal(bundle.oneTimeDh, null, "a base bundle carries no one-time key");
        assert.equal(upload.oneTime, PREKEY_POLICY.target);
      }
      assert.equal(
        (await roles(SUITE_IDS.hybrid)).filter((r) => r === PREKEY_ROLES.pqOneTime).length,
        PREKEY_POLICY.target,
      );
      assert.equal(
        (await roles(SUITE_IDS.classical)).filter((r) => r === PREKEY_ROLES.oneTimeDh).length,
        PREKEY_POLICY.target,
      );

      // Stock above the threshold and nothing due: nothing is generated or sent.
      relay.uploads = [];
      report = await upkeep(start + 1000);
      assert.deepEqual(report, {
        oneTimeCount: 3 * PREKEY_POLICY.target,
        uploadedOneTime: 0,
        bundleRotated: false,
      });
      assert.equal(relay.uploads.length, 0);

      // Peers used most of the quantum one-time keys: only that suite is refilled.
      relay.bySuite.set(SUITE_IDS.quantum, {
        oneTimeCount: PREKEY_POLICY.refillBelow - 1,
        rotationDue: false,
      });
      report = await upkeep(start + 2000);
      assert.equal(report.uploadedOneTime, PREKEY_POLICY.target - (PREKEY_POLICY.refillBelow - 1));
      assert.deepEqual(
        relay.uploads.map((u) => u.suite),
        [SUITE_IDS.quantum],
      );
      assert.equal(report.bundleRotated, false);

      // The relay said `low_prekeys` (its own threshold): a top-up refills a suite still above
      // refillBelow to the target, and leaves full suites alone.
      relay.uploads = [];
      relay.bySuite.set(SUITE_IDS.hybrid, {
        oneTimeCount: PREKEY_POLICY.refillBelow + 2,
        rotationDue: false,
      });
      assert.equal((await upkeep(start + 2500)).uploadedOneTime, 0, "no top-up without the signal");
      relay.now = start + 2600;
      report = await maintainPrekeys(provider, store, link, { now: start + 2600, topUp: true });
      assert.equal(report.uploadedOneTime, PREKEY_POLICY.target - (PREKEY_POLICY.refillBelow + 2));
      assert.deepEqual(
        relay.uploads.map((u) => u.suite),
        [SUITE_IDS.hybrid],
      );

      // The relay says the classical signed prekey is due: new signed prekeys for that suite only.
      relay.uploads = [];
      relay.bySuite.set(SUITE_IDS.classical, { oneTimeCount: PREKEY_POLICY.target, rotationDue: true });
      report = await upkeep(start + 3000);
      assert.equal(report.bundleRotated, true);
      assert.deepEqual(
        relay.uploads.map((u) => u.suite),
        [SUITE_IDS.classical],
      );
      assert.equal((await roles(SUITE_IDS.classical)).filter((r) => r === PREKEY_ROLES.signedDh).length, 2);
      assert.equal((await roles(SUITE_IDS.hybrid)).filter((r) => r === PREKEY_ROLES.signedDh).length, 1);

      // Past every expiry: all old secrets are deleted, fresh ones take their place.
      const later = start + 100 * DAY;
      await upkeep(later);
      const left = await store.read((tables) => tables.listPrekeySecrets());
      assert.ok(
        left.every((p) => p.expiresAt > later),
        "no expired private key is kept",
      );
      for (const suite of [SUITE_IDS.classical, SUITE_IDS.hybrid])
        assert.equal((await roles(suite)).filter((r) => r === PREKEY_ROLES.signedDh).length, 1);
    } finally {
      await store.close();
    }
  }));
