import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import fc from "fast-check";
import { MAX_BATCH } from "../../src/client/local-store/local-commit-queue.ts";
import {
  type LocalStore,
  type LocalTables,
  LocalStore as Store,
} from "../../src/client/local-store/local-store.ts";
import { randomBytes, SUITE_IDS, toHex } from "../../src/crypto/index.ts";
import { ChildProgress } from "./_child-progress.ts";
import { withLocalStore, withTempDir } from "./_helpers.ts";

const BATCH_WRITER = new URL("./fixtures/batch-session-writer.ts", import.meta.url).pathname;

// Group commit of the client's local store (docs/client.md "Local store sealing", last paragraphs):
// transactions queued together share one BEGIN IMMEDIATE ... COMMIT, each work in its own savepoint.
// Everything here runs against a real SQLite file and checks what a fresh connection or a reopened
// store finds on disk; batching is observed through the store's commit counters, never through time.

const withStore = withLocalStore;

function insert(tables: LocalTables, id: string): boolean {
  return tables.insertOutbox({
    clientMessageId: id,
    recipient: "bob",
    envelope: randomBytes(40),
    createdAt: 1,
  });
}

function outboxIds(tables: LocalTables): string[] {
  return tables.listOutbox().map((entry) => entry.clientMessageId);
}

/** What a separate connection (another process, or this one after a crash) reads from the file. */
function idsOnDisk(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT client_message_id AS id FROM outbox ORDER BY seq").all();
    return rows.map((row) => String(row.id));
  } finally {
    db.close();
  }
}

async function reopenedIds(store: LocalStore, path: string, key: Uint8Array): Promise<string[]> {
  await store.close();
  const reopened = await Store.open(path, key);
  try {
    return await reopened.read(outboxIds);
  } finally {
    await reopened.close();
  }
}

function delta(
  store: LocalStore,
  before: { commits: number; works: number },
): { commits: number; works: number } {
  const after = store.commitStats();
  return { commits: after.commits - before.commits, works: after.works - before.works };
}

