// The WAL fsync's file descriptor (src/store/sqlite/wal-sync.ts) closed under it: its number may be
// reused at once by another file. The sync must reopen the WAL and never close the other file (which
// could be the database itself, a socket or a blob being written).
import assert from "node:assert/strict";
import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../relay/fixtures/harness.ts";

/** This process's read-only descriptors of `path` (SQLite opens the WAL read-write; WalSync read-only). */
function readOnlyDescriptors(path: string): number[] {
  return readdirSync("/proc/self/fd")
    .map(Number)
    .filter((fd) => {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`) !== path) return false;
        const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
        return flags !== null && (Number.parseInt(flags[1]!, 8) & 3) === 0;
      } catch {
        return false;
      }
    });
}

describe("WAL sync with its descriptor closed under it", () => {
  it("reopens the WAL and leaves the file that took the descriptor's number open", async () => {
    const dir = tempDir("wal-sync");
    const path = join(dir, "w.sqlite");
    const store = new SqliteStore({ path });
    try {
      await store.writer.submit(() => store.db.exec("CREATE TABLE t (x INTEGER)"));
      const [fd, ...more] = readOnlyDescriptors(`${path}-wal`);
      assert.ok(fd !== undefined && more.length === 0, "one read-only descriptor of the WAL");
      closeSync(fd);
      const other = join(dir, "other");
      writeFileSync(other, "x");
      const reused = openSync(other, "r");
      try {
        assert.equal(reused, fd, "the lowest free number is reused");
        await store.writer.submit(() => store.db.exec("INSERT INTO t VALUES (1)"));
        assert.equal(
          fstatSync(reused).ino,
          statSync(other).ino,
          "the other file is still open on its number",
        );
        assert.equal(readOnlyDescriptors(`${path}-wal`).length, 1, "the WAL reopened for its sync");
      } finally {
        closeSync(reused);
      }
    } finally {
      await store.close();
    }
  });
});
