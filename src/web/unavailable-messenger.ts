import type { Messenger } from "./messenger.ts";

/**
 * The messenger of a build whose protocol cannot run in the page yet (src/protocol still imports
 * node:crypto; docs/web.md "Status"): it holds no identity and refuses every operation with a plain
 * sentence, so the app shows its screens and says why nothing can be created, instead of pretending.
 * Replaced by the browser client once src/protocol runs on the browser's crypto provider.
 */
const REASON = 'this build cannot run the messaging protocol in the browser yet (docs/web.md "Status")';

export function unavailableMessenger(): Messenger {
  const refuse = (): Promise<never> => Promise.reject(new Error(REASON));
  return {
    maxFileBytes: 0,
    account: () => Promise.resolve(null),
    locked: () => Promise.resolve(false),
    unlock: refuse,
    createIdentity: refuse,
    claimUsername: refuse,
    conversations: () => Promise.resolve([]),
    history: () => Promise.resolve([]),
    markRead: () => Promise.resolve(),
    sendText: refuse,
    sendFile: refuse,
    openFile: refuse,
    contact: () => Promise.resolve(null),
    safetyNumber: refuse,
    markVerified: refuse,
    acceptIdentity: refuse,
    pending: () => Promise.resolve([]),
    exportData: refuse,
    deleteAccount: refuse,
    subscribe: () => () => {},
  };
}
