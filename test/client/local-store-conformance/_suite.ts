/**
 * One suite of local store behaviour (STYLE.md 7: every real adapter passes one shared conformance
 * suite), run against the SQLite LocalStore in Node (local-store-conformance.test.ts) and against the
 * IndexedDB store in Chromium (test/browser/idb-store.test.ts, through pages/store-suite). Nothing here
 * imports `node:`: the page bundles it.
 */
import type {
  ContactRecord,
  IntentRecord,
  PrekeySecretRecord,
  QuarantinedMessage,
  ReceivedMessage,
  SentMessage,
  SessionRecord,
} from "../../../src/client/local-store/local-records.ts";
import { type LocalStoreApi, REDELIVERY_WINDOW_MS } from "../../../src/client/local-store/local-tables.ts";
import { equal, ok, rejectsWith } from "./_check.ts";

/** Tables a subject can tamper with, and how. */
export type TamperTable = "contacts" | "sessions" | "outbox" | "received" | "sent" | "meta";
export type TamperAction =
  | "flip-byte"
  | "swap-records"
  | "truncate"
  | "reseal-foreign"
  /** Removes the clear `expires_at` column's value (tables with timers only). */
  | "clear-expiry"
  /** Deletes the store's key-check row (table "meta" only). */
  | "delete-key-check";

/**
 * What "reseal-foreign" seals, under the right key, table and row key: valid JSON that is no record of
 * any table (what a foreign writer holding the key could leave): it authenticates and must still fail.
 */
export const FOREIGN_PLAINTEXT: Uint8Array = new TextEncoder().encode('{"v":2,"username":"mallory"}');

/** One store implementation, fresh for every case. */
export interface StoreSubject {
  /** Opens (or reopens) this case's store; `databaseKey` overrides the case's key. */
  open(databaseKey?: Uint8Array): Promise<LocalStoreApi>;
  /**
   * With the store closed: changes the stored sealed bytes of `table` underneath it — one byte of the
   * first row's record, the records of its first two rows swapped, the first row cut short, or the
   * first row's record replaced by FOREIGN_PLAINTEXT sealed properly for its place; or, with
   * "clear-expiry", every row's clear expiry column removed (the sealed records left as they are).
   */
  tamper(table: TamperTable, action: TamperAction): Promise<void>;
}

export interface ConformanceCase {
  readonly name: string;
  run(subject: StoreSubject): Promise<void>;
}

type TablesOf = Parameters<Parameters<LocalStoreApi["read"]>[0]>[0];

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);

function contact(username: string, at = 1000): ContactRecord {
  return {
    username,
    identityRecord: filled(40, username.length),
    pinnedSuite: 2,
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: at,
    updatedAt: at,
  };
}

function session(id: number, peer: string, updatedAt: number): SessionRecord {
  return { sessionId: filled(16, id), peer, state: filled(300, id + 1), updatedAt, archived: false };
}

function prekey(id: number): PrekeySecretRecord {
  return {
    id: bytes(0, 2, 0, 0, 0, id),
    suite: 2,
    role: "one-time",
    secret: filled(64, id),
    createdAt: 10,
    expiresAt: 99_999,
    lastResort: false,
  };
}

function received(messageId: string, sender: string, at: number, contentType = "text"): ReceivedMessage {
  return {
    messageId,
    sender,
    contentType,
    body: new TextEncoder().encode(`from ${sender} at ${at}`),
    receivedAt: at,
    suite: 2,
    sentAt: at - 1,
    contentId: "ab12",
  };
}

function sent(clientMessageId: string, recipient: string, at: number): SentMessage {
  return {
    clientMessageId,
    recipient,
    contentType: "text",
    body: new TextEncoder().encode(`to ${recipient} at ${at}`),
    sentAt: at,
    contentId: "cd34",
    suite: 2,
  };
}

function intent(clientMessageId: string): IntentRecord {
  return {
    clientMessageId,
    contentId: "ef56",
    recipient: "carol",
    text: null,
    file: { name: "a.bin", bytes: filled(2000, 7) },
    cryptoMode: "quantum",
    createdAt: 500,
  };
}

function quarantined(messageId: string): QuarantinedMessage {
  return {
    messageId,
    from: "mallory",
    envelope: filled(120, 9),
    code: "decrypt_failed",
    message: "the envelope did not open",
    firstContact: true,
    quarantinedAt: 777,
  };
}

