// The attacker's page (test/browser/browser-store-attacks.test.ts): someone with the profile's
// IndexedDB edits, swaps, deletes and replays what the browser store and keystore wrote; the machine
// fails under them (quota, a connection closed by another page, huge rows, thousands of rows); the
// store's own users race it (works that await, a work that throws half-way, re-entrancy, tables used
// after their work). Each attack returns what the store answered; the test asserts it refused with a
// typed error, lost nothing committed and never showed a half-commit.
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import {
  keystoreDatabaseReplaced,
  keystoreDowngrades,
  keystoreRaces,
  keystoreSwaps,
} from "./keystore-attacks.ts";
import {
  commitLoop,
  connectionClosedMidLoop,
  failedRequest,
  largeRows,
  manyRows,
  openNew,
  overQuota,
  verifyLoop,
} from "./machine-failures.ts";
import {
  anchorAttacks,
  brokenRowUpdated,
  columnsEdited,
  copiedRows,
  keyCheckDeleted,
  missingObjectStores,
  oddKeys,
} from "./profile-edits.ts";
import { concurrentWorks, opensAndClose, reentrancy } from "./store-users.ts";

export type { Outcome } from "./_attack-kit.ts";

(globalThis as { nanoAttacks?: unknown }).nanoAttacks = {
  copiedRows,
  oddKeys,
  columnsEdited,
  keyCheckDeleted,
  missingObjectStores,
  anchorAttacks,
  brokenRowUpdated,
  commitLoop,
  verifyLoop,
  overQuota,
  openNew,
  failedRequest,
  connectionClosedMidLoop,
  largeRows,
  manyRows,
  concurrentWorks,
  opensAndClose,
  reentrancy,
  keystoreSwaps,
  keystoreDowngrades,
  keystoreDatabaseReplaced,
  keystoreRaces,
  destroy: (name: string) => IdbLocalStore.destroy(name),
};
const element = document.getElementById("status");
if (element) element.textContent = "ready";
