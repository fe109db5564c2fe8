import { NanoError } from "../../errors/index.ts";
import type { ClientContext } from "../context.ts";
import { loadOwnIdentity } from "../home/local-identity.ts";
import { relayUrl } from "../transport/relay-link.ts";

export interface DeleteAccountResult {
  readonly username: string;
  readonly relay: string;
}

/**
 * `account delete`: the relay erases this account (docs/client.md "Deleting your account"): tokens,
 * prekeys, mailbox, attachments, its personal data in the relay's logs; the name stays unclaimable for
 * the relay's cooling-off period. Signed by the identity keys, so only this home can do it. The local
 * home is left as it is (its history is the user's); delete its folder to remove that too.
 * `confirm` must repeat the username: the deletion cannot be undone.
 */
export async function deleteAccount(context: ClientContext, confirm: string): Promise<DeleteAccountResult> {
  // The stored identity first, as status does: a client that claimed its name while open (the web app,
  // an SDK user) still holds the config it was opened with, which names no user yet.
  const own = await loadOwnIdentity(context.provider, context.home.store, context.home.seeds);
  const username = own?.record.username ?? context.home.config.username;
  if (username === null)
    throw new NanoError(
      "username_not_claimed",
      "this home has no username on a relay, so there is no account to delete",
    );
  if (confirm !== username)
    throw new NanoError(
      "confirmation_mismatch",
      `type the username to confirm: --confirm ${username} (the deletion cannot be undone)`,
    );
  const link = await context.link();
  await link.api.deleteAccount();
  context.retireLink();
  return { username, relay: relayUrl(context.home) };
}