test("transactions queued together share one commit, and each resolves only once all of it is on disk", () =>
  withStore(async (store, path) => {
    const before = store.commitStats();
    const ids = Array.from({ length: 10 }, (_, index) => `m-${index}`);
    const seenAtFirstResolve: string[][] = [];
    const results = await Promise.all(
      ids.map((id, index) => {
        const done = store.transaction(async (tables) => {
          await Promise.resolve();
          insert(tables, id);
          return index;
        });
        // The first caller resumes only after the shared COMMIT: the others' rows are already durable.
        if (index > 0) return done;
        return done.then((value) => {
          seenAtFirstResolve.push(idsOnDisk(path));
          return value;
        });
      }),
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(delta(store, before), { commits: 1, works: 10 });
    assert.deepEqual(seenAtFirstResolve, [ids]);
    assert.deepEqual(idsOnDisk(path), ids, "a fresh connection sees every row once the promises resolved");
  }));

test("callers whose I/O completed in the same event-loop turn join the same commit", () =>
  withStore(async (store, path) => {
    const before = store.commitStats();
    // Five callbacks of one check phase, like several responses or pushes handled back to back: the
    // first transaction alone at the head waits one turn, so the other four join it.
    const done = await Promise.all(
      [0, 1, 2, 3, 4].map(
        (index) =>
          new Promise<boolean>((resolve, reject) => {
            setImmediate(() => {
              store.transaction((tables) => insert(tables, `t-${index}`)).then(resolve, reject);
            });
          }),
      ),
    );
    assert.deepEqual(done, [true, true, true, true, true]);
    assert.deepEqual(delta(store, before), { commits: 1, works: 5 });
    assert.deepEqual(idsOnDisk(path), ["t-0", "t-1", "t-2", "t-3", "t-4"]);
  }));

test("a work that throws mid-batch leaves no trace, its siblings persist, and none of them saw its writes", () =>
  withStore(async (store, path, key) => {
    const before = store.commitStats();
    const failure = new Error("the second work fails after writing");
    const seenByThird: unknown[] = [];
    const first = store.transaction((tables) => insert(tables, "a"));
    const second = store.transaction(async (tables) => {
      insert(tables, "b");
      tables.putContact({
        username: "mallory",
        identityRecord: randomBytes(48),
        pinnedSuite: SUITE_IDS.hybrid,
        verified: false,
        safetyNumberConfirmedAt: null,
        identityChanged: false,
        addedAt: 1,
        updatedAt: 1,
      });
      await new Promise((resolve) => setImmediate(resolve));
      throw failure;
    });
    const third = store.transaction((tables) => {
      seenByThird.push(tables.getOutbox("b"), tables.getContact("mallory"), outboxIds(tables));
      return insert(tables, "c");
    });
    assert.equal(await first, true);
    await assert.rejects(second, (error) => error === failure);
    assert.equal(await third, true);
    assert.deepEqual(seenByThird, [null, null, ["a"]]);
    assert.deepEqual(delta(store, before), { commits: 1, works: 3 });
    assert.deepEqual(idsOnDisk(path), ["a", "c"]);
    assert.deepEqual(await reopenedIds(store, path, key), ["a", "c"]);
    const reopened = await Store.open(path, key);
    try {
      assert.equal(await reopened.getContact("mallory"), null);
    } finally {
      await reopened.close();
    }
  }));

test("effects follow call order; reads and relaxed ops between transactions see exactly the earlier writes", () =>
  withStore(async (store, path) => {
    const before = store.commitStats();
    const calls = [
      store.transaction((tables) => insert(tables, "a")),
      store.transaction((tables) => insert(tables, "b")),
      store.read(outboxIds),
      store.relaxed((tables) => tables.removeOutbox("a")),
      store.read(outboxIds),
      store.transaction(async (tables) => {
        await Promise.resolve();
        return insert(tables, "c");
      }),
      store.read((tables) => tables.getOutbox("c")?.clientMessageId ?? null),
      store.transaction((tables) => insert(tables, "a")),
      store.read(outboxIds),
    ];
    assert.deepEqual(await Promise.all(calls), [
      true,
      true,
      ["a", "b"],
      true,
      ["b"],
      true,
      "c",
      true,
      ["b", "c", "a"],
    ]);
    // All nine were queued before the first ran: one transaction holds them all.
    assert.deepEqual(delta(store, before), { commits: 1, works: 9 });
    assert.deepEqual(idsOnDisk(path), ["b", "c", "a"]);
  }));

test("a batch holds at most MAX_BATCH works; the rest commit in the next one", () =>
  withStore(async (store, path) => {
    const before = store.commitStats();
    const ids = Array.from({ length: MAX_BATCH + 6 }, (_, index) => `m-${String(index).padStart(3, "0")}`);
    await Promise.all(ids.map((id) => store.transaction((tables) => insert(tables, id))));
    assert.deepEqual(delta(store, before), { commits: 2, works: MAX_BATCH + 6 });
    assert.equal(store.commitStats().largestBatch, MAX_BATCH);
    assert.deepEqual(idsOnDisk(path), ids);
  }));

test("relaxed ops alone batch among themselves; a transaction behind them opens its own durable commit", () =>
  withStore(async (store, path) => {
    await store.transaction((tables) => ["a", "b", "c"].map((id) => insert(tables, id)));
    const before = store.commitStats();
    const results = await Promise.all([
      store.relaxed((tables) => tables.removeOutbox("a")),
      store.relaxed((tables) => tables.removeOutbox("b")),
      store.transaction((tables) => insert(tables, "d")),
      store.relaxed((tables) => tables.removeOutbox("c")),
    ]);
    assert.deepEqual(results, [true, true, true, true]);
    // The two relaxed removals (synchronous = NORMAL), then the transaction with the last removal
    // joining its durable commit.
    assert.deepEqual(delta(store, before), { commits: 2, works: 4 });
    assert.equal(await store.synchronousLevel(), 2, "synchronous = FULL is restored after the relaxed batch");
    assert.deepEqual(idsOnDisk(path), ["d"]);
  }));

test("a COMMIT that fails rejects every work of the batch, keeps nothing, and the store goes on", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    await (await Store.open(path, key)).close();
    // A deferred foreign key is checked only at COMMIT: an outbox row named "poison" makes the shared
    // COMMIT itself fail, after every work of the batch succeeded.
    const raw = new DatabaseSync(path);
    raw.exec(`
      CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);
      CREATE TABLE poison_child (parent INTEGER REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON outbox WHEN NEW.client_message_id = 'poison'
        BEGIN INSERT INTO poison_child VALUES (42); END;
    `);
    raw.close();
    const store = await Store.open(path, key);
    try {
      const own = new Error("this work fails on its own");
      const batch = [
        store.transaction((tables) => insert(tables, "a")),
        store.transaction((tables) => insert(tables, "poison")),
        store.transaction(() => {
          throw own;
        }),
        store.relaxed((tables) => insert(tables, "b")),
        store.read((tables) => outboxIds(tables)),
      ];
      const settled = await Promise.allSettled(batch);
      const reasons = settled.map((result) => (result.status === "rejected" ? result.reason : "fulfilled"));
      assert.equal(reasons[2], own, "a work that failed keeps its own error");
      for (const index of [0, 1, 3, 4]) {
        assert.match(String(reasons[index]), /FOREIGN KEY constraint failed/);
      }
      assert.deepEqual(idsOnDisk(path), []);
      assert.equal(await store.transaction((tables) => insert(tables, "after")), true);
      assert.deepEqual(idsOnDisk(path), ["after"]);
    } finally {
      await store.close();
    }
  }));

