// The machine failing under the store: a commit loop interrupted, quota, a request failing after it
// was made, a connection closed by another page or by the browser, very large rows, thousands of rows.
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import type { LocalTables } from "../../../../src/client/local-store/local-tables.ts";
import {
  attack,
  Checks,
  codeOf,
  contact,
  deleteRaw,
  describeError,
  hex,
  type Outcome,
  openRaw,
  openStore,
  randomKey,
  rawKeys,
  session,
  settled,
  uniqueName,
} from "./_attack-kit.ts";

const LOOP_ROWS = 6;

/**
 * Commits rounds 1, 2, 3... (each: LOOP_ROWS contacts, the session, a meta row with its number) until
 * one fails; `globalThis.loop` reports the rounds acknowledged and how the loop ended.
 */
export async function commitLoop(name: string, keyHex: string, rows = 200): Promise<void> {
  const state = globalThis as { loop?: { committed: number; ended: string | null; memory?: number } };
  state.loop = { committed: 0, ended: null };
  const store = await openStore(name, fromHex(keyHex));
  try {
    for (let round = 1; round <= 100_000; round++) {
      await store.transaction((tables) => {
        for (let row = 0; row < LOOP_ROWS; row++) tables.putContact(contact(`u${round}-${row}`, round % 256));
        tables.putSession({ ...session("bob", round), state: new Uint8Array(rows * 20).fill(round % 256) });
        tables.putSecretMeta("loop", new TextEncoder().encode(String(round)));
      });
      state.loop.committed = round;
    }
    await store.close();
    state.loop.ended = "done";
  } catch (error) {
    // What the open store shows after the failure: the last acknowledged round, not the failed one.
    state.loop.memory = await store
      .read((tables) => Number(new TextDecoder().decode(tables.getSecretMeta("loop") ?? new Uint8Array())))
      .catch(() => -1);
    await store.close().catch(() => {});
    state.loop.ended = codeOf(error);
  }
}

export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
}