/** What every case's store holds after `fill` (one row or more of every table). */
async function fill(store: LocalStoreApi): Promise<void> {
  await store.transaction((tables) => {
    tables.putContact(contact("bob"));
    tables.putContact({ ...contact("alice", 2000), verified: true, changedIdentityRecord: filled(8, 3) });
    tables.putSession(session(1, "bob", 100));
    tables.putSession(session(2, "bob", 300));
    tables.putSession(session(3, "alice", 200));
    tables.putPrekeySecret(prekey(1));
    tables.putPrekeySecret(prekey(2));
    tables.rememberReplay(filled(32, 1), 5000);
    tables.insertOutbox({
      clientMessageId: "m-1",
      recipient: "bob",
      envelope: filled(500, 1),
      createdAt: 10,
    });
    tables.insertOutbox({
      clientMessageId: "m-2",
      recipient: "alice",
      envelope: filled(500, 2),
      createdAt: 20,
    });
    tables.insertSent(sent("m-1", "bob", 10));
    tables.insertReceived(received("r-1", "bob", 15));
    tables.insertReceived(received("r-2", "alice", 25));
    tables.insertReceived(received("r-3", "bob", 30, "receipt"));
    tables.insertIntent(intent("i-1"));
    tables.quarantine(quarantined("q-1"));
    tables.putSecretMeta("own-identity", filled(33, 4));
  });
}

async function expectFilled(store: LocalStoreApi, what: string): Promise<void> {
  await store.read((tables) => {
    equal(tables.getContact("bob"), contact("bob"), `${what}: contact bob`);
    equal(
      tables.listContacts().map((c) => c.username),
      ["alice", "bob"],
      `${what}: contacts sorted by username`,
    );
    equal(tables.getContact("alice")?.changedIdentityRecord, filled(8, 3), `${what}: optional bytes field`);
    equal(tables.getContact("nobody"), null, `${what}: an unknown contact`);
    const bobs = tables.getSessions("bob");
    equal(
      bobs.map((s) => s.sessionId),
      [filled(16, 2), filled(16, 1)],
      `${what}: bob's sessions, most recently updated first`,
    );
    equal(bobs[0]?.state, filled(300, 3), `${what}: session state`);
    equal(tables.getSessions("alice").length, 1, `${what}: alice's sessions`);
    equal(tables.stateVersion(), 3, `${what}: the state counter counts session writes`);
    equal(
      bobs.map((s) => s.stateVersion),
      [2, 1],
      `${what}: sessions are stamped with the counter they were written under`,
    );
    equal(tables.getPrekeySecret(prekey(2).id), prekey(2), `${what}: prekey by id`);
    equal(tables.listPrekeySecrets().length, 2, `${what}: prekeys listed`);
    ok(tables.hasReplay(filled(32, 1)), `${what}: the replay digest is remembered`);
    ok(!tables.hasReplay(filled(32, 2)), `${what}: another digest is not`);
    equal(
      tables.listOutbox().map((e) => [e.clientMessageId, e.recipient, e.envelope.length, e.attempts]),
      [
        ["m-1", "bob", 500, 0],
        ["m-2", "alice", 500, 0],
      ],
      `${what}: outbox in send order`,
    );
    equal(tables.getOutbox("m-2")?.envelope, filled(500, 2), `${what}: outbox envelope`);
    equal(
      tables.listReceived().map((m) => m.messageId),
      ["r-1", "r-2", "r-3"],
      `${what}: received in arrival order`,
    );
    equal(
      tables.listReceived()[0],
      { seq: tables.listReceived()[0]!.seq, ...received("r-1", "bob", 15) },
      `${what}: received record`,
    );
    ok(tables.hasReceived("r-2"), `${what}: received by message id`);
    equal(
      tables.listIntents()[0],
      { ...intent("i-1"), attempts: 0, lastError: null },
      `${what}: intent with its file`,
    );
    equal(tables.listQuarantine(), [quarantined("q-1")], `${what}: quarantine`);
    equal(tables.getSecretMeta("own-identity"), filled(33, 4), `${what}: meta value`);
    equal(tables.getSecretMeta("nothing"), null, `${what}: an unknown meta name`);
    equal(
      tables
        .listPendingSent()
        .map(({ entry, sent: s }) => [entry.clientMessageId, s?.clientMessageId ?? null]),
      [
        ["m-1", "m-1"],
        ["m-2", null],
      ],
      `${what}: the outbox joined with what was sent`,
    );
  });
}

/** A message with a timer: `expiresAt` is its sealed deadline. */
function expiring<T extends ReceivedMessage | SentMessage>(message: T, expiresAt: number): T {
  return { ...message, expireAfterSeconds: 1, expiresAt };
}

/** Opening a store sweeps by the real clock: expiry cases put their deadlines after it. */
const HOUR_MS = 3_600_000;

