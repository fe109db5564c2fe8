import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import type { NewMessage, RelayStore } from "../../src/store/types.ts";

/**
 * The one conformance suite every store adapter runs (SQLite now, PostgreSQL later): call
 * `runStoreConformance("name", factory)` from the adapter's test file. `factory` returns a fresh,
 * empty, migrated store; `reopen` (optional) closes and reopens the same database to check durability.
 */
export interface StoreFactory {
  create(): Promise<RelayStore>;
  /** Closes `store` and returns a new handle on the same data. */
  reopen?(store: RelayStore): Promise<RelayStore>;
}

const QUOTA = { maxMessages: 100, maxBytes: 1_000_000 };
const DAY = 86_400_000;

function message(
  sender: string,
  recipient: string,
  clientMessageId: string,
  body = clientMessageId,
): NewMessage {
  const envelope = utf8(body);
  return {
    sender,
    recipient,
    clientMessageId,
    envelope,
    envelopeHash: blake2b(envelope),
    createdAt: 1000,
    expiresAt: 1000 + DAY,
  };
}

function account(username: string, seed: string) {
  const identityRecord = utf8(`ir:${seed}`);
  return {
    username,
    skeleton: username.replaceAll("1", "l"),
    identityHash: blake2b(identityRecord),
    identityRecord,
    createdAt: 1,
    updatedAt: 1,
  };
}