test("calling the store from inside a work is refused at once instead of waiting for itself", () =>
  withStore(async (store) => {
    const inner: unknown[] = [];
    const value = await store.transaction(async (tables) => {
      insert(tables, "a");
      for (const call of [
        () => store.read(outboxIds),
        () => store.transaction(() => 1),
        () => store.relaxed(() => 1),
      ]) {
        await call().then(
          () => inner.push("ran"),
          (error: unknown) => inner.push(String(error)),
        );
      }
      return "outer";
    });
    assert.equal(value, "outer");
    assert.equal(inner.length, 3);
    for (const message of inner) assert.match(String(message), /inside another one's work/);
    // A work that leaves a promise behind does not poison later calls made from that context.
    let later: Promise<string[]> | undefined;
    await store.transaction(() => {
      later = new Promise((resolve) => setImmediate(resolve)).then(() => store.read(outboxIds));
    });
    assert.deepEqual(await later, ["a"]);
  }));

type Step =
  | {
      readonly kind: "transaction";
      readonly writes: number;
      readonly fails: boolean;
      readonly awaits: boolean;
    }
  | { readonly kind: "relaxed-remove"; readonly pick: number }
  | { readonly kind: "read" }
  | { readonly kind: "settle" };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("transaction" as const),
      writes: fc.integer({ min: 0, max: 3 }),
      fails: fc.boolean(),
      awaits: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("relaxed-remove" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("read" as const) }) },
  // Waits for everything issued so far: batch boundaries fall in different places.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("settle" as const) }) },
);

