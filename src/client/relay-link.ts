import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { NanoError } from "../errors/index.ts";
import { loadOwnIdentity, type OwnIdentity, requireOwnIdentity } from "./local-identity.ts";
import { RelayApi } from "./transport/relay-api.ts";
import { endpointFromUrl } from "./transport/relay-http.ts";
import type { UnlockedHome } from "./unlocked-home.ts";

/**
 * What every relay-backed command needs: the own identity (record, device) and an API client for the
 * configured relay, with `--ca` / config `ca` as an extra trust anchor for this connection only.
 */
export interface RelayLink {
  readonly own: OwnIdentity;
  readonly api: RelayApi;
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

export async function openRelayLink(home: UnlockedHome, own?: OwnIdentity): Promise<RelayLink> {
  const identity =
    own ?? requireOwnIdentity(await home.store.read((tables) => loadOwnIdentity(tables, home.seeds)));
  const endpoint = endpointFromUrl(relayUrl(home), await readCa(home.config.ca));
  return { own: identity, api: new RelayApi(endpoint, identity) };
}
