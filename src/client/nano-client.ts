import { resolve as resolvePath } from "node:path";
import type { Argon2idParameters, SuiteName } from "../crypto/index.ts";
import { ClientCore } from "./client-core.ts";
import { checkRelayUrl, resolveHome } from "./home/home.ts";
import { type NodeUnlockedHome, unlockHome } from "./home/unlocked-home.ts";
import { changeKeystorePassphrase, type Passphrase } from "./keystore/keystore.ts";
import { NODE_CLIENT_RUNTIME } from "./node-runtime.ts";
import {
  type ExportHomeResult,
  exportHome,
  type OpenedExport,
  openExport,
} from "./operations/export-home.ts";
import { type InitResult, initHome } from "./operations/init.ts";
import { type ReplaceIdentityResult, replaceIdentity } from "./operations/replace-identity.ts";

export interface NanoClientOptions {
  /** The home directory; defaults to $NANO_CLIENT_HOME or ~/.nano-messenger. */
  readonly home?: string;
  readonly passphrase: Passphrase;
  /** Overrides the relay stored in config.json for this client's lifetime. */
  readonly relay?: string;
  /** A CA certificate file (PEM) to trust for the relay, overriding config.json's for this lifetime. */
  readonly ca?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NanoClientOpenOptions extends NanoClientOptions {
  /**
   * This home's keystore already being opened with `passphrase` (`loadKeystore`), so its argon2id ran
   * while the caller did other work (the CLI loads these modules meanwhile: docs/performance.md "CLI
   * start"). The caller wipes the payload after `open` settles; `open` checks the home before using it.
   */
  readonly keystoreOpening?: Promise<Uint8Array>;
}

export interface NanoClientInitOptions extends NanoClientOptions {
  readonly mode: SuiteName;
  /** Keystore work factor; must lie within ARGON2ID_BOUNDS (default DEFAULT_ARGON2ID). */
  readonly argon2id?: Argon2idParameters;
}

export type {
  IdentityChangedEvent,
  IdentityChangedListener,
  ReceiptListener,
  SendTextOptions,
} from "./client-core.ts";

/**
 * The SDK entry point in Node (docs/sdk.md): a home folder unlocked, the operations on it (ClientCore,
 * shared with the web app), and what only a folder can do — create, export to a file, replace the
 * identity, change the passphrase. The CLI, the tests and the benchmarks all go through this class.
 */
export class NanoClient extends ClientCore {
  readonly #home: NodeUnlockedHome;

  private constructor(home: NodeUnlockedHome) {
    super(home, NODE_CLIENT_RUNTIME);
    this.#home = home;
  }

  /** Creates a home (see docs/client.md "Home layout"); does not open it. */
  static init(options: NanoClientInitOptions): Promise<InitResult> {
    return initHome({
      paths: resolveHome(options.home, options.env),
      mode: options.mode,
      passphrase: options.passphrase,
      ...(options.relay === undefined ? {} : { relay: options.relay }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.argon2id === undefined ? {} : { argon2id: options.argon2id }),
    });
  }

  /**
   * Re-seals the keystore under a new passphrase (fresh salt and nonce, atomic replace). The local
   * database key inside it is unchanged, so the local store needs no rewrite.
   */
  /**
   * `init --replace`: new identity keys (and mode) for this home's username, published at the relay
   * signed by the old keys; peers see a changed identity until they verify or trust it.
   */
  static replaceIdentity(
    options: NanoClientOptions & { readonly mode: SuiteName },
  ): Promise<ReplaceIdentityResult> {
    return replaceIdentity({
      paths: resolveHome(options.home, options.env),
      passphrase: options.passphrase,
      mode: options.mode,
    });
  }

  /** `init` followed by `open`: a new identity, ready to claim a username. */
  static async create(options: NanoClientInitOptions): Promise<NanoClient> {
    await NanoClient.init(options);
    const { mode: _mode, ca: _ca, argon2id: _argon2id, ...openOptions } = options;
    return NanoClient.open(openOptions);
  }

  static changePassphrase(
    options: NanoClientOptions & { readonly newPassphrase: Passphrase },
  ): Promise<void> {
    const paths = resolveHome(options.home, options.env);
    return changeKeystorePassphrase(paths.keystore, options.passphrase, options.newPassphrase);
  }

  /**
   * Opens a file `exportData({passphrase})` wrote (docs/client.md "Exporting your data"); no home is
   * needed. Typed errors: `wrong_passphrase`, `keystore_truncated`, `keystore_corrupt`,
   * `keystore_tampered`, `keystore_unrecognized`, and `export_unrecognized` for a sealed file that is
   * not an export (a keystore is never handed out as an export).
   */
  static openExport(path: string, passphrase: Passphrase): Promise<OpenedExport> {
    return openExport(resolvePath(path), passphrase);
  }

  /** Unlocks a home with its passphrase. Errors: keystore_missing, wrong_passphrase, keystore_* and more. */
  static async open(options: NanoClientOpenOptions): Promise<NanoClient> {
    const unlocked = await unlockHome(
      resolveHome(options.home, options.env),
      options.passphrase,
      options.keystoreOpening ?? null,
    );
    if (options.relay === undefined && options.ca === undefined) return new NanoClient(unlocked);
    try {
      const relay = options.relay === undefined ? unlocked.config.relay : checkRelayUrl(options.relay);
      const ca = options.ca === undefined ? unlocked.config.ca : resolvePath(options.ca);
      return new NanoClient({ ...unlocked, config: { ...unlocked.config, relay, ca } });
    } catch (error) {
      await unlocked.close();
      throw error;
    }
  }

  /** The unlocked home, for the protocol wiring (identity seeds, local store, config). */
  get home(): NodeUnlockedHome {
    return this.#home;
  }

  /** Writes this home's account, contacts and decrypted history (docs/client.md "Exporting your data"). */
  exportData(options: {
    output: string;
    passphrase?: Passphrase;
    force?: boolean;
  }): Promise<ExportHomeResult> {
    return exportHome(this.context, options);
  }
}
