import type { CryptoProvider } from "../crypto/provider/index.ts";
import type { ClientRuntime } from "./client-runtime.ts";
import type { OwnIdentity } from "./home/local-identity.ts";
import type { UnlockedHome } from "./home/open-home.ts";
import type { LocalStoreApi } from "./local-store/local-tables.ts";
import type { AttachmentSink } from "./messaging/attachment-sink.ts";
import { SessionStarts } from "./messaging/session-starts.ts";
import { OutboxState } from "./outbox/outbox-state.ts";
import { buildRelayLink, closeRelayLink, type RelayLink } from "./transport/relay-link.ts";
import { TransparencyClient } from "./trust/kt-client.ts";
import { PeerChecks } from "./trust/peer-checks.ts";
import { VerifiedRecords } from "./trust/verified-records.ts";

/**
 * Everything one open client holds in memory besides its unlocked home: the relay link, the outbox's
 * in-flight bookkeeping, the session-start locks, the peer checks, the key-transparency verifier and
 * the verified identity records. Owned by `NanoClient` (one per open home; each CLI command run opens
 * one), passed down to every operation, and torn down by `close()`. Nothing of one client lives at
 * module level, so two clients in one process (tests, a server hosting several users) never share
 * state, and a closed client leaves nothing behind (test/client/no-module-state.test.ts).
 */
export class ClientContext {
  readonly home: UnlockedHome;
  /** The crypto every protocol call of this client runs on (docs/web.md "The crypto provider"). */
  readonly provider: CryptoProvider;
  /** Entries being posted, the per-recipient backlog and the dispatcher's rounds (outbox/). */
  readonly outbox = new OutboxState();
  /** One session start per peer at a time (send). */
  readonly sessionStarts = new SessionStarts();
  /** When each peer's pinned record was last confirmed at the relay (send). */
  readonly peerChecks = new PeerChecks();
  /** Identity records decoded and verified once (the protocol stores). */
  readonly records: VerifiedRecords;
  /** The key-transparency verifier, loaded on first use (trust/kt-client.ts). */
  readonly transparency: TransparencyClient;
  #link: Promise<RelayLink> | null = null;
  /** Links replaced while a command may still hold them: closed with the context, not before. */
  readonly #retired: Promise<RelayLink>[] = [];
  #closed = false;

  readonly #runtime: ClientRuntime;

  constructor(home: UnlockedHome, runtime: ClientRuntime) {
    this.home = home;
    this.#runtime = runtime;
    this.provider = runtime.provider;
    this.records = new VerifiedRecords(runtime.provider);
    this.transparency = new TransparencyClient(home.store, runtime.provider);
  }

  /** The local store through its runtime-free interface (local-tables.ts): the operations need no more. */
  get store(): LocalStoreApi {
    return this.home.store;
  }

  /** Where this client keeps received attachments (`saveDir`: a folder, where the runtime has them). */
  attachmentSink(saveDir: string | null): Promise<AttachmentSink> {
    return this.#runtime.attachmentSink(this.home, saveDir);
  }

  /** The relay link of the stored identity, built on first use; a failed build is tried again next time. */
  link(): Promise<RelayLink> {
    if (this.#link !== null) return this.#link;
    const building = buildRelayLink(this.home, this.#runtime);
    this.#link = building;
    // A failure (no username yet, unreadable CA) is not kept: the next command tries again.
    building.catch(() => {
      if (this.#link === building) this.#link = null;
    });
    return building;
  }

  /**
   * A link for an identity being created (claim-username), which becomes this client's link: the
   * stored identity is about to be that one.
   */
  linkAs(own: OwnIdentity): Promise<RelayLink> {
    if (this.#link !== null) this.#retired.push(this.#link);
    const building = buildRelayLink(this.home, this.#runtime, own);
    this.#link = building;
    return building;
  }

  /** Forgets the current link (its identity was refused and dropped); closed with the context. */
  retireLink(): void {
    if (this.#link !== null) this.#retired.push(this.#link);
    this.#link = null;
  }

  /** Closes the relay channel, wipes the link's device seed copy, forgets every cache, closes the home. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const links = [...this.#retired, ...(this.#link === null ? [] : [this.#link])];
    this.#link = null;
    this.#retired.length = 0;
    for (const link of await Promise.allSettled(links))
      if (link.status === "fulfilled") closeRelayLink(link.value);
    this.peerChecks.clear();
    this.records.clear();
    await this.home.close();
  }
}
