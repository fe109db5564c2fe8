// Issue 12, finding 6: one account drained another's one-time prekeys (Bob took all 225 of Dave's in
// 1.7 s), and after 300 fetches of Carol's bundle, Alice got `429 bundle_target`: the per-target limit
// locked innocent requesters out of first contact. Now a requester gets at most a few one-time keys of
// one target per hour, the target's keys go out no faster than its per-target rate, every fetch past
// those is answered with the signed last-resort key (never refused), the stock per account is capped,
// and the owner's socket is told to refill (`low_prekeys`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TestIdentity } from "../fixtures/identities.ts";
import { http, Peer, type RelayProcess, signUpOver } from "../fixtures/processes.ts";
import { startRelay } from "./_abuse.ts";

const PAIR_PER_HOUR = 2;
const TARGET_PER_MINUTE = 30;
const STOCK_CAP = 250;
const LOW = 10;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

interface Account {
  readonly user: TestIdentity;
  readonly token: string;
}

async function upload(relay: RelayProcess, owner: Account, keys: number, bundle: boolean) {
  const body = {
    ...(bundle ? { bundle: b64(await owner.user.bundle()) } : {}),
    one_time_prekeys: (await owner.user.oneTimePrekeys(keys)).map(b64),
  };
  return http(relay.url, "PUT", "/v1/prekeys", body, owner.token);
}

async function fetchBundle(relay: RelayProcess, requester: Account, target: string) {
  return http(relay.url, "GET", `/v1/prekeys/${target}`, undefined, requester.token);
}

async function stock(relay: RelayProcess, owner: Account): Promise<number> {
  return Number((await http(relay.url, "GET", "/v1/prekeys", undefined, owner.token)).json.one_time_count);
}

describe("abuse: one-time prekeys cannot be drained, first contact cannot be blocked", () => {
  let relay: RelayProcess;
  const accounts = new Map<string, Account>();
  before(async () => {
    relay = await startRelay({
      limits: {
        max_one_time_prekeys: STOCK_CAP,
        low_prekeys_threshold: LOW,
        rate: {
          bundle_fetches_per_minute: 10_000,
          bundle_fetches_per_target_per_minute: TARGET_PER_MINUTE,
          one_time_prekeys_per_pair_per_hour: PAIR_PER_HOUR,
        },
      },
    });
    for (const name of [
      "alice",
      "bob",
      "carol",
      "dave",
      "erin",
      ...Array.from({ length: 10 }, (_, i) => `sybil${i}`),
    ])
      accounts.set(name, await signUpOver(relay.url, name));
  });
  after(async () => relay.stop());
  const account = (name: string) => accounts.get(name)!;

  it("caps the stock per account before verifying a signature (prekey_stock_full)", async () => {
    const dave = account("dave");
    assert.equal((await upload(relay, dave, 100, true)).status, 200);
    assert.equal((await upload(relay, dave, 100, false)).status, 200);
    assert.equal((await upload(relay, dave, 25, false)).status, 200);
    assert.equal(await stock(relay, dave), 225);
    const over = await upload(relay, dave, 26, false);
    assert.equal(over.status, 409, JSON.stringify(over.json));
    assert.equal((over.json.error as { code: string }).code, "prekey_stock_full");
    assert.equal(await stock(relay, dave), 225);
  });

  it("gives one requester at most a few of a target's one-time keys, however often it asks", async () => {
    const bob = account("bob");
    let oneTime = 0;
    for (let i = 0; i < 225; i++) {
      const fetched = await fetchBundle(relay, bob, "dave");
      assert.equal(fetched.status, 200, JSON.stringify(fetched.json));
      // Every answer still lets bob start a session: the bundle and its signed last-resort key.
      assert.equal(typeof fetched.json.bundle, "string");
      assert.equal(typeof fetched.json.last_resort_prekey, "string");
      if (fetched.json.one_time_prekey !== null) oneTime++;
    }
    assert.equal(oneTime, PAIR_PER_HOUR);
    assert.equal(await stock(relay, account("dave")), 225 - PAIR_PER_HOUR);
  });

  it("never refuses a requester because others fetched the target: past the target's rate, last resort", async () => {
    const carol = account("carol");
    assert.equal((await upload(relay, carol, 100, true)).status, 200);
    let handedOut = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 10; i++) {
        const fetched = await fetchBundle(relay, account(`sybil${i}`), "carol");
        assert.equal(fetched.status, 200, JSON.stringify(fetched.json));
        if (fetched.json.one_time_prekey !== null) handedOut++;
      }
    }
    // 300 fetches by ten accounts: one-time keys went no faster than the per-target rate.
    assert.ok(handedOut <= TARGET_PER_MINUTE, `${handedOut} one-time keys handed out`);
    const alice = await fetchBundle(relay, account("alice"), "carol");
    assert.equal(alice.status, 200, "alice is not locked out of first contact");
    assert.equal(typeof alice.json.last_resort_prekey, "string");
  });

  it("tells the owner to refill when a fetch leaves its stock low", async () => {
    const erin = account("erin");
    assert.equal((await upload(relay, erin, LOW + 2, true)).status, 200);
    const socket = new Peer(relay.wsUrl, erin.token);
    await socket.waitFor((frame) => frame.type === "ready");
    assert.ok(!socket.frames.some((frame) => frame.type === "low_prekeys"), "not low yet");
    await fetchBundle(relay, account("alice"), "erin");
    await fetchBundle(relay, account("alice"), "erin");
    const signal = await socket.waitFor((frame) => frame.type === "low_prekeys");
    assert.equal(signal.count, LOW);
    assert.equal(signal.suite, erin.user.suite.id);
    socket.close();
    // A socket that connects while the stock is low hears it at once.
    const later = new Peer(relay.wsUrl, erin.token);
    assert.equal((await later.waitFor((frame) => frame.type === "low_prekeys")).count, LOW);
    later.close();
  });
});
