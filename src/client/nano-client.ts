import type { SuiteName } from "../crypto/index.ts";
import { type ClaimUsernameResult, claimUsername } from "./commands/claim-username.ts";
import { type ContactSummary, listContacts, trustContact } from "./commands/contacts.ts";
import { type InitResult, initHome } from "./commands/init.ts";
import { type ReceiveOptions, type ReceiveResult, receive } from "./commands/receive.ts";
import { type SendRequest, type SendResult, send } from "./commands/send.ts";
import { type StatusReport, status } from "./commands/status.ts";
import { type VerifyResult, verifyContact } from "./commands/verify.ts";
import { checkRelayUrl, resolveHome } from "./home.ts";
import { changeKeystorePassphrase, type Passphrase } from "./keystore.ts";
import { Outbox } from "./outbox.ts";
import { type UnlockedHome, unlockHome } from "./unlocked-home.ts";

/**
 * The SDK entry point: one unlocked home and the operations on it. The CLI is a thin layer over this
 * class. Methods whose backing is the protocol or the relay currently throw `relay_not_wired`
 * (see src/client/commands/_not-wired.ts); their signatures are final.
 */
export interface NanoClientOptions {
  /** The home directory; defaults to $NANO_CLIENT_HOME or ~/.nano-messenger. */
  readonly home?: string;
  readonly passphrase: Passphrase;
  /** Overrides the relay stored in config.json for this client's lifetime. */
  readonly relay?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NanoClientInitOptions extends NanoClientOptions {
  readonly mode: SuiteName;
  readonly ca?: string;
}

export class NanoClient {
  readonly #home: UnlockedHome;
  /** Messages committed locally and not yet acknowledged by the relay. */
  readonly outbox: Outbox;

  private constructor(home: UnlockedHome) {
    this.#home = home;
    this.outbox = new Outbox(home.store);
  }

  /** Creates a home (see docs/client.md "Home layout"); does not open it. */
  static init(options: NanoClientInitOptions): Promise<InitResult> {
    return initHome({
      paths: resolveHome(options.home, options.env),
      mode: options.mode,
      passphrase: options.passphrase,
      ...(options.relay === undefined ? {} : { relay: options.relay }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
  }

  /**
   * Re-seals the keystore under a new passphrase (fresh salt and nonce, atomic replace). The local
   * database key inside it is unchanged, so the local store needs no rewrite.
   */
  static changePassphrase(
    options: NanoClientOptions & { readonly newPassphrase: Passphrase },
  ): Promise<void> {
    const paths = resolveHome(options.home, options.env);
    return changeKeystorePassphrase(paths.keystore, options.passphrase, options.newPassphrase);
  }

  /** Unlocks a home with its passphrase. Errors: keystore_missing, wrong_passphrase, keystore_* and more. */
  static async open(options: NanoClientOptions): Promise<NanoClient> {
    const unlocked = await unlockHome(resolveHome(options.home, options.env), options.passphrase);
    if (options.relay === undefined) return new NanoClient(unlocked);
    try {
      const relay = checkRelayUrl(options.relay);
      return new NanoClient({ ...unlocked, config: { ...unlocked.config, relay } });
    } catch (error) {
      await unlocked.close();
      throw error;
    }
  }

  /** The unlocked home, for the protocol wiring (identity seeds, local store, config). */
  get home(): UnlockedHome {
    return this.#home;
  }

  status(): Promise<StatusReport> {
    return status(this.#home);
  }

  contacts(): Promise<ContactSummary[]> {
    return listContacts(this.#home);
  }

  trust(username: string): Promise<ContactSummary> {
    return trustContact(this.#home, username);
  }

  verify(username: string, confirm: boolean): Promise<VerifyResult> {
    return verifyContact(this.#home, username, confirm);
  }

  claimUsername(username: string): Promise<ClaimUsernameResult> {
    return claimUsername(this.#home, username);
  }

  send(request: SendRequest): Promise<SendResult> {
    return send(this.#home, request);
  }

  receive(options: ReceiveOptions): Promise<ReceiveResult> {
    return receive(this.#home, options);
  }

  close(): Promise<void> {
    return this.#home.close();
  }
}
