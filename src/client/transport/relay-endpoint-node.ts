import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { NanoError } from "../../errors/index.ts";
import type { UnlockedHome } from "../home/open-home.ts";
import { endpointFromUrl } from "./relay-http.ts";
import { relayUrl } from "./relay-link.ts";
import type { RelayEndpoint } from "./relay-request.ts";

/**
 * The Node client's relay endpoint: the configured relay over node:http(s), with `--ca` / config `ca`
 * (a PEM file) trusted for this connection only. The page's counterpart is `fetchEndpoint`
 * (relay-fetch.ts), which has no CA file to read.
 */
export async function nodeRelayEndpoint(home: UnlockedHome): Promise<RelayEndpoint> {
  return endpointFromUrl(relayUrl(home), await readCa(home.config.ca));
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
