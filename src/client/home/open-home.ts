import type { LocalStoreApi } from "../local-store/local-tables.ts";
import type { ClientConfig } from "./client-config.ts";
import type { IdentitySeeds } from "./identity-seeds.ts";

/**
 * A home opened with its passphrase, whatever keeps it (docs/web.md "Plan for the browser client",
 * step 2): the config, the decrypted identity seeds, the open local store and the quarantine, through
 * runtime-free interfaces only. Node's is a folder (unlocked-home.ts: config.json, the keystore file,
 * SQLite); the page's will be IndexedDB and the browser keystore, the config a sealed row. Every
 * operation takes this, so it runs in both. `close()` wipes the key material it holds (best effort).
 */
export interface UnlockedHome {
  /** Where the home lives, for display: its folder in Node. */
  readonly location: string;
  readonly config: ClientConfig;
  readonly seeds: IdentitySeeds;
  readonly store: LocalStoreApi;
  /**
   * The quarantine (issue 13, loss 4): kept apart from the store under the same key, so that putting a
   * backup of the store back — the way to open what is in it — does not throw the quarantine away.
   */
  readonly quarantine: LocalStoreApi;
  /** Replaces the stored config (a claim records its username and relay); this object keeps the old one. */
  saveConfig(config: ClientConfig): Promise<void>;
  close(): Promise<void>;
}
