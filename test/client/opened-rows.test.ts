import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import fc from "fast-check";
import {
  type ContactRecord,
  LocalStore,
  type SessionRecord,
} from "../../src/client/local-store/local-store.ts";
import { OpenedRows } from "../../src/client/local-store/opened-rows.ts";
import { fromHex, randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import {
  activeSessionSuite,
  decodeContactSessions,
  encodeContactSessions,
} from "../../src/protocol/index.ts";
import { withTempDir } from "./_helpers.ts";

/**
 * The memory of opened rows (src/client/local-store/opened-rows.ts) may only ever save work: whatever another
 * writer, a rollback or an edit of the file did, a read returns what the row holds now, authenticated.
 */
function contact(username: string, pin: number = SUITE_IDS.hybrid): ContactRecord {
  return {
    username,
    identityRecord: randomBytes(48),
    pinnedSuite: pin as ContactRecord["pinnedSuite"],
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: 1,
    updatedAt: 1,
  };
}

function session(peer: string, state: Uint8Array, updatedAt = 1): SessionRecord {
  return { sessionId: new TextEncoder().encode(`s:${peer}`), peer, state, updatedAt, archived: false };
}

async function withTwoStores<T>(run: (a: LocalStore, b: LocalStore, path: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const a = await LocalStore.open(path, key);
    const b = await LocalStore.open(path, key);
    try {
      return await run(a, b, path);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}

test("OpenedRows: a hit needs the same sealed bytes, hands out copies, evicts the oldest, clear wipes", () => {
  const rows = new OpenedRows<{ secret: Uint8Array; n: number }>(2);
  const sealed = randomBytes(40);
  const secret = Uint8Array.of(1, 2, 3);
  rows.set("a", sealed, { secret, n: 1 });
  secret.fill(9); // the caller's buffer is not the remembered one
  const first = rows.get("a", Uint8Array.from(sealed));
  assert.deepEqual(first, { secret: Uint8Array.of(1, 2, 3), n: 1 });
  first!.secret.fill(0); // a caller wiping what it got changes nothing for the next one
  assert.deepEqual(rows.get("a", sealed)?.secret, Uint8Array.of(1, 2, 3));
  const other = Uint8Array.from(sealed);
  other[39]! ^= 1;
  assert.equal(rows.get("a", other), undefined, "one flipped bit is another row");
  assert.equal(rows.get("a", sealed), undefined, "and the stale entry is gone");
  rows.set("a", sealed, { secret: Uint8Array.of(1), n: 1 });
  rows.set("b", sealed, { secret: Uint8Array.of(2), n: 2 });
  rows.get("a", sealed); // a is now the most recently used
  rows.set("c", sealed, { secret: Uint8Array.of(3), n: 3 });
  assert.equal(rows.size, 2);
  assert.equal(rows.get("b", sealed), undefined, "the least recently used entry was evicted");
  rows.clear();
  assert.equal(rows.size, 0);
});

test("a row written by another connection is read afresh, not from memory", () =>
  withTwoStores(async (a, b) => {
    await a.putContact(contact("carol", SUITE_IDS.hybrid));
    assert.equal((await a.getContact("carol"))?.pinnedSuite, SUITE_IDS.hybrid);
    assert.equal((await b.getContact("carol"))?.pinnedSuite, SUITE_IDS.hybrid);
    await b.putContact(contact("carol", SUITE_IDS.quantum));
    assert.equal((await a.getContact("carol"))?.pinnedSuite, SUITE_IDS.quantum);

    await a.putSession(session("carol", Uint8Array.of(1)));
    assert.deepEqual((await b.getSessions("carol"))[0]?.state, Uint8Array.of(1));
    await b.putSession(session("carol", Uint8Array.of(2), 2));
    assert.deepEqual((await a.getSessions("carol"))[0]?.state, Uint8Array.of(2));
  }));

test("a write rolled back with its transaction is not read back from memory", () =>
  withTwoStores(async (a) => {
    await a.putSession(session("dave", Uint8Array.of(1)));
    await assert.rejects(
      a.transaction((tables) => {
        tables.putSession(session("dave", Uint8Array.of(2), 2));
        assert.deepEqual(tables.getSessions("dave")[0]?.state, Uint8Array.of(2), "visible inside");
        throw new Error("abort");
      }),
      /abort/,
    );
    assert.deepEqual((await a.getSessions("dave"))[0]?.state, Uint8Array.of(1));
  }));

test("a row edited in the file after it was read fails authentication; it is not served from memory", () =>
  withTwoStores(async (a, _b, path) => {
    await a.putContact(contact("erin"));
    await a.getContact("erin");
    const raw = new DatabaseSync(path);
    try {
      const row = raw.prepare("SELECT handle, record FROM contacts").get() as {
        handle: Uint8Array;
        record: Uint8Array;
      };
      const edited = Uint8Array.from(row.record);
      edited[edited.length - 1]! ^= 1;
      raw.prepare("UPDATE contacts SET record = ? WHERE handle = ?").run(edited, row.handle);
    } finally {
      raw.close();
    }
    await assert.rejects(a.getContact("erin"), (e: unknown) => NanoError.is(e, "local_record_tampered"));
  }));

test("callers that change what they read cannot change the next read", () =>
  withTwoStores(async (a) => {
    await a.putSession(session("frank", Uint8Array.of(7, 7, 7)));
    const first = (await a.getSessions("frank"))[0]!;
    first.state.fill(0);
    assert.deepEqual((await a.getSessions("frank"))[0]?.state, Uint8Array.of(7, 7, 7));
  }));

test("activeSessionSuite reads the same suite decodeContactSessions finds, and refuses what it cannot read", () => {
  assert.equal(activeSessionSuite(encodeContactSessions({ active: null, archived: [] })), null);
  const golden = goldenSessionRecords();
  assert.ok(golden.length > 0, "golden session records exist to compare against");
  for (const record of golden) {
    assert.equal(activeSessionSuite(record), decodeContactSessions(provider, record).active?.suiteId ?? null);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
      try {
        activeSessionSuite(bytes);
      } catch (error) {
        assert.ok(NanoError.is(error), "only typed errors");
      }
    }),
    { numRuns: 300 },
  );
});

/** Contact-sessions records written by the protocol itself: every receiver state of the golden transcripts. */
function goldenSessionRecords(): Uint8Array[] {
  const records: Uint8Array[] = [];
  for (const suite of ["classical", "hybrid", "quantum"]) {
    const transcript = JSON.parse(
      readFileSync(new URL(`../golden/${suite}.json`, import.meta.url), "utf8"),
    ) as { steps: { receiverSessions: string; receiverBefore: string | null }[] };
    for (const step of transcript.steps) {
      records.push(fromHex(step.receiverSessions));
      if (step.receiverBefore !== null) records.push(fromHex(step.receiverBefore));
    }
  }
  return records;
}

test("no prekey secret, and no deleted session, stays in the opened-rows memory", async () => {
  const instances = new Set<OpenedRows<unknown>>();
  const originalSet = OpenedRows.prototype.set;
  OpenedRows.prototype.set = function (
    this: OpenedRows<unknown>,
    ...args: Parameters<OpenedRows<unknown>["set"]>
  ) {
    instances.add(this);
    return originalSet.apply(this, args);
  };
  try {
    await withTempDir(async (dir) => {
      const store = await LocalStore.open(join(dir, "local.db"), randomBytes(32));
      try {
        const id = randomBytes(16);
        const secret = randomBytes(32);
        await store.transaction((tables) =>
          tables.putPrekeySecret({
            id,
            suite: SUITE_IDS.hybrid,
            role: "one-time",
            secret,
            createdAt: 1,
            expiresAt: 2,
            lastResort: false,
          }),
        );
        await store.transaction((tables) => {
          assert.notEqual(tables.getPrekeySecret(id), null);
          assert.equal(tables.deletePrekeySecret(id), true);
          assert.equal(tables.getPrekeySecret(id), null);
        });
        const remembered = () => [...instances].reduce((sum, rows) => sum + rows.size, 0);
        assert.equal(remembered(), 0, `the consumed secret is still held in memory (${remembered()} row(s))`);
        const sessionId = randomBytes(16);
        await store.transaction((tables) =>
          tables.putSession({
            sessionId,
            peer: "bob",
            state: randomBytes(64),
            updatedAt: 1,
            archived: false,
          }),
        );
        assert.equal(remembered(), 1, "a written session is remembered");
        await store.transaction((tables) => {
          assert.equal(tables.deleteSession(sessionId), true);
        });
        assert.equal(remembered(), 0, "and forgotten with its row");
      } finally {
        await store.close();
      }
    });
  } finally {
    OpenedRows.prototype.set = originalSet;
  }
});
