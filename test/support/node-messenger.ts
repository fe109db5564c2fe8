/**
 * The web app's Messenger over the real client in Node (ClientMessenger over NanoClient): a home under
 * `dir`, the cheapest keystore work factor the bounds allow (the tests exercise behaviour, not
 * argon2id), received files saved under the home. Used by test/e2e/client-messenger.test.ts (the page
 * runs the same ClientMessenger over its own runtime: test/browser/app-in-page.test.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ClientMessenger, type MessengerRuntime } from "../../src/client/messenger/client-messenger.ts";
import { NanoClient } from "../../src/client/nano-client.ts";

const MIN_ARGON2ID = Object.freeze({ memoryKiB: 19_456, passes: 2, parallelism: 1 });
/** The passphrase of a home made without one (NanoClient's keystore always has one). */
export const DEFAULT_TEST_PASSPHRASE = "e2e correct horse battery";

export interface NodeMessenger {
  readonly messenger: ClientMessenger;
  /** The runtime under it: a second ClientMessenger over it is a reopened page over the same home. */
  readonly runtime: MessengerRuntime;
  close(): Promise<void>;
}

export function nodeMessenger(relayUrl: string, home: string): NodeMessenger {
  let client: NanoClient | null = null;
  const runtime: MessengerRuntime = {
    client: () => client,
    createIdentity: async ({ mode, passphrase }) => {
      client = await NanoClient.create({
        home,
        passphrase: passphrase ?? DEFAULT_TEST_PASSPHRASE,
        mode,
        relay: relayUrl,
        argon2id: MIN_ARGON2ID,
      });
      return client;
    },
    locked: async () => false,
    unlock: async () => client!,
    relay: () => relayUrl,
    openFile: async (entry) => ({
      name: entry.attachment?.filename ?? "file",
      bytes: new Uint8Array(readFileSync(entry.attachment!.path!)),
    }),
    exportData: async () => ({ name: "export.json", bytes: new Uint8Array() }),
    forget: async () => {
      await client?.close();
      client = null;
    },
    saveDir: join(home, "downloads"),
  };
  const messenger = new ClientMessenger(runtime);
  return {
    messenger,
    runtime,
    close: async () => {
      await messenger.stop();
      await client?.close();
      client = null;
    },
  };
}
