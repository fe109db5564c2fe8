import { after, before } from "node:test";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import type { RelayStore } from "../../src/store/types.ts";
import { createTestDatabase, randomName, type TestDatabase } from "../support/services.ts";
import { runStoreConformance } from "./conformance.ts";

// The real server, one database for this file and one schema per store, so every store starts empty.
let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(() => database.drop());
const schemas = new WeakMap<RelayStore, string>();

async function open(schema: string): Promise<PostgresStore> {
  return PostgresStore.open({ url: database.url, schema, migrate: true, max: 4 });
}

runStoreConformance("postgres", {
  async create() {
    const schema = randomName("s");
    const admin = await PostgresStore.open({ url: database.url, max: 1 });
    await admin.pool.query(`CREATE SCHEMA ${schema}`);
    await admin.close();
    const store = await open(schema);
    schemas.set(store, schema);
    return store;
  },
  async reopen(store) {
    const schema = schemas.get(store)!;
    await store.close();
    const reopened = await open(schema);
    schemas.set(reopened, schema);
    return reopened;
  },
});