export const CONFORMANCE_CASES: readonly ConformanceCase[] = Object.freeze([
  {
    name: "every record type round-trips, and a reopened store holds all of it",
    async run(subject) {
      const store = await subject.open();
      await fill(store);
      await expectFilled(store, "before reopening");
      await store.close();
      const reopened = await subject.open();
      await expectFilled(reopened, "after reopening");
      await reopened.close();
    },
  },
  {
    name: "a throwing work writes nothing, and the works around it commit",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => tables.putContact(contact("before")));
      const failure = new Error("the work failed half-way");
      let caught: unknown;
      try {
        await store.transaction(async (tables) => {
          tables.putContact(contact("carol"));
          tables.putSession(session(9, "carol", 1));
          tables.insertOutbox({
            clientMessageId: "lost",
            recipient: "carol",
            envelope: filled(10, 1),
            createdAt: 1,
          });
          tables.deleteContact("before");
          await Promise.resolve();
          throw failure;
        });
      } catch (error) {
        caught = error;
      }
      ok(caught === failure, "the transaction rejects with the work's own error");
      await store.transaction((tables) => tables.putContact(contact("after")));
      const check = (opened: LocalStoreApi, what: string) =>
        opened.read((tables) => {
          equal(
            tables.listContacts().map((c) => c.username),
            ["after", "before"],
            `${what}: contacts`,
          );
          equal(tables.getSessions("carol"), [], `${what}: no session of the failed work`);
          equal(tables.countOutbox(), 0, `${what}: no outbox entry of the failed work`);
          equal(tables.stateVersion(), 0, `${what}: the failed work's counter raise is undone`);
        });
      await check(store, "in the open store");
      await store.close();
      const reopened = await subject.open();
      await check(reopened, "after reopening");
      await reopened.close();
    },
  },
  {
    name: "a work that calls the store itself is refused at once instead of waiting for itself",
    async run(subject) {
      const store = await subject.open();
      let inner: Promise<string> | undefined;
      await store.transaction((tables) => {
        tables.putContact(contact("bob"));
        inner = store
          .read((other) => other.listContacts().length)
          .then(
            () => "ran",
            (error: Error) => error.message,
          );
      });
      ok((await inner!).includes("inside another one's work"), `the nested call: ${await inner!}`);
      equal(await store.read((tables) => tables.listContacts().length), 1, "the outer work committed");
      await store.close();
    },
  },
  {
    name: "records are handed out as copies: wiping what a read returned changes nothing stored",
    async run(subject) {
      const store = await subject.open();
      const written = session(1, "bob", 5);
      await store.transaction((tables) => tables.putSession(written));
      written.state.fill(0);
      const [first] = await store.read((tables) => tables.getSessions("bob"));
      equal(first?.state, filled(300, 2), "the store kept what was written, not the caller's array");
      first!.state.fill(0);
      const [again] = await store.read((tables) => tables.getSessions("bob"));
      equal(again?.state, filled(300, 2), "a second read is not the wiped copy");
      await store.close();
    },
  },
  {
    name: "works committed together: each reads the session state the one before wrote; a failed one is undone exactly",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.putSession(session(1, "bob", 10));
        tables.putSession(session(3, "alice", 10));
      });
      const at = (n: number, peer: string, updatedAt: number): SessionRecord => ({
        ...session(peer === "bob" ? 1 : 3, peer, updatedAt),
        state: filled(300, n),
      });
      const stateOf = (tables: TablesOf, peer: string) => tables.getSessions(peer).map((s) => s.state);
      const failure = new Error("the third work fails after writing both sessions");
      // Asked for together: a store with group commit runs them as one batch (one COMMIT).
      const settled = await Promise.allSettled([
        store.transaction((tables) => {
          equal(stateOf(tables, "bob"), [filled(300, 2)], "work 1 reads the committed state");
          tables.putSession(at(20, "bob", 11));
        }),
        store.transaction((tables) => {
          equal(stateOf(tables, "bob"), [filled(300, 20)], "work 2 reads work 1's state");
          tables.putSession(at(21, "bob", 12));
          tables.putSession(at(40, "alice", 12));
        }),
        store.transaction(async (tables) => {
          equal(stateOf(tables, "alice"), [filled(300, 40)], "work 3 reads work 2's second session");
          tables.putSession(at(22, "bob", 13));
          tables.deleteSession(filled(16, 3));
          await Promise.resolve();
          throw failure;
        }),
        store.transaction((tables) => {
          equal(stateOf(tables, "bob"), [filled(300, 21)], "work 4 reads work 2's state: work 3 is undone");
          equal(stateOf(tables, "alice"), [filled(300, 40)], "work 3's deletion is undone");
          tables.putSession(at(23, "bob", 14));
        }),
        store.read((tables) => [stateOf(tables, "bob"), stateOf(tables, "alice")]),
      ]);
      const unexpected = settled.find(
        (outcome, index) => outcome.status === "rejected" && (index !== 2 || outcome.reason !== failure),
      );
      if (unexpected?.status === "rejected") throw unexpected.reason;
      equal(
        settled.map((outcome) => outcome.status),
        ["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"],
        "only the failing work rejects",
      );
      const last = settled[4];
      equal(
        last?.status === "fulfilled" ? last.value : null,
        [[filled(300, 23)], [filled(300, 40)]],
        "a read after the works sees the last successful state of each session",
      );
      const check = (opened: LocalStoreApi, what: string) =>
        opened.read((tables) => {
          equal(stateOf(tables, "bob"), [filled(300, 23)], `${what}: bob's last state`);
          equal(stateOf(tables, "alice"), [filled(300, 40)], `${what}: alice's last state`);
          const counter = tables.stateVersion();
          for (const peer of ["bob", "alice"]) {
            const stamped = tables.getSessions(peer)[0]?.stateVersion ?? 0;
            ok(stamped > 0 && stamped <= counter, `${what}: ${peer}'s row is stamped within the counter`);
          }
        });
      await check(store, "in the open store");
      await store.close();
      const reopened = await subject.open();
      await check(reopened, "after reopening");
      await reopened.close();
    },
  },
  {
    name: "works committed together: deleting and writing sessions again, and handing out copies",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => tables.putSession(session(1, "bob", 10)));
      const written = session(5, "bob", 20);
      const failure = new Error("fails after deleting the new session");
      const settled = await Promise.allSettled([
        store.transaction((tables) => {
          ok(tables.deleteSession(filled(16, 1)), "work 1 deletes bob's session");
          equal(tables.getSessions("bob"), [], "and no longer reads it");
          tables.putSession(written);
          written.state.fill(0);
        }),
        store.transaction((tables) => {
          const [read] = tables.getSessions("bob");
          equal(read?.state, filled(300, 6), "work 2 reads what work 1 wrote, not its wiped array");
          read?.state.fill(0);
        }),
        store.transaction((tables) => {
          tables.deleteSession(filled(16, 5));
          throw failure;
        }),
        store.transaction((tables) => tables.getSessions("bob").map((s) => s.sessionId)),
      ]);
      const unexpected = settled.find(
        (outcome, index) => outcome.status === "rejected" && (index !== 2 || outcome.reason !== failure),
      );
      if (unexpected?.status === "rejected") throw unexpected.reason;
      const ids = settled[3];
      equal(
        ids?.status === "fulfilled" ? ids.value : null,
        [filled(16, 5)],
        "work 4: the deletion is undone",
      );
      await store.close();
      const reopened = await subject.open();
      await reopened.read((tables) => {
        equal(
          tables.getSessions("bob").map((s) => [s.sessionId, s.state]),
          [[filled(16, 5), filled(300, 6)]],
          "after reopening: only the new session, intact",
        );
      });
      await reopened.close();
    },
  },
  {
    name: "long message bodies (a megabyte text) round-trip through every read of received and sent rows",
    async run(subject) {
      const store = await subject.open();
      const long = (seed: number) => Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * seed) & 0x7f);
      const inbound = { ...received("r-long", "bob", 40), body: long(3) };
      const outbound = { ...sent("m-long", "bob", 50), body: long(5) };
      await store.transaction((tables) => {
        tables.insertReceived(inbound);
        tables.insertReceived(received("r-short", "bob", 45));
        tables.insertSent(outbound);
        tables.insertOutbox({
          clientMessageId: "m-long",
          recipient: "bob",
          envelope: filled(8, 1),
          createdAt: 50,
        });
      });
      const check = (opened: LocalStoreApi, what: string) =>
        opened.read((tables) => {
          const listed = tables.listReceived();
          equal(
            listed.map(({ seq: _seq, ...message }) => message),
            [inbound, received("r-short", "bob", 45)],
            `${what}: listReceived`,
          );
          equal(
            tables.listUnshown().map((m) => m.body.length),
            [1 << 20],
            `${what}: listUnshown (the receipt-free text is unshown)`,
          );
          equal(
            tables.history({ peer: "bob", limit: 10 }).map((entry) => entry.message.body),
            [inbound.body, received("r-short", "bob", 45).body, outbound.body],
            `${what}: history, oldest first`,
          );
          equal(
            tables.listPendingSent()[0]?.sent,
            outbound,
            `${what}: the outbox joined with the long sent row`,
          );
          equal(tables.conversations()[0]?.last.message.body, outbound.body, `${what}: conversations`);
        });
      await store.transaction((tables) => tables.markShown("r-short", false));
      await check(store, "in the open store");
      await store.close();
      const reopened = await subject.open();
      await check(reopened, "after reopening");
      await reopened.close();
    },
  },
  {
    name: "outbox: idempotent insert, send order, backoff, failures, removal",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        ok(
          tables.insertOutbox({
            clientMessageId: "a",
            recipient: "bob",
            envelope: filled(4, 1),
            createdAt: 100,
          }),
          "a is new",
        );
        ok(
          tables.insertOutbox({
            clientMessageId: "b",
            recipient: "bob",
            envelope: filled(4, 2),
            createdAt: 50,
          }),
          "b is new",
        );
        ok(
          !tables.insertOutbox({
            clientMessageId: "a",
            recipient: "eve",
            envelope: filled(4, 9),
            createdAt: 1,
          }),
          "a second insert of a is refused",
        );
      });
      await store.transaction((tables) => tables.recordOutboxFailure("a", 900, "relay_unreachable"));
      await store.read((tables) => {
        equal(tables.getOutbox("a")?.recipient, "bob", "the first insert stays");
        equal(tables.getOutbox("a")?.envelope, filled(4, 1), "with its envelope");
        equal(tables.countOutbox(), 2, "two entries");
        equal(
          tables.listOutbox().map((e) => e.clientMessageId),
          ["a", "b"],
          "send order is insert order",
        );
        equal(
          tables.listOutbox(100).map((e) => e.clientMessageId),
          ["b"],
          "only b is due at 100",
        );
        equal(
          tables.listOutboxState(),
          [
            { clientMessageId: "a", attempts: 1, nextAttemptAt: 900 },
            { clientMessageId: "b", attempts: 0, nextAttemptAt: 50 },
          ],
          "retry bookkeeping",
        );
        equal(tables.getOutbox("a")?.lastError, "relay_unreachable", "the last error code");
      });
      ok(await store.relaxed((tables) => tables.removeOutbox("a")), "a is removed");
      ok(!(await store.relaxed((tables) => tables.removeOutbox("a"))), "a second removal finds nothing");
      await store.close();
      const reopened = await subject.open();
      await reopened.read((tables) => {
        equal(
          tables.listOutboxState(),
          [{ clientMessageId: "b", attempts: 0, nextAttemptAt: 50 }],
          "after reopening",
        );
        equal(tables.getOutbox("a"), null, "a stays removed");
      });
      await reopened.close();
    },
  },
  {
    name: "intents: accepted order, failures, removal",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.insertIntent(intent("i-2"));
        tables.insertIntent({ ...intent("i-1"), file: null, text: "hello" });
      });
      await store.transaction((tables) => tables.recordIntentFailure("i-2", "relay_unreachable"));
      await store.read((tables) => {
        equal(
          tables.listIntents().map((i) => [i.clientMessageId, i.attempts, i.lastError, i.text]),
          [
            ["i-2", 1, "relay_unreachable", null],
            ["i-1", 0, null, "hello"],
          ],
          "intents in the order they were accepted",
        );
        equal(tables.countIntents(), 2, "two intents");
      });
      ok(await store.transaction((tables) => tables.removeIntent("i-2")), "i-2 is removed");
      equal(await store.read((tables) => tables.countIntents()), 1, "one left");
      await store.close();
    },
  },
  {
    name: "received, history and conversations: dedup, unread, shown, receipts, prune",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        ok(tables.insertReceived(received("r-1", "bob", 100)), "r-1 is new");
        ok(!tables.insertReceived(received("r-1", "bob", 999)), "a redelivery of r-1 is stored once");
        tables.insertReceived(received("r-2", "alice", 200));
        tables.insertReceived(received("r-3", "bob", 300));
        tables.insertReceived(received("rc-1", "bob", 350, "receipt"));
        tables.insertSent(sent("s-1", "bob", 250));
        tables.insertSent(sent("s-2", "alice", 400));
      });
      await store.read((tables) => {
        equal(
          tables.listUnshown().map((m) => m.messageId),
          ["r-1", "r-2", "r-3"],
          "messages start unshown; a receipt does not",
        );
        equal(
          tables
            .history({ peer: "bob", limit: 10 })
            .map(
              (e) =>
                `${e.direction}:${e.direction === "in" ? e.message.messageId : e.message.clientMessageId}`,
            ),
          ["in:r-1", "out:s-1", "in:r-3"],
          "bob's history, oldest first, receipts left out",
        );
        equal(
          tables
            .history({ limit: 2 })
            .map((e) => (e.direction === "in" ? e.message.messageId : e.message.clientMessageId)),
          ["r-3", "s-2"],
          "the newest two of all conversations",
        );
        equal(
          tables.history({ peer: "bob", since: 250, limit: 10 }).map((e) => e.direction),
          ["out", "in"],
          "from a time on",
        );
        equal(
          tables.conversations().map((c) => [c.peer, c.unread, c.last.direction]),
          [
            ["alice", 1, "out"],
            ["bob", 2, "in"],
          ],
          "conversations, the most recent first, with unread counts",
        );
      });
      await store.transaction((tables) => {
        ok(tables.markShown("r-1", true), "r-1 shown and read");
        ok(!tables.markShown("r-1", true), "only once");
        ok(tables.markShown("r-2", false), "r-2 shown, still unread");
        equal(tables.markRead("bob"), 1, "one more unread of bob's is read");
      });
      await store.read((tables) => {
        equal(
          tables.listUnshown().map((m) => m.messageId),
          ["r-3"],
          "r-3 is still unshown",
        );
        equal(
          tables.conversations().map((c) => [c.peer, c.unread]),
          [
            ["alice", 1],
            ["bob", 0],
          ],
          "unread counts after reading",
        );
      });
      const pruned = await store.transaction((tables) => tables.pruneHistory(300));
      equal(pruned, 3, "shown messages and sent rows before 300 are pruned (r-1, r-2, s-1)");
      await store.close();
      const reopened = await subject.open();
      await reopened.read((tables) => {
        equal(
          tables
            .history({ limit: 10 })
            .map((e) => (e.direction === "in" ? e.message.messageId : e.message.clientMessageId)),
          ["r-3", "s-2"],
          "what is left after pruning and reopening",
        );
        ok(tables.hasReceived("rc-1"), "the receipt still deduplicates");
        ok(!tables.hasReceived("r-1"), "a pruned message no longer does");
        equal(
          tables.listReceived(0, 10).map((m) => m.messageId),
          ["r-3", "rc-1"],
          "listReceived",
        );
        const [first] = tables.listReceived(0, 1);
        equal(
          tables.listReceived(first!.seq, 10).map((m) => m.messageId),
          ["rc-1"],
          "listReceived after a seq",
        );
      });
      await reopened.close();
    },
  },
  {
    name: "quarantine: one entry per relay message id, listed, counted, removed",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        ok(tables.quarantine(quarantined("q-1")), "q-1 kept");
        ok(!tables.quarantine({ ...quarantined("q-1"), code: "other" }), "q-1 again is ignored");
        ok(tables.quarantine({ ...quarantined("q-2"), quarantinedAt: 800 }), "q-2 kept");
      });
      await store.read((tables) => {
        equal(
          tables.listQuarantine().map((q) => [q.messageId, q.code]),
          [
            ["q-1", "decrypt_failed"],
            ["q-2", "decrypt_failed"],
          ],
          "quarantine in arrival order",
        );
        equal(tables.countQuarantine(), 2, "two quarantined");
      });
      ok(await store.transaction((tables) => tables.removeQuarantined("q-1")), "q-1 removed");
      equal(
        await store.read((tables) => tables.listQuarantine().map((q) => q.messageId)),
        ["q-2"],
        "q-2 left",
      );
      await store.close();
    },
  },
  {
    name: "replay cache, prekey and session deletion, meta deletion",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        ok(tables.rememberReplay(filled(32, 1), 100), "a new digest");
        ok(!tables.rememberReplay(filled(32, 1), 999), "a replay");
        ok(tables.rememberReplay(filled(32, 2), 300), "another digest");
        tables.putPrekeySecret(prekey(1));
        tables.putSession(session(1, "bob", 1));
        tables.putSecretMeta("x", bytes(1, 2, 3));
      });
      await store.transaction((tables) => {
        equal(tables.pruneReplay(100), 1, "one digest expired at 100");
        ok(tables.deletePrekeySecret(prekey(1).id), "the consumed prekey is deleted");
        ok(!tables.deletePrekeySecret(prekey(1).id), "once");
        ok(tables.deleteSession(filled(16, 1)), "the session is deleted");
        tables.deleteSecretMeta("x");
      });
      await store.close();
      const reopened = await subject.open();
      await reopened.read((tables) => {
        ok(!tables.hasReplay(filled(32, 1)), "the expired digest is gone");
        ok(tables.hasReplay(filled(32, 2)), "the other stays");
        equal(tables.getPrekeySecret(prekey(1).id), null, "no prekey");
        equal(tables.getSessions("bob"), [], "no session");
        equal(tables.stateVersion(), 1, "the counter does not go back when a session is deleted");
        equal(tables.getSecretMeta("x"), null, "no meta value");
      });
      await reopened.close();
    },
  },
  {
    name: "a changed byte in a sealed contact is local_record_tampered, never a wrong contact",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => tables.putContact(contact("bob")));
      await store.close();
      await subject.tamper("contacts", "flip-byte");
      await expectTampered(subject, (tables) => tables.getContact("bob"));
    },
  },
  {
    name: "two contacts' sealed records swapped: local_record_tampered (the row key is in the seal)",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.putContact(contact("bob"));
        tables.putContact(contact("alice"));
      });
      await store.close();
      await subject.tamper("contacts", "swap-records");
      await expectTampered(subject, (tables) => tables.getContact("bob"));
      await expectTampered(subject, (tables) => tables.listContacts());
    },
  },
  {
    name: "a truncated session, swapped outbox records and a changed received row are all refused",
    async run(subject) {
      const store = await subject.open();
      await fill(store);
      await store.close();
      await subject.tamper("sessions", "truncate");
      await subject.tamper("outbox", "swap-records");
      await subject.tamper("received", "flip-byte");
      await expectTampered(subject, (tables) =>
        tables.getSessions("bob").concat(tables.getSessions("alice")),
      );
      await expectTampered(subject, (tables) => tables.listOutbox());
      await expectTampered(subject, (tables) => tables.listReceived());
    },
  },
  {
    name: "a row that authenticates but holds no record of its table is refused on every read",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => tables.putContact(contact("bob")));
      await store.close();
      await subject.tamper("contacts", "reseal-foreign");
      const reopened = await subject.open();
      try {
        for (const attempt of ["first", "second"]) {
          await rejectsWith(
            () => reopened.read((tables) => tables.getContact("bob")),
            "local_record_tampered",
            `${attempt} read`,
          );
        }
      } finally {
        await reopened.close();
      }
    },
  },
  {
    name: "a store opened under another database key is refused as a whole",
    async run(subject) {
      const store = await subject.open();
      await fill(store);
      await store.close();
      await rejectsWith(
        async () => {
          const other = await subject.open(filled(32, 0xee));
          try {
            await other.read((tables) => tables.listContacts());
          } finally {
            await other.close();
          }
        },
        "local_record_tampered",
        "another key",
      );
      const again = await subject.open();
      await expectFilled(again, "the right key still opens it");
      await again.close();
    },
  },
  {
    name: "expiry: a sweep deletes the due rows and only those, and remembers the received handles",
    async run(subject) {
      const t0 = Date.now() + HOUR_MS;
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.insertReceived(expiring(received("r-due", "bob", 10), t0));
        tables.insertReceived(expiring(received("r-later", "bob", 20), t0 + 60_000));
        tables.insertReceived(received("r-plain", "bob", 30));
        tables.insertReceived({
          ...expiring(received("r-file", "alice", 40, "attachment"), t0),
          body: new TextEncoder().encode(JSON.stringify({ path: "/saved/a.bin", size: 3 })),
        });
        tables.insertSent(expiring(sent("s-due", "bob", 15), t0));
        tables.insertSent(sent("s-plain", "bob", 35));
        tables.insertIntent({ ...intent("i-due"), createdAt: t0 - 1000, expireAfterSeconds: 1 });
        tables.insertIntent(intent("i-plain"));
      });
      equal(await store.nextExpiry(), t0, "the earliest deadline");
      await store.read((tables) => {
        equal(
          tables.history({ limit: 10, now: t0 - 1 }).length,
          6,
          "before the deadline history shows every row",
        );
        equal(
          tables.history({ limit: 10, now: t0 }).map((e) => e.direction),
          ["in", "in", "out"],
          "at the deadline history hides the due rows before the sweep ran",
        );
        equal(
          tables.listUnshown(100, t0).map((m) => m.messageId),
          ["r-later", "r-plain"],
          "a due message is never shown",
        );
        equal(
          tables.listReceived(0, 100, t0).map((m) => m.messageId),
          ["r-later", "r-plain"],
          "nor listed",
        );
        equal(
          tables.conversations(t0).map((c) => [c.peer, c.unread]),
          [["bob", 2]],
          "a conversation of only due rows is gone, the due rows are not counted unread",
        );
      });
      const swept = await store.transaction((tables) => tables.sweepExpired(t0));
      equal(swept.deleted, 4, "the two received rows, the sent row and the intent that came due");
      equal([...swept.files], ["/saved/a.bin"], "the saved file of the due attachment is handed back");
      equal(await store.sweepExpired(t0), 0, "nothing twice");
      await store.read((tables) => {
        ok(tables.hasReceived("r-due"), "a swept message's redelivery is recognised");
        equal(
          tables.listReceived(0, 100, t0 - HOUR_MS).map((m) => m.messageId),
          ["r-later", "r-plain"],
          "the due rows are gone even for an earlier clock",
        );
        equal(
          tables.listIntents().map((i) => i.clientMessageId),
          ["i-plain"],
          "a send whose timer ran out before the relay took it is never sent",
        );
        equal(
          tables.history({ limit: 10, now: t0 - HOUR_MS }).map((e) => e.direction),
          ["in", "in", "out"],
          "the other rows stay",
        );
        equal(tables.nextExpiry(), t0 + 60_000, "the next deadline");
        tables.rememberExpired("r-arrived-late", t0);
      });
      await store.close();
      const reopened = await subject.open();
      await reopened.read((tables) => {
        ok(tables.hasReceived("r-due"), "the swept handle is remembered across a reopen");
        ok(tables.hasReceived("r-arrived-late"), "as is one that arrived already expired");
        ok(!tables.hasReceived("r-never"), "an unknown id is not");
        equal(tables.nextExpiry(), t0 + 60_000, "the next deadline after reopening");
      });
      equal(
        await reopened.sweepExpired(t0 + REDELIVERY_WINDOW_MS),
        1,
        "after the redelivery window the last timed row goes",
      );
      await reopened.read((tables) => {
        ok(!tables.hasReceived("r-due"), "and the handles are forgotten");
        ok(!tables.hasReceived("r-arrived-late"), "all of them");
        ok(tables.hasReceived("r-later"), "the handle of the row that just went is remembered");
        equal(tables.nextExpiry(), null, "no deadline is left");
      });
      await reopened.close();
    },
  },
  {
    name: "expiry: a row whose clear deadline was removed stays hidden by its sealed one",
    async run(subject) {
      const deadline = Date.now() + HOUR_MS;
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.insertReceived(expiring(received("r-timed", "bob", 10), deadline));
        tables.insertReceived(received("r-plain", "bob", 20));
        tables.insertSent(expiring(sent("s-timed", "alice", 15), deadline));
      });
      await store.close();
      await subject.tamper("received", "clear-expiry");
      await subject.tamper("sent", "clear-expiry");
      const reopened = await subject.open();
      await reopened.read((tables) => {
        equal(
          tables.history({ limit: 10, now: deadline - 1 }).length,
          3,
          "before the sealed deadline every row is shown",
        );
        equal(
          tables.history({ limit: 10, now: deadline }).map((e) => e.message.sentAt),
          [19],
          "after it the rows are hidden although no column says so",
        );
        equal(
          tables.listUnshown(100, deadline).map((m) => m.messageId),
          ["r-plain"],
          "and never shown",
        );
        equal(
          tables.conversations(deadline).map((c) => c.peer),
          ["bob"],
          "a conversation whose newest row is hidden is not listed",
        );
      });
      await reopened.close();
    },
  },
  {
    name: "expiry: conversation settings round-trip, are replaced, and survive a reopen",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => {
        tables.putConversation({ peer: "alice", expireAfterSeconds: 604_800, updatedAt: 10 });
        tables.putConversation({ peer: "bob", expireAfterSeconds: 60, updatedAt: 11 });
        tables.putConversation({ peer: "bob", expireAfterSeconds: null, updatedAt: 12 });
      });
      const check = (opened: LocalStoreApi, what: string) =>
        opened.read((tables) => {
          equal(
            tables.getConversation("alice"),
            { peer: "alice", expireAfterSeconds: 604_800, updatedAt: 10 },
            `${what}: a week's timer`,
          );
          equal(
            tables.getConversation("bob"),
            { peer: "bob", expireAfterSeconds: null, updatedAt: 12 },
            `${what}: the timer turned off again`,
          );
          equal(tables.getConversation("carol"), null, `${what}: a conversation without settings`);
        });
      await check(store, "in the open store");
      let refused = false;
      await store
        .transaction((tables) =>
          tables.putConversation({ peer: "carol", expireAfterSeconds: 0, updatedAt: 1 }),
        )
        .catch(() => {
          refused = true;
        });
      ok(refused, "a timer the wire cannot carry (0 s) is refused inside the work");
      equal(await store.read((tables) => tables.getConversation("carol")), null, "and nothing was written");
      await store.close();
      const reopened = await subject.open();
      await check(reopened, "after reopening");
      await reopened.close();
    },
  },
  {
    name: "a store with rows whose key-check row was deleted is refused under any key, and nothing is written",
    async run(subject) {
      const store = await subject.open();
      await fill(store);
      await store.close();
      await subject.tamper("meta", "delete-key-check");
      // Taken as new, it would get a key-check sealed under whatever key opened it (another identity's)
      // and refuse its own from then on. Its own key first: a store that took it as new would open.
      for (const [label, key] of [
        ["its own key", undefined],
        ["its own key, again (the first refusal wrote nothing)", undefined],
        ["another key", filled(32, 0xee)],
      ] as const) {
        await rejectsWith(
          async () => {
            const opened = await subject.open(key);
            try {
              await opened.read((tables) => tables.listContacts());
            } finally {
              await opened.close();
            }
          },
          "local_record_tampered",
          label,
        );
      }
    },
  },
  {
    name: "a changed meta value (the state counter) is refused",
    async run(subject) {
      const store = await subject.open();
      await store.transaction((tables) => tables.putSecretMeta("a", bytes(1)));
      await store.close();
      await subject.tamper("meta", "swap-records");
      await expectTampered(subject, (tables) => [
        tables.getSecretMeta("a"),
        tables.getSecretMeta("key-check"),
      ]);
    },
  },
]);

/**
 * Reopening the tampered store and reading must fail with `local_record_tampered`, whether the store
 * refuses at open (it checks every row then) or when the row is read (SQLite opens rows on demand).
 */
async function expectTampered(
  subject: StoreSubject,
  read: (tables: Parameters<Parameters<LocalStoreApi["read"]>[0]>[0]) => unknown,
): Promise<void> {
  await rejectsWith(
    async () => {
      const store = await subject.open();
      try {
        await store.read(read);
      } finally {
        await store.close();
      }
    },
    "local_record_tampered",
    "a tampered row",
  );
}
