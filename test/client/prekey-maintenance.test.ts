import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { generateIdentitySeeds } from "../../src/client/identity-seeds.ts";
import { ensureOwnIdentity } from "../../src/client/local-identity.ts";
import { LocalStore } from "../../src/client/local-store.ts";
import { maintainPrekeys, PREKEY_POLICY } from "../../src/client/prekey-maintenance.ts";
import type { PrekeyCount, RelayApi } from "../../src/client/transport/relay-api.ts";
import type { UnlockedHome } from "../../src/client/unlocked-home.ts";
import { decodeBundleExact, PREKEY_ROLES } from "../../src/protocol/index.ts";
import { withTempDir } from "./_helpers.ts";

const DAY = 86_400_000;

/** The relay side of prekey upkeep, scripted: what it reports and what it was sent. */
class FakeRelay {
  count: PrekeyCount = { hasBundle: false, oneTimeCount: 0, rotationDue: false };
  uploads: { bundle: Uint8Array | null; oneTime: number }[] = [];

  asApi(): RelayApi {
    return {
      prekeyCount: async () => this.count,
      uploadPrekeys: async (bundle: Uint8Array | null, oneTime: readonly Uint8Array[]) => {
        this.uploads.push({ bundle, oneTime: oneTime.length });
        this.count = {
          hasBundle: this.count.hasBundle || bundle !== null,
          oneTimeCount: this.count.oneTimeCount + oneTime.length,
          rotationDue: bundle === null && this.count.rotationDue,
        };
        return this.count.oneTimeCount;
      },
    } as unknown as RelayApi;
  }
}

test("prekey upkeep: first upload, refill below the threshold, rotation when due, expired keys deleted", () =>
  withTempDir(async (dir) => {
    const store = await LocalStore.open(join(dir, "p.db"), randomBytes(32));
    const seeds = generateIdentitySeeds("hybrid", 0);
    const start = Date.now();
    const own = await store.transaction((tables) => ensureOwnIdentity(tables, seeds, "pat", start));
    const home = { store, seeds } as unknown as UnlockedHome;
    const relay = new FakeRelay();
    const link = { own, api: relay.asApi() };
    const roles = async () =>
      (await store.read((tables) => tables.listPrekeySecrets())).map((p) => Number(p.role)).sort();
    try {
      let report = await maintainPrekeys(home, link, { now: start });
      assert.equal(report.bundleRotated, true);
      assert.equal(report.uploadedOneTime, PREKEY_POLICY.target);
      const bundle = decodeBundleExact(relay.uploads[0]!.bundle!, start);
      assert.equal(bundle.suite.name, "hybrid");
      assert.equal(bundle.pq?.role, PREKEY_ROLES.pqLastResort);
      assert.equal(bundle.oneTimeDh, null, "a base bundle carries no one-time key");
      assert.equal((await roles()).filter((r) => r === PREKEY_ROLES.pqOneTime).length, PREKEY_POLICY.target);

      // Stock above the threshold and nothing due: nothing is generated or sent.
      report = await maintainPrekeys(home, link, { now: start + 1000 });
      assert.deepEqual(report, {
        oneTimeCount: PREKEY_POLICY.target,
        uploadedOneTime: 0,
        bundleRotated: false,
      });

      // Peers used most one-time keys: refill up to the target.
      relay.count = { ...relay.count, oneTimeCount: PREKEY_POLICY.refillBelow - 1 };
      report = await maintainPrekeys(home, link, { now: start + 2000 });
      assert.equal(report.uploadedOneTime, PREKEY_POLICY.target - (PREKEY_POLICY.refillBelow - 1));
      assert.equal(report.bundleRotated, false);

      // The relay's key_rotation_days passed: new signed prekeys, the old ones kept until they expire.
      relay.count = { ...relay.count, rotationDue: true };
      report = await maintainPrekeys(home, link, { now: start + 3000 });
      assert.equal(report.bundleRotated, true);
      const signed = (await roles()).filter((r) => r === PREKEY_ROLES.signedDh);
      assert.equal(signed.length, 2);

      // Past every expiry: all old secrets are deleted, fresh ones take their place.
      const later = start + 100 * DAY;
      await maintainPrekeys(home, link, { now: later });
      const left = await store.read((tables) => tables.listPrekeySecrets());
      assert.ok(
        left.every((p) => p.expiresAt > later),
        "no expired private key is kept",
      );
      assert.equal(left.filter((p) => p.role === String(PREKEY_ROLES.signedDh)).length, 1);
    } finally {
      await store.close();
    }
  }));
