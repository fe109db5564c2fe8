import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../relay/fixtures/harness.ts";

/** Quotas far above what the store checks' tests enqueue: they fill mailboxes, not test quotas. */
const QUOTA = { maxMessages: 100_000, maxBytes: 1 << 30 };

/**
 * A closed relay database at a fresh path holding `messages` messages of 3,000 bytes from alice,
 * alternately to bob and carol: what the integrity checks' tests damage or check.
 */
export async function filledStore(messages = 40): Promise<string> {
  const path = join(tempDir("integrity"), "relay.sqlite");
  const store = new SqliteStore({ path });
  await store.mailboxes.enqueue(
    Array.from({ length: messages }, (_, i) => ({
      sender: "alice",
      recipient: i % 2 === 0 ? "bob" : "carol",
      clientMessageId: `m-${i}`,
      envelope: new Uint8Array(3000).fill(i),
      envelopeHash: new Uint8Array(64).fill(i),
      createdAt: Date.now(),
      expiresAt: Date.now() + 86_400_000,
    })),
    QUOTA,
  );
  await store.close();
  return path;
}