test("property: random transactions that succeed or throw leave exactly the successful ones, in call order", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArbitrary, { minLength: 1, maxLength: 30 }), (steps) =>
      withStore(async (store, path, key) => {
        let model: string[] = [];
        let next = 0;
        const pending: Promise<void>[] = [];
        for (const step of steps) {
          if (step.kind === "settle") {
            await Promise.all(pending.splice(0));
            continue;
          }
          if (step.kind === "read") {
            const expected = [...model];
            pending.push(store.read(outboxIds).then((ids) => assert.deepEqual(ids, expected)));
            continue;
          }
          if (step.kind === "relaxed-remove") {
            const target = model.length === 0 ? "absent" : model[step.pick % model.length]!;
            const present = model.includes(target);
            model = model.filter((id) => id !== target);
            pending.push(
              store
                .relaxed((tables) => tables.removeOutbox(target))
                .then((removed) => assert.equal(removed, present)),
            );
            continue;
          }
          const ids = Array.from({ length: step.writes }, () => `m-${next++}`);
          const expectedBefore = [...model];
          const failure = new Error("work failed");
          const done = store.transaction(async (tables) => {
            assert.deepEqual(outboxIds(tables), expectedBefore, "a work sees exactly the earlier successes");
            for (const id of ids) {
              insert(tables, id);
              if (step.awaits) await Promise.resolve();
            }
            if (step.fails) throw failure;
            return ids.length;
          });
          if (step.fails) {
            pending.push(
              done.then(
                () => assert.fail("a failing work resolved"),
                (error: unknown) => assert.equal(error, failure),
              ),
            );
          } else {
            model = [...model, ...ids];
            pending.push(done.then((count) => assert.equal(count, ids.length)));
          }
        }
        await Promise.all(pending);
        assert.deepEqual(idsOnDisk(path), model);
        assert.deepEqual(await reopenedIds(store, path, key), model);
      }),
    ),
    { numRuns: 40 },
  );
});

// Sessions within a batch (batch-sessions.ts): read once, written once, with the batch's last state.
const BOB_SESSION = new TextEncoder().encode("contact-sessions:bob");

function advance(tables: LocalTables, id: string): number {
  const state = tables.getSessions("bob")[0]?.state;
  const next = (state === undefined ? 0 : Number(new TextDecoder().decode(state))) + 1;
  tables.putSession({
    sessionId: BOB_SESSION,
    peer: "bob",
    state: new TextEncoder().encode(String(next)),
    updatedAt: next,
    archived: false,
  });
  insert(tables, id);
  return next;
}

test("a session every work of a batch advances is written once, with the last state, beside every entry", () =>
  withStore(async (store, path, key) => {
    await store.transaction((tables) => advance(tables, "m-1"));
    const counter = await store.read((tables) => tables.stateVersion());
    const before = store.commitStats();
    const ids = Array.from({ length: 8 }, (_, index) => `m-${index + 2}`);
    const positions = await Promise.all(ids.map((id) => store.transaction((tables) => advance(tables, id))));
    assert.deepEqual(positions, [2, 3, 4, 5, 6, 7, 8, 9], "each work read the state the one before wrote");
    assert.deepEqual(delta(store, before), { commits: 1, works: 8 });
    assert.equal(
      await store.read((tables) => tables.stateVersion()),
      counter + 1,
      "the session row was written once for the batch (one raise of the state counter), not per work",
    );
    assert.deepEqual(idsOnDisk(path), ["m-1", ...ids]);
    await store.close();
    const reopened = await Store.open(path, key);
    try {
      const [session] = await reopened.read((tables) => tables.getSessions("bob"));
      assert.equal(new TextDecoder().decode(session?.state), "9");
    } finally {
      await reopened.close();
    }
  }));

test("a batch whose COMMIT fails keeps none of its session writes, in memory or on disk", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    await (await Store.open(path, key)).close();
    // As above: an outbox row named "poison" makes the shared COMMIT fail after the works succeeded.
    const raw = new DatabaseSync(path);
    raw.exec(`
      CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);
      CREATE TABLE poison_child (parent INTEGER REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON outbox WHEN NEW.client_message_id = 'poison'
        BEGIN INSERT INTO poison_child VALUES (42); END;
    `);
    raw.close();
    const store = await Store.open(path, key);
    try {
      await store.transaction((tables) => advance(tables, "m-1"));
      const settled = await Promise.allSettled([
        store.transaction((tables) => advance(tables, "m-2")),
        store.transaction((tables) => advance(tables, "poison")),
      ]);
      assert.deepEqual(
        settled.map((outcome) => outcome.status),
        ["rejected", "rejected"],
      );
      // Alone at the head, outside any batch: what it reads is the rows, not a lost batch's memory.
      const state = await store.read((tables) => tables.getSessions("bob")[0]?.state);
      assert.equal(new TextDecoder().decode(state), "1");
      assert.equal(await store.transaction((tables) => advance(tables, "m-2")), 2);
    } finally {
      await store.close();
    }
  }));

