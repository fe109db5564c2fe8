import { utf8 } from "../../crypto/bytes.ts";
import type { ClientContext } from "../context.ts";
import type { LocalTables } from "../local-store/local-tables.ts";
import { checkUsernameArgument } from "./claim-username.ts";

/**
 * `block NAME` / `unblock NAME` (docs/client.md "Contacts"). A blocked sender's messages are
 * acknowledged to the relay and dropped before anything of them is decrypted: no session advances,
 * no delivery receipt goes back (which would tell the sender they were read), nothing is shown. The
 * relay authenticated the sender, so a block cannot be dodged by naming someone else inside the
 * message. A sender need not be a contact to be blocked (a stranger's first contacts are dropped too).
 *
 * The list and the count of dropped messages live in one sealed meta row: who a user blocks is as
 * private as who they talk to.
 */
export interface BlockList {
  /** Usernames, sorted. */
  readonly usernames: readonly string[];
  /** Messages dropped since the home was created, per blocked (or once blocked) username. */
  readonly dropped: Readonly<Record<string, number>>;
}

const META_NAME = "blocked-senders";
const EMPTY: BlockList = { usernames: [], dropped: {} };

export function loadBlockList(tables: LocalTables): BlockList {
  const bytes = tables.getSecretMeta(META_NAME);
  if (bytes === null) return EMPTY;
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<BlockList>;
  return { usernames: parsed.usernames ?? [], dropped: parsed.dropped ?? {} };
}

function storeBlockList(tables: LocalTables, list: BlockList): void {
  tables.putSecretMeta(META_NAME, utf8(JSON.stringify(list)));
}

export function isBlocked(tables: LocalTables, username: string): boolean {
  return loadBlockList(tables).usernames.includes(username);
}

/** Counts one dropped message of `username` (in the transaction that decided to drop it). */
export function countDropped(tables: LocalTables, username: string): void {
  const list = loadBlockList(tables);
  storeBlockList(tables, {
    ...list,
    dropped: { ...list.dropped, [username]: (list.dropped[username] ?? 0) + 1 },
  });
}

export interface BlockResult {
  readonly username: string;
  readonly blocked: boolean;
  /** False when the list already said so (blocking twice, or unblocking someone not blocked). */
  readonly changed: boolean;
}

export async function setBlocked(
  context: ClientContext,
  username: string,
  blocked: boolean,
): Promise<BlockResult> {
  checkUsernameArgument(username);
  return context.store.transaction((tables) => {
    const list = loadBlockList(tables);
    const present = list.usernames.includes(username);
    if (present === blocked) return { username, blocked, changed: false };
    const usernames = blocked
      ? [...list.usernames, username].sort()
      : list.usernames.filter((name) => name !== username);
    storeBlockList(tables, { ...list, usernames });
    return { username, blocked, changed: true };
  });
}

/** What `status` shows: how many senders are blocked and how many of their messages were dropped. */
export interface BlockSummary {
  readonly senders: readonly string[];
  readonly droppedMessages: number;
}

export function summarizeBlocks(list: BlockList): BlockSummary {
  let droppedMessages = 0;
  for (const count of Object.values(list.dropped)) droppedMessages += count;
  return { senders: list.usernames, droppedMessages };
}
