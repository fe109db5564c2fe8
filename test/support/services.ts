/**
 * The machine's real PostgreSQL and Redis for tests (README "Testing"; .ci/run starts them). Every test
 * file isolates itself: a database of its own with a random name, dropped at the end, and random Redis
 * key and channel prefixes. Nothing here ever drops or flushes what it did not create.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.NANO_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.NANO_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** `url` with its database replaced. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A freshly created, empty database; `drop()` removes it (and ends its leftover connections). */
export async function createTestDatabase(prefix = "nano_test"): Promise<TestDatabase> {
  const name = randomName(prefix);
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url: databaseUrl(POSTGRES_URL, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
