/**
 * The web app's client runtime (docs/web.md "The client in the page"): ClientMessenger's
 * `MessengerRuntime` over the browser home (IndexedDB store and quarantine, the browser keystore with
 * an optional passphrase) and the SDK's ClientCore — the same operations the CLI runs — on the page's
 * ClientRuntime: the browser's crypto provider, the relay over fetch and the browser's WebSocket, and
 * received files kept sealed in the home's IndexedDB (idb-attachment-sink.ts). Nothing here talks to
 * the relay itself.
 */

import {
  type BrowserHomeOptions,
  type BrowserUnlockedHome,
  createBrowserHome,
  deleteBrowserHome,
  hasBrowserHome,
  openBrowserHome,
} from "../client/browser-store/browser-home.ts";
import { ClientCore } from "../client/client-core.ts";
import type { ClientRuntime } from "../client/client-runtime.ts";
import type { UnlockedHome } from "../client/home/open-home.ts";
import type { MessengerRuntime } from "../client/messenger/client-messenger.ts";
import type { HistoryEntry } from "../client/operations/history.ts";
import { fetchEndpoint } from "../client/transport/relay-fetch.ts";
import { relayUrl } from "../client/transport/relay-link.ts";
import { utf8 } from "../crypto/bytes.ts";
import type { Argon2idParameters } from "../crypto/password-parameters.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import type { NewIdentity, OutgoingFile } from "./messenger.ts";

export interface BrowserRuntimeOptions {
  readonly provider: CryptoProvider;
  /** The relay a new identity is made for (the relay setting: the page's origin by default). */
  readonly relay: () => string;
  /** The home's database prefix (DEFAULT_BROWSER_HOME). */
  readonly name?: string;
  readonly indexedDB?: IDBFactory;
  readonly locks?: LockManager | null;
  /** The keystore's argon2id cost for a new passphrase (BROWSER_ARGON2ID by default). */
  readonly argon2id?: Argon2idParameters;
}

/** NFC, as the CLI's keystore does, so the same passphrase typed on two systems gives the same bytes. */
function passphraseBytes(passphrase: string): Uint8Array {
  return utf8(passphrase.normalize("NFC"));
}

export class BrowserRuntime implements MessengerRuntime {
  readonly saveDir = null;
  readonly #options: BrowserRuntimeOptions;
  readonly #clientRuntime: ClientRuntime;
  #client: ClientCore | null = null;
  #home: BrowserUnlockedHome | null = null;

  private constructor(options: BrowserRuntimeOptions) {
    this.#options = options;
    this.#clientRuntime = Object.freeze({
      provider: options.provider,
      relayEndpoint: async (home: UnlockedHome) => fetchEndpoint(relayUrl(home)),
      // The home's own received files (browser-home.ts): the home passed is always this runtime's.
      attachmentSink: async () => this.#openHome().files,
    });
  }

  /**
   * The runtime, with the home already open when it has no passphrase (the origin's storage is its
   * only lock, so there is nothing to ask); a home behind a passphrase stays locked until `unlock`.
   */
  static async start(options: BrowserRuntimeOptions): Promise<BrowserRuntime> {
    const runtime = new BrowserRuntime(options);
    if (await hasBrowserHome(runtime.#homeOptions())) {
      try {
        runtime.#opened(await openBrowserHome({ ...runtime.#homeOptions(), passphrase: null }));
      } catch (error) {
        if (!NanoError.is(error, "passphrase_required")) throw error;
      }
    }
    return runtime;
  }

  #homeOptions(): BrowserHomeOptions {
    const { provider, name, indexedDB, locks } = this.#options;
    return {
      provider,
      ...(name === undefined ? {} : { name }),
      ...(indexedDB === undefined ? {} : { indexedDB }),
      ...(locks === undefined ? {} : { locks }),
    };
  }

  #opened(home: BrowserUnlockedHome): ClientCore {
    this.#home = home;
    this.#client = new ClientCore(home, this.#clientRuntime);
    return this.#client;
  }

  client(): ClientCore | null {
    return this.#client;
  }

  async createIdentity(identity: NewIdentity): Promise<ClientCore> {
    if (this.#client !== null)
      throw new NanoError("keystore_exists", "this browser already holds an open identity");
    const home = await createBrowserHome({
      ...this.#homeOptions(),
      mode: identity.mode,
      relay: this.#options.relay(),
      passphrase: identity.passphrase === null ? null : passphraseBytes(identity.passphrase),
      ...(identity.onProgress === undefined ? {} : { onProgress: identity.onProgress }),
      ...(this.#options.argon2id === undefined ? {} : { argon2id: this.#options.argon2id }),
    });
    return this.#opened(home);
  }

  async locked(): Promise<boolean> {
    return this.#client === null && (await hasBrowserHome(this.#homeOptions()));
  }

  async unlock(passphrase: string, onProgress?: (fraction: number) => void): Promise<ClientCore> {
    if (this.#client !== null) return this.#client;
    const home = await openBrowserHome({
      ...this.#homeOptions(),
      passphrase: passphraseBytes(passphrase),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    return this.#opened(home);
  }

  relay(): string {
    return this.#home?.config.relay ?? this.#options.relay();
  }

  #openHome(): BrowserUnlockedHome {
    if (this.#home === null) throw new NanoError("username_not_claimed", "create an identity first");
    return this.#home;
  }

  /** A received file, from the sealed copy the sink kept (`received_file_gone` once deleted). */
  async openFile(entry: HistoryEntry): Promise<OutgoingFile> {
    const location = entry.attachment?.path ?? null;
    if (location === null)
      throw new NanoError("received_file_gone", "this message's file is not kept in this browser");
    const kept = await this.#openHome().files.open(location);
    return { name: kept.name, bytes: kept.bytes };
  }

  /** The export document as a JSON file to save (plain: the browser's download is the user's to keep). */
  async exportData(): Promise<OutgoingFile> {
    const client = this.#client;
    if (client === null) throw new NanoError("username_not_claimed", "create an identity first");
    const document = await client.exportDocument();
    const username = client.context.home.config.username ?? "account";
    return {
      name: `nano-export-${username}.json`,
      bytes: utf8(`${JSON.stringify(document, null, 2)}\n`),
    };
  }

  /** Closes the client and deletes this browser's home: keystore, store and quarantine. */
  async forget(): Promise<void> {
    await this.close();
    await deleteBrowserHome(this.#homeOptions());
  }

  /** Closes the open client (the relay channel, the stores); the home stays. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#home = null;
    await client?.close();
  }
}
