import type { AccountRecord, WriteContext } from "../types.ts";
import type { PoolClient } from "./connection.ts";

/**
 * The PostgreSQL form of StoreJournal (src/store/types.ts): called INSIDE the transaction of an
 * account change, on that transaction's connection, so the audit event and the key-transparency
 * binding commit or roll back with the change. A journal that throws aborts the change (fail closed).
 */
export interface PostgresJournal {
  accountClaimed(tx: PoolClient, account: AccountRecord, context: WriteContext): Promise<void>;
  identityReplaced(
    tx: PoolClient,
    username: string,
    next: { identityHash: Uint8Array; identityRecord: Uint8Array },
    now: number,
    context: WriteContext,
  ): Promise<void>;
}
