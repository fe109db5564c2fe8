/**
 * Whether the browser may evict this origin's storage (docs/web.md "Browser storage"): without
 * persistent storage it may delete IndexedDB — the keystore, the sessions, the history — when space
 * runs low, and an evicted identity cannot be recovered. The settings screen shows the answer, with
 * the export as the backup, and can ask again from a click (some browsers ask the user then).
 */
import { requestPersistentStorage } from "../client/browser-store/browser-keystore.ts";

/** "unknown": the browser has no StorageManager (an old browser or a sandboxed frame). */
export type StorageDurability = "persistent" | "evictable" | "unknown";

export interface StorageGuard {
  state(): Promise<StorageDurability>;
  /** Asks the browser to keep the storage; the state after the answer. */
  request(): Promise<StorageDurability>;
}

export function storageGuard(storage: StorageManager | undefined): StorageGuard {
  const state = async (): Promise<StorageDurability> => {
    if (storage === undefined || typeof storage.persisted !== "function") return "unknown";
    return (await storage.persisted()) ? "persistent" : "evictable";
  };
  return {
    state,
    request: async () => {
      await requestPersistentStorage();
      return state();
    },
  };
}
