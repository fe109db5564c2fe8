import { NanoError } from "../../errors/index.ts";
import { decodeIdentityRecordExact, type IdentityRecord } from "../../protocol/index.ts";
import type { LocalStore } from "../local-store/local-store.ts";
import type { RelayApi } from "../transport/relay-api.ts";
import { verifyTransparency } from "./kt-client.ts";

/**
 * The identity record key transparency proves for `username` (docs/client.md "Key transparency"): the
 * relay's current record for the account, decoded (every self-signature verified) and checked against
 * the relay's KT log (inclusion under a checkpoint this client verified and tracks). This is what the
 * protocol asks for before it accepts a first contact from someone whose record is not pinned
 * (docs/protocol.md §7.7, `needs_record`). Null when the relay knows no such account.
 *
 * Throws `relay_unreachable` (the caller keeps the message and tries again later) and the verifier's
 * typed errors: a record the log does not prove is never returned.
 */
export async function provenRecord(
  store: LocalStore,
  api: RelayApi,
  username: string,
): Promise<IdentityRecord | null> {
  let account: { identityRecord: Uint8Array; transparency: unknown };
  try {
    account = await api.account(username);
  } catch (error) {
    if (NanoError.is(error, "account_not_found")) return null;
    throw error;
  }
  const record = decodeIdentityRecordExact(account.identityRecord);
  if (record.username !== username) {
    throw new NanoError(
      "certificate_mismatch",
      `the relay returned ${record.username}'s record for ${username}`,
    );
  }
  await verifyTransparency(store, api, username, account.identityRecord, account.transparency);
  return record;
}
