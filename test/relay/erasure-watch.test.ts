// The relay's erasure watch (src/relay/erasure-watch.ts) without a process: which sessions it closes
// when the newest tombstone moves, and what it leaves alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { DeliveryHub, type PushTarget } from "../../src/relay/delivery-hub.ts";
import { ACCOUNT_ERASED, checkErasures, startErasureWatch } from "../../src/relay/erasure-watch.ts";
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

/** `accounts`: username -> when its account was created; `tokens`: the token ids still stored. */
function setUp(accounts: Set<string> | Map<string, number>, failing = new Set<string>()) {
  const hub = new DeliveryHub();
  let latest: number | null = null;
  const lookups: string[] = [];
  const created = accounts instanceof Map ? accounts : null;
  const tokens = new Set<string>();
  const compliance = {
    latestErasure: async () => latest,
    account: async (username: string) => {
      lookups.push(username);
      if (failing.has(username)) throw new Error("database unavailable");
      if (!accounts.has(username)) return null;
      return { username, createdAt: created?.get(username) ?? 0 } as unknown as AccountRecord;
    },
  };
  let sessions = 0;
  const connect = (username: string, authenticatedAt = 1) => {
    const target = new Target();
    sessions += 1;
    const tokenId = `${username}-token-${sessions}`;
    tokens.add(tokenId);
    hub.add(username, target, { tokenId, expiresAt: Number.MAX_SAFE_INTEGER, authenticatedAt });
    return { target, tokenId };
  };
  return {
    deps: {
      compliance,
      hub,
      log: pino({ level: "silent" }),
      tokenAlive: async (tokenId: string) => tokens.has(tokenId),
    },
    connect: (username: string) => connect(username).target,
    connectAt: connect,
    tokens,
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

test("a re-claimed name: the erased holder's session (opened before the new account, token gone) is closed, the new holder's kept", async () => {
  // The cooling-off period may be 0 (compliance.erasure_cooling_off_days): the name is claimed again
  // before the watch's next look, so "no account" never shows — the session would stay open and get the
  // new account's wake-ups and mailbox.
  const accounts = new Map([["alice", 1500]]);
  const { deps, connectAt, tokens, erase } = setUp(accounts);
  const old = connectAt("alice", 500);
  tokens.delete(old.tokenId); // the erasure deleted the old account's tokens
  const fresh = connectAt("alice", 2000);
  // A session that began authenticating a moment before the account's creation on another relay's
  // clock, its token alive: never ended on a clock comparison alone.
  const skewed = connectAt("alice", 1400);
  erase(1000);
  assert.equal(await checkErasures(deps, null), 1000);
  assert.deepEqual(old.target.closed, { code: 4401, reason: ACCOUNT_ERASED });
  assert.equal(fresh.target.closed, null);
  assert.equal(skewed.target.closed, null);
});

test("a session that joins just after the look that saw the erasure is closed by the next looks", async () => {
  const accounts = new Set(["erin"]);
  const { deps, connect, erase } = setUp(accounts);
  accounts.delete("erin");
  erase(3000);
  const stop = startErasureWatch(deps);
  try {
    // The first look runs at once and sees the tombstone with nobody connected; erin's connection
    // (its token looked up before the erasure) joins the hub right after.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const erin = connect("erin");
    for (let i = 0; i < 40 && erin.closed === null; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(erin.closed, { code: 4401, reason: ACCOUNT_ERASED });
  } finally {
    stop();
  }
});