export function runStoreConformance(name: string, factory: StoreFactory): void {
  const withStore = (test: (store: RelayStore) => Promise<void>) => async () => {
    const store = await factory.create();
    try {
      await test(store);
    } finally {
      await store.close();
    }
  };

  describe(`store conformance: ${name}`, () => {
    describe("accounts", () => {
      it(
        "first claim wins, the owner's re-claim is idempotent, another identity is refused",
        withStore(async (store) => {
          const alice = account("alice", "a");
          assert.equal((await store.accounts.claim(alice)).outcome, "created");
          assert.equal((await store.accounts.claim(alice)).outcome, "already_owned");
          const mallory = await store.accounts.claim(account("alice", "m"));
          assert.equal(mallory.outcome, "taken");
          assert.deepEqual(mallory.account.identityHash, alice.identityHash);
          assert.deepEqual((await store.accounts.get("alice"))?.identityRecord, alice.identityRecord);
          assert.equal(await store.accounts.get("bob"), null);
        }),
      );

      it(
        "a name whose skeleton matches an existing account is taken",
        withStore(async (store) => {
          assert.equal((await store.accounts.claim(account("alice", "a"))).outcome, "created");
          const lookalike = await store.accounts.claim(account("a1ice", "m"));
          assert.equal(lookalike.outcome, "taken");
          assert.equal(lookalike.account.username, "alice");
          assert.equal(await store.accounts.get("a1ice"), null);
        }),
      );

      it(
        "concurrent claims of one name produce exactly one winner",
        withStore(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) => store.accounts.claim(account("carol", `c${i}`))),
          );
          assert.equal(results.filter((r) => r.outcome === "created").length, 1);
          assert.equal(results.filter((r) => r.outcome === "taken").length, 7);
        }),
      );

      it(
        "replaceIdentity is a compare-and-swap on the current hash",
        withStore(async (store) => {
          const alice = account("alice", "a");
          await store.accounts.claim(alice);
          const next = account("alice", "a2");
          assert.equal(await store.accounts.replaceIdentity("alice", blake2b(utf8("stale")), next, 5), false);
          assert.equal(await store.accounts.replaceIdentity("alice", alice.identityHash, next, 5), true);
          assert.equal(await store.accounts.replaceIdentity("alice", alice.identityHash, next, 6), false);
          const stored = await store.accounts.get("alice");
          assert.deepEqual(stored?.identityHash, next.identityHash);
          assert.equal(stored?.updatedAt, 5);
          assert.equal(await store.accounts.replaceIdentity("nobody", alice.identityHash, next, 5), false);
        }),
      );

      it(
        "replaceIdentity drops the prekeys bound to the superseded record, and only the owner's",
        withStore(async (store) => {
          const alice = account("alice", "a");
          await store.accounts.claim(alice);
          await store.accounts.claim(account("bob", "b"));
          const stored = {
            suite: 2,
            bundle: utf8("b"),
            lastResort: utf8("lr"),
            signedPrekeyCreatedAt: 1,
            uploadedAt: 1,
          };
          for (const owner of ["alice", "bob"]) {
            for (const suite of [2, 3]) {
              await store.prekeys.putBundle(owner, { ...stored, suite });
              await store.prekeys.addOneTimePrekeys(owner, suite, [{ id: "01", prekey: utf8("k") }]);
            }
          }
          assert.equal(
            await store.accounts.replaceIdentity("alice", alice.identityHash, account("alice", "a2"), 5),
            true,
          );
          assert.deepEqual(await store.prekeys.listBundles("alice"), [], "every suite's bundle is gone");
          for (const suite of [2, 3]) {
            assert.equal(await store.prekeys.getBundle("alice", suite), null);
            assert.equal(await store.prekeys.countOneTimePrekeys("alice", suite), 0);
            assert.notEqual(await store.prekeys.getBundle("bob", suite), null);
            assert.equal(await store.prekeys.countOneTimePrekeys("bob", suite), 1);
          }
        }),
      );

      it(
        "tokens are found by hash and expire",
        withStore(async (store) => {
          const alice = account("alice", "a");
          await store.accounts.claim(alice);
          const hash = blake2b(utf8("token"));
          assert.equal(
            await store.accounts.putToken(hash, { username: "alice", expiresAt: 100 }, alice.identityHash),
            true,
          );
          assert.deepEqual(await store.accounts.getToken(hash), { username: "alice", expiresAt: 100 });
          assert.equal(await store.accounts.getToken(blake2b(utf8("other"))), null);
          assert.equal(await store.accounts.deleteExpiredTokens(99), 0);
          assert.equal(await store.accounts.deleteExpiredTokens(100), 1);
          assert.equal(await store.accounts.getToken(hash), null);
          await store.accounts.putToken(hash, { username: "alice", expiresAt: 500 }, alice.identityHash);
          await store.accounts.deleteToken(hash);
          assert.equal(await store.accounts.getToken(hash), null);
        }),
      );

      it(
        "a token is bound to the identity it was minted under: refused once that was replaced, deleted when it is",
        withStore(async (store) => {
          const alice = account("alice", "a");
          await store.accounts.claim(alice);
          await store.accounts.claim(account("bob", "b"));
          const bob = (await store.accounts.get("bob"))!;
          const minted = [blake2b(utf8("t1")), blake2b(utf8("t2"))];
          for (const hash of minted) {
            await store.accounts.putToken(hash, { username: "alice", expiresAt: 1000 }, alice.identityHash);
          }
          const bobs = blake2b(utf8("bob's"));
          await store.accounts.putToken(bobs, { username: "bob", expiresAt: 1000 }, bob.identityHash);
          const next = account("alice", "a2");
          assert.equal(await store.accounts.replaceIdentity("alice", alice.identityHash, next, 5), true);
          for (const hash of minted) assert.equal(await store.accounts.getToken(hash), null);
          assert.notEqual(await store.accounts.getToken(bobs), null, "other accounts keep theirs");
          // A login that verified its device against the old record and mints after the swap.
          const late = blake2b(utf8("late"));
          assert.equal(
            await store.accounts.putToken(late, { username: "alice", expiresAt: 1000 }, alice.identityHash),
            false,
          );
          assert.equal(await store.accounts.getToken(late), null);
          assert.equal(
            await store.accounts.putToken(late, { username: "nobody", expiresAt: 1000 }, alice.identityHash),
            false,
          );
          assert.equal(
            await store.accounts.putToken(late, { username: "alice", expiresAt: 1000 }, next.identityHash),
            true,
          );
        }),
      );
    });

    describe("prekeys", () => {
      const bundle = {
        suite: 2,
        bundle: utf8("b"),
        lastResort: utf8("lr"),
        signedPrekeyCreatedAt: 10,
        uploadedAt: 11,
      };

      it(
        "hands each one-time key out exactly once, then only the last-resort key",
        withStore(async (store) => {
          await store.accounts.claim(account("bob", "b"));
          assert.equal(await store.prekeys.takeBundle("bob", 2), null);
          await store.prekeys.putBundle("bob", bundle);
          const keys = Array.from({ length: 5 }, (_, i) => ({ id: `k${i}`, prekey: utf8(`otk${i}`) }));
          assert.equal(await store.prekeys.addOneTimePrekeys("bob", 2, keys), 5);
          assert.equal(
            await store.prekeys.addOneTimePrekeys("bob", 2, keys.slice(0, 2)),
            5,
            "retried ids ignored",
          );
          const taken = await Promise.all(
            Array.from({ length: 7 }, () => store.prekeys.takeBundle("bob", 2)),
          );
          const ids = taken.map((t) => t?.oneTime?.id ?? null);
          assert.deepEqual(ids.filter((id) => id !== null).sort(), ["k0", "k1", "k2", "k3", "k4"]);
          assert.equal(ids.filter((id) => id === null).length, 2);
          for (const t of taken) assert.deepEqual(t?.bundle.lastResort, bundle.lastResort);
          assert.equal(await store.prekeys.countOneTimePrekeys("bob", 2), 0);
        }),
      );

      it(
        "keeps one bundle per suite; replacing one keeps every one-time key",
        withStore(async (store) => {
          await store.accounts.claim(account("bob", "b"));
          await store.prekeys.putBundle("bob", bundle);
          await store.prekeys.addOneTimePrekeys("bob", 2, [{ id: "x", prekey: utf8("x") }]);
          await store.prekeys.putBundle("bob", {
            ...bundle,
            suite: 3,
            bundle: utf8("q"),
            signedPrekeyCreatedAt: 20,
          });
          await store.prekeys.putBundle("bob", { ...bundle, signedPrekeyCreatedAt: 30 });
          assert.equal((await store.prekeys.getBundle("bob", 2))?.signedPrekeyCreatedAt, 30);
          const quantum = await store.prekeys.getBundle("bob", 3);
          assert.equal(quantum?.suite, 3);
          assert.deepEqual(quantum?.bundle, utf8("q"));
          assert.equal(await store.prekeys.getBundle("bob", 1), null);
          assert.deepEqual(
            (await store.prekeys.listBundles("bob")).map((b) => [b.suite, b.signedPrekeyCreatedAt]),
            [
              [2, 30],
              [3, 20],
            ],
          );
          assert.equal(await store.prekeys.countOneTimePrekeys("bob", 2), 1);
          assert.equal(await store.prekeys.countOneTimePrekeys("bob", 3), 0);
        }),
      );

      it(
        "never hands out (or burns) another suite's one-time key, and refuses keys of a suite without a bundle",
        withStore(async (store) => {
          await store.accounts.claim(account("bob", "b"));
          await store.prekeys.putBundle("bob", bundle);
          assert.equal(
            await store.prekeys.addOneTimePrekeys("bob", 3, [{ id: "q0", prekey: utf8("q0") }]),
            null,
            "no suite-3 bundle: nothing stored",
          );
          assert.equal(await store.prekeys.countOneTimePrekeys("bob", 3), 0);
          await store.prekeys.putBundle("bob", { ...bundle, suite: 3, bundle: utf8("q") });
          // The same id under two suites is two keys.
          assert.equal(
            await store.prekeys.addOneTimePrekeys("bob", 2, [{ id: "same", prekey: utf8("h") }]),
            1,
          );
          assert.equal(
            await store.prekeys.addOneTimePrekeys("bob", 3, [{ id: "same", prekey: utf8("q") }]),
            1,
          );
          const quantum = await store.prekeys.takeBundle("bob", 3);
          assert.deepEqual(quantum?.bundle.bundle, utf8("q"));
          assert.deepEqual(quantum?.oneTime?.prekey, utf8("q"));
          const exhausted = await store.prekeys.takeBundle("bob", 3);
          assert.equal(exhausted?.oneTime, null, "suite 3 is exhausted; suite 2's key is not borrowed");
          assert.equal(await store.prekeys.countOneTimePrekeys("bob", 2), 1);
          const hybrid = await store.prekeys.takeBundle("bob", 2);
          assert.deepEqual(hybrid?.oneTime?.prekey, utf8("h"));
          assert.equal(await store.prekeys.takeBundle("bob", 1), null);
        }),
      );
    });

    describe("mailboxes", () => {
      it(
        "stores, fetches in order, and deletes only on the recipient's acknowledgement",
        withStore(async (store) => {
          const results = await store.mailboxes.enqueue(
            [message("alice", "bob", "1"), message("alice", "bob", "2"), message("carol", "bob", "3")],
            QUOTA,
          );
          assert.ok(results.every((r) => r.ok && !r.duplicate));
          const ids = results.map((r) => (r.ok ? r.serverId : -1));
          assert.deepEqual(
            [...ids].sort((a, b) => a - b),
            ids,
            "ids grow in enqueue order",
          );
          const fetched = await store.mailboxes.fetch("bob", 0, 10, 2000);
          assert.deepEqual(
            fetched.map((m) => m.id),
            ids,
          );
          assert.equal(new TextDecoder().decode(fetched[0]!.envelope), "1");
          assert.deepEqual(
            (await store.mailboxes.fetch("bob", ids[0]!, 10, 2000)).map((m) => m.id),
            ids.slice(1),
          );
          assert.equal(await store.mailboxes.acknowledge("alice", ids), 0, "only the recipient may delete");
          assert.equal(await store.mailboxes.acknowledge("bob", [ids[0]!, ids[0]!, 999_999]), 1);
          assert.deepEqual(await store.mailboxes.depth("bob"), { messages: 2, bytes: 2 });
          assert.equal((await store.mailboxes.fetch("bob", 0, 10, 2000)).length, 2);
        }),
      );

      it(
        "a retried client message id returns the same server id, even after acknowledgement",
        withStore(async (store) => {
          const [first] = await store.mailboxes.enqueue([message("alice", "bob", "m1")], QUOTA);
          assert.ok(first?.ok);
          const [again] = await store.mailboxes.enqueue([message("alice", "bob", "m1")], QUOTA);
          assert.deepEqual(again, { ok: true, serverId: first.serverId, duplicate: true });
          await store.mailboxes.acknowledge("bob", [first.serverId]);
          const [late] = await store.mailboxes.enqueue([message("alice", "bob", "m1")], QUOTA);
          assert.deepEqual(late, { ok: true, serverId: first.serverId, duplicate: true });
          assert.equal((await store.mailboxes.fetch("bob", 0, 10, 2000)).length, 0, "not stored again");
          const [other] = await store.mailboxes.enqueue([message("carol", "bob", "m1")], QUOTA);
          assert.ok(other?.ok && !other.duplicate, "ids are per sender");
          const [conflict] = await store.mailboxes.enqueue(
            [message("alice", "bob", "m1", "different")],
            QUOTA,
          );
          assert.deepEqual(conflict, { ok: false, code: "client_message_id_conflict" });
          const [elsewhere] = await store.mailboxes.enqueue([message("alice", "dave", "m1")], QUOTA);
          assert.deepEqual(elsewhere, { ok: false, code: "client_message_id_conflict" });
        }),
      );

      it(
        "concurrent duplicates in one batch store once",
        withStore(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 5 }, () =>
              store.mailboxes.enqueue([message("alice", "bob", "same")], QUOTA),
            ),
          );
          const ids = new Set(results.map(([r]) => (r?.ok ? r.serverId : -1)));
          assert.equal(ids.size, 1);
          assert.equal((await store.mailboxes.fetch("bob", 0, 10, 2000)).length, 1);
        }),
      );

      it(
        "enforces the per-recipient quota per message, never dropping silently",
        withStore(async (store) => {
          const quota = { maxMessages: 3, maxBytes: 1_000 };
          const batch = Array.from({ length: 5 }, (_, i) => message("alice", "bob", `q${i}`));
          const results = await store.mailboxes.enqueue(batch, quota);
          assert.deepEqual(
            results.map((r) => r.ok),
            [true, true, true, false, false],
          );
          assert.deepEqual(results[3], { ok: false, code: "mailbox_full" });
          const big = await store.mailboxes.enqueue(
            [message("alice", "carol", "big", "x".repeat(2000))],
            quota,
          );
          assert.deepEqual(big[0], { ok: false, code: "mailbox_full" });
          const stored = await store.mailboxes.fetch("bob", 0, 10, 2000);
          await store.mailboxes.acknowledge(
            "bob",
            stored.map((m) => m.id),
          );
          const retry = await store.mailboxes.enqueue([batch[3]!], quota);
          assert.equal(
            retry[0]?.ok,
            true,
            "space freed by acknowledgement is usable; the refused id was not recorded",
          );
        }),
      );

      it(
        "expires messages past their TTL and frees their quota",
        withStore(async (store) => {
          await store.mailboxes.enqueue([message("alice", "bob", "t1")], QUOTA);
          assert.equal(
            (await store.mailboxes.fetch("bob", 0, 10, 1000 + DAY)).length,
            0,
            "hidden once expired",
          );
          assert.equal(await store.mailboxes.expire(1000 + DAY - 1), 0);
          assert.equal(await store.mailboxes.expire(1000 + DAY), 1);
          assert.deepEqual(await store.mailboxes.depth("bob"), { messages: 0, bytes: 0 });
          assert.deepEqual(await store.mailboxes.totals(), { messages: 0, bytes: 0, mailboxes: 0 });
        }),
      );

      it(
        "reports totals across mailboxes",
        withStore(async (store) => {
          await store.mailboxes.enqueue(
            [message("a", "bob", "1"), message("a", "carol", "22"), message("a", "carol", "333")],
            QUOTA,
          );
          assert.deepEqual(await store.mailboxes.totals(), { messages: 3, bytes: 6, mailboxes: 2 });
        }),
      );

      if (factory.reopen) {
        const reopen = factory.reopen.bind(factory);
        it("an acknowledged enqueue survives closing and reopening", async () => {
          let store = await factory.create();
          const [result] = await store.mailboxes.enqueue([message("alice", "bob", "durable")], QUOTA);
          assert.ok(result?.ok);
          store = await reopen(store);
          try {
            const fetched = await store.mailboxes.fetch("bob", 0, 10, 2000);
            assert.deepEqual(
              fetched.map((m) => m.id),
              [result.serverId],
            );
            const [next] = await store.mailboxes.enqueue([message("alice", "bob", "after")], QUOTA);
            assert.ok(next?.ok && next.serverId > result.serverId, "ids keep growing after reopen");
          } finally {
            await store.close();
          }
        });
      }
    });

    describe("attachments", () => {
      const record = (hash: string, owner = "alice", size = 100) => ({
        hash,
        owner,
        size,
        createdAt: 1,
        expiresAt: 1000,
      });

      it(
        "tracks recipients and reports the last fetch",
        withStore(async (store) => {
          assert.equal(await store.attachments.put(record("h1"), ["bob", "carol"], 1000), "stored");
          assert.equal(await store.attachments.isRecipient("h1", "bob"), true);
          assert.equal(await store.attachments.isRecipient("h1", "mallory"), false);
          assert.equal(await store.attachments.recordFetch("h1", "bob", 10, 500), false);
          assert.equal(
            await store.attachments.recordFetch("h1", "bob", 11, 500),
            false,
            "a repeat fetch is not counted",
          );
          assert.equal((await store.attachments.get("h1"))?.expiresAt, 1000, "carol has not fetched yet");
          assert.equal(await store.attachments.recordFetch("h1", "carol", 20, 500), true);
          // Kept for the grace period, still for its recipients only: a crashed client fetches again.
          assert.equal((await store.attachments.get("h1"))?.expiresAt, 500);
          assert.equal(await store.attachments.isRecipient("h1", "bob"), true);
          assert.equal(await store.attachments.isRecipient("h1", "mallory"), false);
          assert.equal(await store.attachments.recordFetch("h1", "bob", 30, 400), false);
          assert.equal((await store.attachments.get("h1"))?.expiresAt, 500, "a re-fetch moves nothing");
          // The owner uploading it again for bob: the full expiry is back and bob is to fetch again.
          assert.equal(await store.attachments.put(record("h1"), ["bob"], 1000), "stored");
          assert.equal((await store.attachments.get("h1"))?.expiresAt, 1000);
          assert.equal(await store.attachments.recordFetch("h1", "bob", 40, 500), true);
          assert.equal((await store.attachments.get("h1"))?.expiresAt, 500);
          assert.deepEqual(await store.attachments.expire(499), []);
          assert.deepEqual(await store.attachments.expire(500), ["h1"]);
          assert.equal(await store.attachments.get("h1"), null);
          assert.equal(await store.attachments.isRecipient("h1", "bob"), false);
        }),
      );

      it(
        "enforces the owner's quota and expires by TTL",
        withStore(async (store) => {
          assert.equal(await store.attachments.put(record("h1", "alice", 600), ["bob"], 1000), "stored");
          assert.equal(await store.attachments.put(record("h2", "alice", 600), ["bob"], 1000), "over_quota");
          assert.equal(await store.attachments.get("h2"), null);
          assert.equal(
            await store.attachments.put(record("h1", "alice", 600), ["carol"], 1000),
            "stored",
            "re-upload by the owner adds recipients",
          );
          assert.equal(await store.attachments.usage("alice"), 600);
          assert.deepEqual(await store.attachments.expire(999), []);
          assert.deepEqual(await store.attachments.expire(1000), ["h1"]);
          assert.equal(await store.attachments.usage("alice"), 0);
        }),
      );

      it(
        "only the uploader can add recipients to a blob; another account's re-upload changes nothing",
        withStore(async (store) => {
          assert.equal(await store.attachments.put(record("h1", "alice", 100), ["bob"], 1000), "stored");
          assert.equal(
            await store.attachments.put(record("h1", "mallory", 100), ["mallory", "eve"], 1000),
            "not_owner",
          );
          assert.equal(await store.attachments.isRecipient("h1", "mallory"), false);
          assert.equal(await store.attachments.isRecipient("h1", "eve"), false);
          assert.equal((await store.attachments.get("h1"))?.owner, "alice");
          assert.equal(await store.attachments.usage("mallory"), 0, "nothing charged, nothing stored");
          assert.equal(await store.attachments.usage("alice"), 100);
        }),
      );
    });

    it(
      "answers ping while open",
      withStore(async (store) => {
        assert.equal(await store.ping(), true);
      }),
    );
  });
}
