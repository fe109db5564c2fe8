/**
 * Access audit for the operator commands that read or replace every account's data at once (check,
 * backup, restore): one `admin_action` event with the operator (OS user) and the command, appended to
 * the audit log of the database the configuration names (docs/compliance.md, "Access audit").
 *
 * Unlike export, erase and hold (which refuse to act unlogged), these are recovery tools: a database
 * too damaged or a disk too full to take the event must not also lose its check or its backup. So a
 * failure to record is reported on stderr and the command goes on.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { DetailValue } from "../../audit/audit-event.ts";
import { readLogKey } from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import type { RelayConfig } from "../../relay/config/schema.ts";
import { RelayTransparency, transactionRunner } from "../../relay/transparency.ts";
import { schemaVersion } from "../../store/sqlite/migrations.ts";
import { openDatabase } from "../../store/sqlite/sqlite-store.ts";
import { operatorName } from "./_operator.ts";

const LOGS_MIGRATION = 4;

export async function recordOperatorAccess(
  config: RelayConfig,
  action: string,
  details: Readonly<Record<string, DetailValue>> = {},
): Promise<number | undefined> {
  const database = resolve(config.storage.path);
  const keyFile = logKeyPath(config);
  if (!existsSync(database) || !existsSync(keyFile)) return undefined;
  try {
    const db = openDatabase(database, config.storage.busy_timeout_ms);
    try {
      if (schemaVersion(db) < LOGS_MIGRATION) return undefined;
      const transparency = new RelayTransparency({
        db,
        key: readLogKey(keyFile, config.compliance.log_origin),
        run: transactionRunner(db),
        now: () => Date.now(),
      });
      return await transparency.record({
        type: "admin_action",
        outcome: "success",
        time: Date.now(),
        operator: operatorName(),
        details: { action, ...details },
      });
    } finally {
      db.close();
    }
  } catch (error) {
    process.stderr.write(
      `nano-relay: warning: could not record this ${action} in the audit log: ${(error as Error).message}\n`,
    );
    return undefined;
  }
}
