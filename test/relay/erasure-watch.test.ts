// The relay's erasure watch (src/relay/erasure-watch.ts) without a process: which sessions it closes
// when the newest tombstone moves, and what it leaves alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { DeliveryHub, type PushTarget } from "../../src/relay/delivery-hub.ts";
import { ACCOUNT_ERASED, checkErasures } from "../../src/relay/erasure-watch.ts";
import type { AccountRecord } from "../../src/store/types.ts";

class Target implements PushTarget {
  closed: { code: number; reason: string } | null = null;
  notify(): void {}
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  async drain(): Promise<void> {}
  async idle(): Promise<void> {}
  lowPrekeys(): void {}
}

function setUp(accounts: Set<string>, failing = new Set<string>()) {
  const hub = new DeliveryHub();
  let latest: number | null = null;
  const lookups: string[] = [];
  const compliance = {
    latestErasure: async () => latest,
    account: async (username: string) => {
      lookups.push(username);
      if (failing.has(username)) throw new Error("database unavailable");
      return accounts.has(username) ? ({ username } as unknown as AccountRecord) : null;
    },
  };
  const connect = (username: string) => {
    const target = new Target();
    hub.add(username, target, { tokenId: `${username}-token`, expiresAt: Number.MAX_SAFE_INTEGER });
    return target;
  };
  return {
    deps: { compliance, hub, log: pino({ level: "silent" }) },
    connect,
    lookups,
    erase: (at: number) => {
      latest = at;
    },
  };
}

test("a new tombstone closes every session of connected users whose account is gone, and only those", async () => {
  const accounts = new Set(["alice", "bob", "carol"]);
  const { deps, connect, lookups, erase } = setUp(accounts);
  const alice = [connect("alice"), connect("alice")];
  const bob = connect("bob");
  assert.equal(await checkErasures(deps, null), null, "no tombstone: nothing looked up");
  assert.deepEqual(lookups, []);
  accounts.delete("alice");
  erase(1000);
  assert.equal(await checkErasures(deps, null), 1000);
  for (const target of alice) assert.deepEqual(target.closed, { code: 4401, reason: ACCOUNT_ERASED });
  assert.equal(bob.closed, null);
  assert.deepEqual(lookups.sort(), ["alice", "bob"], "one lookup per connected user, not per session");
  lookups.length = 0;
  assert.equal(await checkErasures(deps, 1000), 1000);
  assert.deepEqual(lookups, [], "the same tombstone again: no lookups");
});

test("a lookup that fails keeps the session and the old mark, so the next look asks again", async () => {
  const accounts = new Set(["dave"]);
  const failing = new Set(["dave"]);
  const { deps, connect, erase } = setUp(accounts, failing);
  const dave = connect("dave");
  accounts.delete("dave");
  erase(2000);
  assert.equal(await checkErasures(deps, null), null, "unsure: the mark does not move");
  assert.equal(dave.closed, null, "never closed on a failed lookup");
  failing.delete("dave");
  assert.equal(await checkErasures(deps, null), 2000);
  assert.deepEqual(dave.closed, { code: 4401, reason: ACCOUNT_ERASED });
});
