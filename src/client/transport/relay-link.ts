import { wipe } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import type { ClientRuntime } from "../client-runtime.ts";
import { loadOwnIdentity, type OwnIdentity, requireOwnIdentity } from "../home/local-identity.ts";
import type { UnlockedHome } from "../home/open-home.ts";
import { RelayApi } from "./relay-api.ts";
import { RelayChannel } from "./relay-channel.ts";

/**
 * What every relay-backed command needs: the own identity (record, device) and an API client for the
 * configured relay, with `--ca` / config `ca` as an extra trust anchor for this connection only.
 * An open client keeps one (ClientContext.link), so its bearer token and the own identity (the keys
 * derived from the seeds, the decoded record and certificate) are reused by every command instead of
 * a new login and a new derivation per send. Memory only: nothing more is written to disk. The token
 * renews itself a minute before expiry, and a 401 logs in once more (RelayApi).
 */
export interface RelayLink {
  readonly own: OwnIdentity;
  readonly api: RelayApi;
  /** The client's one WebSocket for sends, acks and pushes; connects on first use, closed with the link. */
  readonly channel: RelayChannel;
}

export function relayUrl(home: UnlockedHome): string {
  if (home.config.relay === null) {
    throw new NanoError("invalid_argument", "no relay configured: pass --relay URL");
  }
  return home.config.relay;
}

/**
 * A link for `own`, or for the identity stored in the home (username_not_claimed before a claim, and
 * before the relay is looked at). The endpoint comes from the client's runtime (context.ts: node:https
 * with the config's CA in Node, fetch in the page), so this module is the same in both.
 */
export async function buildRelayLink(
  home: UnlockedHome,
  runtime: ClientRuntime,
  own?: OwnIdentity,
): Promise<RelayLink> {
  const identity =
    own ??
    requireOwnIdentity(await loadOwnIdentity(runtime.provider, home.store, home.seeds), home.config.username);
  const endpoint = await runtime.relayEndpoint(home);
  const api = new RelayApi(endpoint, identity);
  return { own: identity, api, channel: new RelayChannel(api) };
}

/** Closes the link's channel and wipes its copy of the device seed (the link is unusable after). */
export function closeRelayLink(link: RelayLink): void {
  link.channel.close();
  wipe(link.own.deviceSeed);
}