test("SIGKILL during batches of session-advancing works, 10 times: every chain position used by exactly one committed entry", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    let reported = 0;
    for (let iteration = 0; iteration < 10; iteration += 1) {
      const child = spawn(process.execPath, [BATCH_WRITER, path, toHex(key)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const progress = new ChildProgress(child, (line) => {
        if (line !== "ready") reported = Math.max(reported, Number(line));
      });
      await progress.killWithinNextStep(child, 3);
    }
    const store = await Store.open(path, key);
    try {
      const { position, ids } = await store.read((tables) => ({
        position: Number(new TextDecoder().decode(tables.getSessions("bob")[0]?.state)),
        ids: outboxIds(tables),
      }));
      assert.ok(reported >= 30, `each run committed rounds before it was killed (reported ${reported})`);
      assert.ok(
        position >= reported,
        `position ${position} is behind the reported ${reported}: a commit was lost`,
      );
      // No chain position was used twice or skipped: each committed entry has its own, in order.
      assert.deepEqual(
        ids,
        Array.from({ length: position }, (_, index) => `m-${index + 1}`),
      );
    } finally {
      await store.close();
    }
  }));

test("two processes batching on one home, SIGKILLed together 4 times: no chain position used by both, none lost", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    await (await Store.open(path, key)).close();
    for (let iteration = 0; iteration < 4; iteration += 1) {
      // Each batch reads the session once, under its BEGIN IMMEDIATE lock: the other process's
      // commits in between must be seen, never a held or remembered older state.
      const children = ["a", "b"].map((tag) => {
        const child = spawn(process.execPath, [BATCH_WRITER, path, toHex(key), tag], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        return { child, progress: new ChildProgress(child) };
      });
      await Promise.all(children.map(({ child, progress }) => progress.killWithinNextStep(child, 4)));
    }
    const store = await Store.open(path, key);
    try {
      const { position, ids } = await store.read((tables) => ({
        position: Number(new TextDecoder().decode(tables.getSessions("bob")[0]?.state)),
        ids: outboxIds(tables),
      }));
      const positions = ids.map((id) => Number(id.split("-")[1])).sort((a, b) => a - b);
      assert.ok(new Set(ids.map((id) => id.split("-")[0])).size === 2, "both processes committed");
      assert.deepEqual(
        positions,
        Array.from({ length: position }, (_, index) => index + 1),
        "each chain position used by exactly one committed entry of either process",
      );
    } finally {
      await store.close();
    }
  }));

// The attack on batch-sessions.ts: sends, session restarts (a new first contact), removals of every
// session of the peer (contacts remove, an identity change) and reads, some of them failing after
// their writes, interleaved in batches on one peer, with close() called while the last batch is queued.
// A model applies only the works that succeeded, in call order: every send's chain position, what each
// read saw, and what the reopened file holds must match it (no position used twice, none lost).
type SessionOp = { readonly kind: "send" | "restart" | "remove" | "read"; readonly fails: boolean };

const sessionOp: fc.Arbitrary<SessionOp> = fc.record({
  kind: fc.constantFrom("send", "send", "restart", "remove", "read"),
  fails: fc.boolean(),
});

interface ModelSession {
  readonly id: string;
  readonly position: number;
  readonly updatedAt: number;
}

function current(sessions: readonly ModelSession[]): ModelSession | undefined {
  return [...sessions].sort((a, b) => b.updatedAt - a.updatedAt)[0];
}

