import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { RelayStore } from "../../src/store/types.ts";
import { runStoreConformance } from "./conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "nano-store-"));
let counter = 0;
const paths = new WeakMap<RelayStore, string>();

// A real file, not :memory:, so WAL and synchronous=FULL are what is being tested.
runStoreConformance("sqlite", {
  async create() {
    const path = join(dir, `store-${counter++}.sqlite`);
    const store = new SqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    await store.close();
    const reopened = new SqliteStore({ path });
    paths.set(reopened, path);
    return reopened;
  },
});
