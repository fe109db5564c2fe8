// The store's own users: works that await started together, a work that throws half-way, two opens at
// once, close with works queued, re-entrancy, tables used after their work.
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import type { LocalTables } from "../../../../src/client/local-store/local-tables.ts";
import {
  attack,
  codeOf,
  contact,
  type Outcome,
  openStore,
  randomKey,
  settled,
  uniqueName,
} from "./_attack-kit.ts";

/**
 * Works that await, started together: each reads a counter, awaits, and writes it plus one. Works run
 * one at a time in call order, so no increment is lost; one that throws after writing and awaiting
 * writes nothing and does not stop the others.
 */
export async function concurrentWorks(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("concurrent");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      const order: number[] = [];
      const read = (tables: LocalTables): number =>
        Number(new TextDecoder().decode(tables.getSecretMeta("n") ?? new TextEncoder().encode("0")));
      const works = Array.from({ length: 8 }, (_, i) =>
        store.transaction(async (tables) => {
          const n = read(tables);
          tables.putContact(contact(`w${i}`));
          await new Promise((resolve) => setTimeout(resolve, 3 + ((i * 7) % 5)));
          await crypto.subtle.digest("SHA-256", new Uint8Array(8));
          if (i === 3) throw new Error("work 3 fails half-way");
          tables.putSecretMeta("n", new TextEncoder().encode(String(n + 1)));
          order.push(i);
          return n + 1;
        }),
      );
      const results = await Promise.all(works.map((work) => settled(work)));
      checks.equal("settled", results, ["ok", "ok", "ok", "Error", "ok", "ok", "ok", "ok"]);
      checks.equal("in call order", order, [0, 1, 2, 4, 5, 6, 7]);
      const inMemory = await store.read((tables) => [read(tables), tables.getContact("w3")]);
      checks.equal("memory", inMemory, [7, null]);
      await store.close();
      const reopened = await openStore(name, key);
      const onDisk = await reopened.read((tables) => [read(tables), tables.listContacts().length]);
      await reopened.close();
      checks.equal("disk", onDisk, [7, 7]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Two opens of one store from the same page at once: one gets it, the other `local_store_busy`.
 * Close called while works are queued: they all run and commit first; a work asked for after close
 * is refused.
 */
export async function opensAndClose(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("opens");
    const key = randomKey();
    try {
      const opens = await Promise.allSettled([openStore(name, key), openStore(name, key)]);
      checks.equal(
        "two opens at once",
        opens.map((open) => (open.status === "fulfilled" ? "opened" : codeOf(open.reason))).sort(),
        ["local_store_busy", "opened"],
      );
      const store = opens.find((open) => open.status === "fulfilled")!.value;
      const queued = [1, 2, 3].map((i) =>
        store.transaction(async (tables) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          tables.putContact(contact(`queued-${i}`));
        }),
      );
      const closing = store.close();
      const late = await settled(store.transaction((tables) => tables.putContact(contact("late"))));
      checks.equal("queued works", await Promise.all(queued.map((work) => settled(work))), [
        "ok",
        "ok",
        "ok",
      ]);
      await closing;
      checks.equal("a work asked for after close", late, "Error");
      const reopened = await openStore(name, key);
      const names = await reopened.read((tables) => tables.listContacts().map((c) => c.username));
      await reopened.close();
      checks.equal("on disk", names, ["queued-1", "queued-2", "queued-3"]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}

/**
 * Re-entrancy: a store call from a work's synchronous part is refused at once (it would wait for the
 * work it runs in) and the work still commits; the tables of a finished work refuse every use (a
 * write there would belong to no transaction: lost, or published half with the next one), whether it
 * comes after the work resolved or from a task the work left running while it was being committed.
 */
export async function reentrancy(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("reentrant");
    const key = randomKey();
    try {
      const store = await openStore(name, key);
      let inner = "not called";
      await store.transaction((tables) => {
        inner = "pending";
        store
          .read((t) => t.countOutbox())
          .then(
            () => {
              inner = "ran";
            },
            (error: unknown) => {
              inner = codeOf(error);
            },
          );
        tables.putContact(contact("outer"));
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
      checks.equal("inner call", inner, "Error");
      let leaked: LocalTables | null = null;
      let late = "not run";
      await store.transaction((tables) => {
        leaked = tables;
        tables.putContact(contact("in-work"));
        // A task the work does not await: it runs while the work's rows are sealed and written, or after.
        setTimeout(() => {
          try {
            tables.putContact(contact("during-commit"));
            late = "written";
          } catch (error) {
            late = codeOf(error);
          }
        }, 0);
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      checks.equal("a write from a task the work left running", late, "Error");
      let after = "not run";
      try {
        (leaked as LocalTables | null)?.putContact(contact("after-work"));
        after = "written";
      } catch (error) {
        after = codeOf(error);
      }
      checks.equal("a write through finished tables", after, "Error");
      let afterRead = "not run";
      try {
        (leaked as LocalTables | null)?.listContacts();
        afterRead = "read";
      } catch (error) {
        afterRead = codeOf(error);
      }
      checks.equal("a read through finished tables", afterRead, "Error");
      await store.transaction((tables) => tables.putContact(contact("next")));
      await store.close();
      const reopened = await openStore(name, key);
      const names = await reopened.read((tables) => tables.listContacts().map((c) => c.username));
      await reopened.close();
      checks.equal("on disk", names, ["in-work", "next", "outer"]);
    } finally {
      await IdbLocalStore.destroy(name).catch(() => {});
    }
  });
}
