// The browser store in the page: test/browser/idb-store.test.ts runs the local store conformance suite
// against IdbLocalStore (`nanoStore.run`), a commit loop it interrupts by reloading the page
// (`commitLoop` / `verifyLoop`), and the browser keystore (`nanoStore.keystore*`).
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { requestResult, transactionDone } from "../../../../src/client/browser-store/idb-requests.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import { CONFORMANCE_CASES, type StoreSubject } from "../../../client/local-store-conformance/_suite.ts";

export interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

let providerMade: Promise<CryptoProvider> | undefined;
function provider(): Promise<CryptoProvider> {
  providerMade ??= createWebProvider();
  return providerMade;
}

function describeError(error: unknown): string {
  if (error instanceof Error)
    return `${(error as { code?: string }).code ?? error.name}: ${error.message}\n${error.stack ?? ""}`;
  return String(error);
}

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

function openRaw(name: string): Promise<IDBDatabase> {
  return requestResult(indexedDB.open(name));
}

/** The conformance subject over IndexedDB: tampering edits the object store under the closed store. */
function idbSubject(name: string, primitives: CryptoProvider["primitives"]): StoreSubject {
  const key = randomKey();
  return {
    open: (databaseKey) => IdbLocalStore.open({ name, databaseKey: databaseKey ?? key, primitives }),
    async tamper(table, action) {
      const db = await openRaw(name);
      try {
        const transaction = db.transaction(table, "readwrite");
        const done = transactionDone(transaction);
        const objectStore = transaction.objectStore(table);
        const keys = await requestResult(objectStore.getAllKeys());
        const values = (await requestResult(objectStore.getAll())) as { record: Uint8Array }[];
        const [first, second] = values;
        if (first === undefined) throw new Error(`no row in ${table} to tamper with`);
        if (action === "flip-byte") {
          const changed = Uint8Array.from(first.record);
          changed[changed.length - 20]! ^= 0x01;
          objectStore.put({ ...first, record: changed }, keys[0]!);
        } else if (action === "truncate") {
          objectStore.put({ ...first, record: first.record.slice(0, 20) }, keys[0]!);
        } else {
          if (second === undefined) throw new Error(`${table} needs two rows to swap`);
          objectStore.put({ ...first, record: second.record }, keys[0]!);
          objectStore.put({ ...second, record: first.record }, keys[1]!);
        }
        await done;
      } finally {
        db.close();
      }
    },
  };
}

async function run(index: number): Promise<Outcome> {
  const conformance = CONFORMANCE_CASES[index];
  if (conformance === undefined) return { ok: false, detail: `no case #${index}` };
  const name = `conformance-${index}-${Array.from(randomKey().subarray(0, 6), (b) => b.toString(16)).join("")}`;
  try {
    await conformance.run(idbSubject(name, (await provider()).primitives));
    return { ok: true, detail: conformance.name };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    await IdbLocalStore.destroy(name).catch(() => {});
  }
}

const LOOP_ROWS = 6;
const LOOP_KEY_META = "loop-key";

/**
 * Commits transactions 1, 2, 3... until the page goes away, each writing LOOP_ROWS contacts, a session
 * and a meta row that all carry its number; `committed` counts the transactions whose promise resolved.
 */
async function commitLoop(name: string, keyHex: string): Promise<void> {
  const databaseKey = Uint8Array.from(keyHex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  const store = await IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
  const state = globalThis as { committed?: number };
  state.committed = 0;
  const start = await store.read((tables) => {
    const meta = tables.getSecretMeta(LOOP_KEY_META);
    return meta === null ? 0 : Number(new TextDecoder().decode(meta));
  });
  for (let round = start + 1; round <= start + 100_000; round++) {
    await store.transaction((tables) => {
      for (let row = 0; row < LOOP_ROWS; row++) {
        tables.putContact({
          username: `u${round}-${row}`,
          identityRecord: new Uint8Array(2000).fill(round % 256),
          pinnedSuite: 2,
          verified: false,
          safetyNumberConfirmedAt: null,
          identityChanged: false,
          addedAt: round,
          updatedAt: round,
        });
      }
      tables.putSession({
        sessionId: new Uint8Array(16).fill(7),
        peer: "bob",
        state: new Uint8Array(4000).fill(round % 256),
        updatedAt: round,
        archived: false,
      });
      tables.putSecretMeta(LOOP_KEY_META, new TextEncoder().encode(String(round)));
    });
    state.committed = round - start;
  }
}

/** After the reload: every transaction in the store is there completely, and they are 1..n without gaps. */
async function verifyLoop(name: string, keyHex: string): Promise<Outcome & { readonly rounds: number }> {
  const databaseKey = Uint8Array.from(keyHex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  try {
    const store = await IdbLocalStore.open({ name, databaseKey, primitives: (await provider()).primitives });
    try {
      return await store.read((tables) => {
        const meta = tables.getSecretMeta(LOOP_KEY_META);
        const rounds = meta === null ? 0 : Number(new TextDecoder().decode(meta));
        const contacts = tables.listContacts();
        const problems: string[] = [];
        if (contacts.length !== rounds * LOOP_ROWS)
          problems.push(`${contacts.length} contacts for ${rounds} rounds`);
        for (let round = 1; round <= rounds; round++) {
          for (let row = 0; row < LOOP_ROWS; row++) {
            if (tables.getContact(`u${round}-${row}`) === null)
              problems.push(`round ${round} lacks row ${row}`);
          }
        }
        const [session] = tables.getSessions("bob");
        if (rounds > 0 && session?.updatedAt !== rounds)
          problems.push(`session at ${session?.updatedAt}, meta at ${rounds}`);
        if (rounds > 0 && tables.stateVersion() !== rounds)
          problems.push(`state counter ${tables.stateVersion()} for ${rounds} rounds`);
        return { ok: problems.length === 0, detail: problems.slice(0, 5).join("; "), rounds };
      });
    } finally {
      await store.close();
    }
  } catch (error) {
    return { ok: false, detail: describeError(error), rounds: -1 };
  }
}

async function destroy(name: string): Promise<void> {
  await IdbLocalStore.destroy(name);
}

(globalThis as { nanoStore?: unknown }).nanoStore = {
  run,
  commitLoop,
  verifyLoop,
  destroy,
  cases: CONFORMANCE_CASES.length,
};
const element = document.getElementById("status");
if (element) element.textContent = "ready";