test("property: sends, restarts, removals and reads of one peer, some failing, in batches and across close(), match a model", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(sessionOp, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      async (batches) => {
        await withTempDir(async (dir) => {
          const path = join(dir, "local.db");
          const key = randomBytes(32);
          const store = await Store.open(path, key);
          let model: ModelSession[] = [];
          let tick = 0;
          let closed: Promise<void> | null = null;
          try {
            for (const [index, ops] of batches.entries()) {
              const works = ops.map((op) => {
                tick += 1;
                const at = tick;
                const restartId = toHex(randomBytes(8));
                const messageId = `m-${at}`;
                const work = (tables: LocalTables): string => {
                  const sessions = tables.getSessions("bob");
                  let seen: string;
                  if (op.kind === "send") {
                    const session = sessions[0];
                    if (session === undefined) seen = "none";
                    else {
                      const position = Number(new TextDecoder().decode(session.state)) + 1;
                      tables.putSession({
                        ...session,
                        state: new TextEncoder().encode(String(position)),
                        updatedAt: at,
                      });
                      insert(tables, messageId);
                      seen = `${toHex(session.sessionId)}:${position}`;
                    }
                  } else if (op.kind === "restart") {
                    tables.putSession({
                      sessionId: new TextEncoder().encode(restartId),
                      peer: "bob",
                      state: new TextEncoder().encode("1"),
                      updatedAt: at,
                      archived: false,
                    });
                    seen = "restarted";
                  } else if (op.kind === "remove") {
                    for (const session of sessions) tables.deleteSession(session.sessionId);
                    seen = `removed ${sessions.length}`;
                  } else {
                    const session = sessions[0];
                    seen =
                      session === undefined
                        ? "none"
                        : `${toHex(session.sessionId)}:${new TextDecoder().decode(session.state)}`;
                  }
                  if (op.fails) throw new Error("the work failed after its writes");
                  return seen;
                };
                // What the model says this work sees, applied only if it succeeds.
                const expect = (): string => {
                  if (op.kind === "send") {
                    const session = current(model);
                    if (session === undefined) return "none";
                    const next = { ...session, position: session.position + 1, updatedAt: at };
                    if (!op.fails) model = [...model.filter((s) => s.id !== session.id), next];
                    return `${toHex(new TextEncoder().encode(session.id))}:${next.position}`;
                  }
                  if (op.kind === "restart") {
                    if (!op.fails) model = [...model, { id: restartId, position: 1, updatedAt: at }];
                    return "restarted";
                  }
                  if (op.kind === "remove") {
                    const count = model.length;
                    if (!op.fails) model = [];
                    return `removed ${count}`;
                  }
                  const session = current(model);
                  return session === undefined
                    ? "none"
                    : `${toHex(new TextEncoder().encode(session.id))}:${session.position}`;
                };
                const expected = expect();
                const promise =
                  op.kind === "read" ? store.read(work) : store.transaction((tables) => work(tables));
                return { op, expected, promise, messageId };
              });
              // The last batch is still queued when close() is called: it must commit, not vanish.
              if (index === batches.length - 1) closed = store.close();
              const settled = await Promise.allSettled(works.map((w) => w.promise));
              settled.forEach((outcome, at) => {
                const { op, expected } = works[at]!;
                if (op.fails) assert.equal(outcome.status, "rejected");
                else assert.deepEqual(outcome, { status: "fulfilled", value: expected });
              });
            }
          } finally {
            await (closed ?? store.close());
          }
          const reopened = await Store.open(path, key);
          try {
            const onDisk = await reopened.read((tables) =>
              tables
                .getSessions("bob")
                .map((s) => `${new TextDecoder().decode(s.sessionId)}:${new TextDecoder().decode(s.state)}`)
                .sort(),
            );
            assert.deepEqual(onDisk, model.map((s) => `${s.id}:${s.position}`).sort());
          } finally {
            await reopened.close();
          }
        });
      },
    ),
    { numRuns: 25 },
  );
});
