import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { wipe } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { loadOwnIdentity, type OwnIdentity, requireOwnIdentity } from "../home/local-identity.ts";
import type { UnlockedHome } from "../home/unlocked-home.ts";
import { RelayApi } from "./relay-api.ts";
import { RelayChannel } from "./relay-channel.ts";
import { endpointFromUrl } from "./relay-http.ts";

/**
 * What every relay-backed command needs: the own identity (record, device) and an API client for the
 * configured relay, with `--ca` / config `ca` as an extra trust anchor for this connection only.
 */
export interface RelayLink {
  readonly own: OwnIdentity;
  readonly api: RelayApi;
  /** The home's one WebSocket for sends, acks and pushes; connects on first use, closed on close(). */
  readonly channel: RelayChannel;
}

export function relayUrl(home: UnlockedHome): string {
  if (home.config.relay === null) {
    throw new NanoError("invalid_argument", "no relay configured: pass --relay URL");
  }
  return home.config.relay;
}

export async function readCa(path: string | null): Promise<string | null> {
  if (path === null) return null;
  try {
    return await readFile(resolve(path), "utf8");
  } catch (error) {
    throw new NanoError(
      "invalid_argument",
      `cannot read the CA file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
}

/**
 * One link per unlocked home (i.e. per open `NanoClient`), so its bearer token and the own identity
 * (the keys derived from the seeds, the decoded record and certificate) are reused by every command
 * instead of a new login and a new derivation per send. Memory only, for the home's lifetime: nothing
 * more is written to disk. The token renews itself a minute before expiry, and a 401 logs in once more
 * (RelayApi). Keyed weakly so a dropped home takes its link with it.
 */
const links = new WeakMap<UnlockedHome, Promise<RelayLink>>();

async function buildRelayLink(home: UnlockedHome, own?: OwnIdentity): Promise<RelayLink> {
  const identity =
    own ?? requireOwnIdentity(await home.store.read((tables) => loadOwnIdentity(tables, home.seeds)));
  const endpoint = endpointFromUrl(relayUrl(home), await readCa(home.config.ca));
  const api = new RelayApi(endpoint, identity);
  return { own: identity, api, channel: new RelayChannel(api) };
}

/**
 * The home's link. With an explicit `own` (claim, replace: an identity that is being created or
 * changed), a fresh uncached link for that identity; the cached one is dropped because the stored
 * identity may be about to change.
 */
export function openRelayLink(home: UnlockedHome, own?: OwnIdentity): Promise<RelayLink> {
  if (own !== undefined) {
    // Not wiped: a command still running may hold it; close() wipes what is cached then.
    links.delete(home);
    return buildRelayLink(home, own);
  }
  const cached = links.get(home);
  if (cached !== undefined) return cached;
  const building = buildRelayLink(home);
  links.set(home, building);
  // A failure (no username yet, unreadable CA) is not cached: the next command tries again.
  building.catch(() => {
    if (links.get(home) === building) links.delete(home);
  });
  return building;
}

/** Drops the home's cached link, closes its channel and wipes its device seed copy (on close). */
export function forgetRelayLink(home: UnlockedHome): void {
  const cached = links.get(home);
  if (cached === undefined) return;
  links.delete(home);
  cached.then(
    (link) => {
      link.channel.close();
      wipe(link.own.deviceSeed);
    },
    () => {},
  );
}