/** The rounds in the store, and whether each is whole (every row, the session, the counter). */
export async function verifyLoop(name: string, keyHex: string): Promise<Outcome & { rounds: number }> {
  try {
    const store = await openStore(name, fromHex(keyHex));
    try {
      return await store.read((tables) => {
        const meta = tables.getSecretMeta("loop");
        const rounds = meta === null ? 0 : Number(new TextDecoder().decode(meta));
        const problems: string[] = [];
        if (tables.listContacts().length !== rounds * LOOP_ROWS)
          problems.push(`${tables.listContacts().length} contacts for ${rounds} rounds`);
        for (let round = 1; round <= rounds; round++)
          for (let row = 0; row < LOOP_ROWS; row++)
            if (tables.getContact(`u${round}-${row}`) === null)
              problems.push(`round ${round} lacks row ${row}`);
        const [current] = tables.getSessions("bob");
        if (rounds > 0 && current?.updatedAt !== rounds) problems.push(`session at ${current?.updatedAt}`);
        return { ok: problems.length === 0, detail: problems.slice(0, 5).join("; "), rounds };
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    return { ok: false, detail: describeError(error), rounds: -1 };
  }
}

/**
 * Over quota (the test lowers the origin's quota through the DevTools protocol, a real
 * QuotaExceededError): a commit too large for it is refused with `browser_storage_unavailable` and
 * the quota message, the open store and the reopened one show the state before it, and a small commit
 * afterwards still works.
 */
export async function overQuota(bigBytes: number): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("quota");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => tables.putContact(contact("before")));
      let failure: unknown = null;
      try {
        await store.transaction((tables) => {
          tables.putContact(contact("big-1"));
          tables.putSecretMeta("big", new Uint8Array(bigBytes).fill(7));
          tables.putSession(session("before", 5));
        });
      } catch (error) {
        failure = error;
      }
      checks.equal("refused", codeOf(failure), "browser_storage_unavailable");
      checks.equal(
        "cause",
        ((failure as { cause?: DOMException })?.cause as DOMException | undefined)?.name,
        "QuotaExceededError",
      );
      checks.equal("said so", /quota/.test(String((failure as Error)?.message)), true);
      const memory = await store.read((tables) => ({
        contacts: tables.listContacts().map((c) => c.username),
        big: tables.getSecretMeta("big") === null,
        version: tables.stateVersion(),
      }));
      checks.equal("memory", memory, { contacts: ["before"], big: true, version: 0 });
      await store.transaction((tables) => tables.putContact(contact("after")));
      await store.close();
      const reopened = await openStore(name, key);
      const disk = await reopened.read((tables) => ({
        contacts: tables.listContacts().map((c) => c.username),
        big: tables.getSecretMeta("big") === null,
        version: tables.stateVersion(),
      }));
      await reopened.close();
      checks.equal("disk", disk, { contacts: ["after", "before"], big: true, version: 0 });
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Opens (creating) the store `name` and closes it: "ok", or the error's code. `full`: every put throws
 * QuotaExceededError meanwhile.
 */
export async function openNew(name: string, full: boolean): Promise<string> {
  const realPut = IDBObjectStore.prototype.put;
  if (full) {
    IDBObjectStore.prototype.put = () => {
      throw new DOMException("injected", "QuotaExceededError");
    };
  }
  try {
    return await settled(openStore(name, randomKey()).then((store) => store.close()));
  } finally {
    IDBObjectStore.prototype.put = realPut;
  }
}

/**
 * Another page closes the store's connection mid-loop (`how`: it opens the database at a newer
 * version, or deletes it): the commit in flight finishes or fails whole, the next ones are refused
 * with `browser_storage_unavailable`, the open store's memory stays at the last acknowledged round,
 * and close does not hang.
 */
export async function connectionClosedMidLoop(
  how: "upgrade" | "delete",
): Promise<Outcome & { committed: number }> {
  const name = uniqueName(`closed-${how}`);
  const keyHex = hex(randomKey());
  const state = globalThis as { loop?: { committed: number; ended: string | null; memory?: number } };
  const checks = new Checks();
  try {
    const loop = commitLoop(name, keyHex);
    while ((state.loop?.committed ?? 0) < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    if (how === "upgrade") (await openRaw(name, 2)).close();
    else await deleteRaw(name);
    await loop;
    const { committed, ended, memory } = state.loop!;
    checks.equal("loop ended with", ended, "browser_storage_unavailable");
    checks.equal("memory at the last acknowledged round", memory, committed);
    if (how === "upgrade") {
      // What is on disk (the store refuses the newer schema): every acknowledged round, whole.
      const contacts = await rawKeys(name, "contacts");
      checks.equal("acknowledged rounds on disk", contacts.length, committed * LOOP_ROWS);
      checks.equal(
        "reopen",
        await settled(openStore(name, fromHex(keyHex))),
        "local_store_version_unsupported",
      );
    } else {
      // The store database was deleted, its anchor not: a new empty store is not this state.
      checks.equal("reopen", await settled(openStore(name, fromHex(keyHex))), "local_state_rolled_back");
    }
    return { ...checks.outcome(), committed };
  } catch (error) {
    return { ok: false, detail: describeError(error), committed: -1 };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

/**
 * A request that fails after it was made (an `add` over a key that exists: a real ConstraintError
 * from IndexedDB, injected in place of one of the commit's puts): the transaction must abort whole.
 * Handled as "done" it would commit the other requests — half a work on disk, reported as failed.
 */
export async function failedRequest(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("failed-request");
    const key = randomKey();
    const realPut = IDBObjectStore.prototype.put;
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => tables.putContact(contact("kept")));
      let puts = 0;
      IDBObjectStore.prototype.put = function (
        this: IDBObjectStore,
        ...args: Parameters<IDBObjectStore["put"]>
      ) {
        puts += 1;
        // The second put of the commit becomes an add over the existing "kept" row's key.
        return puts === 2 && this.name === "contacts" ? this.add(...args) : realPut.apply(this, args);
      };
      let code: string;
      try {
        code = await settled(
          store.transaction((tables) => {
            tables.putContact(contact("new-1"));
            tables.putContact(contact("kept", 9));
            tables.putContact(contact("new-2"));
            tables.putSecretMeta("marker", new Uint8Array(3));
          }),
        );
      } finally {
        IDBObjectStore.prototype.put = realPut;
      }
      checks.equal("refused", code, "browser_storage_unavailable");
      const read = (tables: LocalTables) => ({
        contacts: tables.listContacts().map((c) => `${c.username}:${c.identityRecord[0]}`),
        marker: tables.getSecretMeta("marker") !== null,
      });
      checks.equal("memory", await store.read(read), { contacts: ["kept:3"], marker: false });
      await store.close();
      const reopened = await openStore(name, key);
      checks.equal("disk", await reopened.read(read), { contacts: ["kept:3"], marker: false });
      await reopened.close();
    } finally {
      IDBObjectStore.prototype.put = realPut;
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/** Large rows: 16 MiB in a meta value, 8 MiB in a message body; a row key too long is refused. */
export async function largeRows(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("large");
    const key = randomKey();
    const digest = async (bytes: Uint8Array | null | undefined): Promise<string> =>
      bytes == null
        ? "none"
        : hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
    try {
      const meta = crypto.getRandomValues(new Uint8Array(65536)).slice();
      const big = new Uint8Array(16 << 20);
      for (let i = 0; i < big.length; i += meta.length)
        big.set(meta.subarray(0, Math.min(meta.length, big.length - i)), i);
      const body = big.slice(0, 8 << 20).reverse();
      const store = await openStore(name, key);
      await store.transaction((tables) => {
        tables.putSecretMeta("big", big);
        tables.insertReceived({ messageId: "big", sender: "bob", contentType: "text", body, receivedAt: 1 });
      });
      const longId = "x".repeat(70_000);
      checks.equal(
        "a client message id longer than a row key may be",
        await settled(
          store.transaction((tables) => {
            tables.putContact(contact("with-long"));
            tables.insertOutbox({
              clientMessageId: longId,
              recipient: "bob",
              envelope: new Uint8Array(1),
              createdAt: 1,
            });
          }),
        ),
        "RangeError",
      );
      checks.equal(
        "nothing of it in memory",
        await store.read((tables) => tables.getContact("with-long")),
        null,
      );
      await store.close();
      const reopened = await openStore(name, key);
      const [metaBack, bodyBack, longContact] = await reopened.read(
        (tables) =>
          [
            tables.getSecretMeta("big"),
            tables.listReceived()[0]?.body,
            tables.getContact("with-long"),
          ] as const,
      );
      await reopened.close();
      checks.equal("16 MiB meta value back", await digest(metaBack), await digest(big));
      checks.equal("8 MiB body back", await digest(bodyBack), await digest(body));
      checks.equal("nothing of the refused work on disk", longContact, null);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/** Thousands of rows in one transaction: all of them back after a reopen; deleted in one as well. */
export async function manyRows(count: number): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("many");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      await store.transaction((tables) => {
        for (let i = 0; i < count; i++) {
          tables.insertReceived({
            messageId: `m${i}`,
            sender: `peer${i % 50}`,
            contentType: "text",
            body: new Uint8Array(64).fill(i % 256),
            receivedAt: i,
          });
          if (i % 4 === 0) tables.putContact(contact(`peer-${i}`));
        }
      });
      await store.close();
      const reopened = await openStore(name, key);
      const counts = await reopened.read((tables) => ({
        received: tables.listReceived(0, count * 2).length,
        ordered: tables.listReceived(0, count * 2).every((m, i) => m.messageId === `m${i}`),
        contacts: tables.listContacts().length,
        conversations: tables.conversations().length,
      }));
      checks.equal("after reopen", counts, {
        received: count,
        ordered: true,
        contacts: count / 4,
        conversations: 50,
      });
      await reopened.transaction((tables) => {
        for (const message of tables.listUnshown(count)) tables.markShown(message.messageId, true);
      });
      const pruned = await reopened.transaction((tables) => tables.pruneHistory(count + 1));
      await reopened.close();
      checks.equal("pruned in one transaction", pruned, count);
      const last = await openStore(name, key);
      checks.equal("gone after reopen", await last.read((tables) => tables.listReceived().length), 0);
      await last.close();
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}
