import { type SuiteName, suiteName } from "../../crypto/suite-ids.ts";
import { PREKEY_ROLES } from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import { deviceFingerprint, identityFingerprint } from "../home/fingerprints.ts";
import { loadOwnIdentity } from "../home/local-identity.ts";
import { type BlockSummary, loadBlockList, summarizeBlocks } from "./contact-blocks.ts";

export interface PrekeyStock {
  /** One-time prekeys whose private key is still held (not yet used by a peer). */
  readonly oneTimeUnused: number;
  readonly oneTimeUsed: number;
  /** Newest signed prekey's creation time, or null before claim-username. */
  readonly signedCreatedAt: string | null;
}

export interface StatusReport {
  readonly home: string;
  readonly mode: SuiteName;
  readonly acceptedSuites: readonly SuiteName[];
  readonly identityFingerprint: string;
  readonly deviceFingerprint: string;
  readonly username: string | null;
  readonly relay: string | null;
  readonly ca: string | null;
  readonly outbox: number;
  /** Messages that could not be opened, kept for `quarantine retry` or `discard`. */
  readonly quarantined: number;
  readonly contacts: number;
  readonly prekeys: PrekeyStock;
  /** Blocked senders and how many of their messages were acknowledged and dropped unread. */
  readonly blocked: BlockSummary;
  readonly createdAt: string;
}

const ONE_TIME_ROLES: readonly string[] = [String(PREKEY_ROLES.oneTimeDh), String(PREKEY_ROLES.pqOneTime)];

export async function status(context: ClientContext): Promise<StatusReport> {
  const home = context.home;
  const { config, seeds, store } = home;
  const [outbox, intents, quarantined, contacts] = await Promise.all([
    store.read((tables) => tables.countOutbox()),
    store.read((tables) => tables.countIntents()),
    home.quarantine.read((tables) => tables.countQuarantine()),
    store.read((tables) => tables.listContacts()),
  ]);
  const own = await loadOwnIdentity(context.provider, store, seeds);
  const { prekeys, blocks } = await store.read((tables) => ({
    prekeys: tables.listPrekeySecrets(),
    blocks: loadBlockList(tables),
  }));
  let oneTimeUnused = 0;
  let oneTimeUsed = 0;
  let signedCreated: number | null = null;
  for (const prekey of prekeys) {
    if (ONE_TIME_ROLES.includes(prekey.role)) {
      // A used one-time key keeps only its public part: the sealed value is then just the prekey.
      const packedLength = new DataView(prekey.secret.buffer, prekey.secret.byteOffset).getUint32(0);
      if (prekey.secret.length > 4 + packedLength) oneTimeUnused += 1;
      else oneTimeUsed += 1;
    } else if (signedCreated === null || prekey.createdAt > signedCreated) {
      signedCreated = prekey.createdAt;
    }
  }
  return {
    home: home.location,
    mode: suiteName(seeds.preferred),
    acceptedSuites: seeds.suites.map((entry) => suiteName(entry.suite)),
    identityFingerprint: await identityFingerprint(context.provider, seeds),
    deviceFingerprint: await deviceFingerprint(context.provider, seeds),
    username: own?.record.username ?? config.username,
    relay: config.relay,
    ca: config.ca,
    // Sends accepted while the relay was down and not yet encrypted count as pending too.
    outbox: outbox + intents,
    quarantined,
    contacts: contacts.length,
    prekeys: {
      oneTimeUnused,
      oneTimeUsed,
      signedCreatedAt: signedCreated === null ? null : new Date(signedCreated).toISOString(),
    },
    blocked: summarizeBlocks(blocks),
    createdAt: new Date(seeds.createdAt).toISOString(),
  };
}
