import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { checkStore } from "../../src/store/sqlite/integrity.ts";
import { filledStore } from "./_filled-store.ts";

/**
 * The relay database's start check while other processes write the same file, as a deploy's old
 * workers do while a new worker starts (test/deploy/no-loss.test.ts once caught it): every count the
 * check compares must come from one snapshot. In a file of its own: it starts a process (full tier).
 */
test("the start check reads one snapshot while another process keeps writing (a deploy's old workers)", async () => {
  const path = await filledStore(4000);
  // A second process commits messages and their usage together, as the old workers do, until it is
  // told to stop (or after 20 s on its own). Without one snapshot, a commit landing between the
  // table scan and the index count read as damage: "-1 of 0 messages are not reachable".
  const writer = spawn(
    process.execPath,
    [
      "-e",
      `const { DatabaseSync } = require("node:sqlite");
       const db = new DatabaseSync(process.argv[1], { timeout: 5000 });
       const insert = db.prepare("INSERT INTO messages (recipient, sender, envelope, size, created_at, expires_at) VALUES ('bob', 'alice', x'00', 1, 0, 9e15)");
       const usage = db.prepare("UPDATE mailbox_usage SET messages = messages + 1, bytes = bytes + 1 WHERE recipient = 'bob'");
       const stopAt = Date.now() + 20000;
       process.stdout.write("ready\\n");
       while (Date.now() < stopAt) { db.exec("BEGIN IMMEDIATE"); insert.run(); usage.run(); db.exec("COMMIT"); }`,
      path,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await once(writer.stdout, "data");
    const db = new DatabaseSync(path, { timeout: 5000 });
    try {
      for (let round = 0; round < 60; round++) {
        const report = checkStore(db, round % 2 === 0 ? "quick" : "full");
        assert.deepEqual(report.problems, [], `round ${round}`);
        assert.equal(db.isTransaction, false, "the check leaves no transaction open");
      }
    } finally {
      db.close();
    }
  } finally {
    writer.kill("SIGKILL");
  }
});
