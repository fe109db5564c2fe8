import { getSuite } from "../crypto/index.ts";
import {
  encodeBundle,
  generatePrekey,
  PREKEY_ROLES,
  type PrekeyRole,
  rotatePrekeys,
  type SignedPrekey,
} from "../protocol/index.ts";
import { LocalProtocolStores } from "./protocol-stores.ts";
import type { RelayLink } from "./relay-link.ts";
import type { UnlockedHome } from "./unlocked-home.ts";

/**
 * Prekey upkeep (docs/sdk.md "Prekeys"): the relay holds one base bundle per account, in the owner's
 * preferred suite (signed X25519 prekey and/or signed last-resort ML-KEM prekey), plus one-time
 * prekeys it hands out once. Secrets are committed locally BEFORE the public halves are uploaded: a
 * crash in between leaves unused secrets, never a published key whose secret is lost.
 */
export const PREKEY_POLICY = Object.freeze({
  /** Refill when the relay holds fewer one-time prekeys than this... */
  refillBelow: 10,
  /** ...up to this many. */
  target: 25,
});

export interface PrekeyReport {
  readonly oneTimeCount: number;
  readonly uploadedOneTime: number;
  readonly bundleRotated: boolean;
}

function newestSigned(held: readonly SignedPrekey[], suiteId: number, role: PrekeyRole, now: number) {
  return (
    held
      .filter((p) => p.suite.id === suiteId && p.role === role && p.expires > now)
      .sort((a, b) => b.created - a.created)[0] ?? null
  );
}

/** One-time role per suite: the relay hands out one key per fetch, so the PQ one is worth most. */
function oneTimeRole(suiteId: number): PrekeyRole {
  return getSuite(suiteId).ratchetKem ? PREKEY_ROLES.pqOneTime : PREKEY_ROLES.oneTimeDh;
}

export async function maintainPrekeys(
  home: UnlockedHome,
  link: RelayLink,
  options: { now?: number; forceBundle?: boolean } = {},
): Promise<PrekeyReport> {
  const now = options.now ?? Date.now();
  const { own, api } = link;
  const suite = getSuite(own.record.preferred);
  const count = await api.prekeyCount();
  // Expired secrets and their replay entries go first (rotatePrekeys), then what is due is renewed.
  const plan = await home.store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, own, now);
    const rotation = await rotatePrekeys(stores, { now });
    const renewDue = rotation.renew.some((entry) => entry.suite === suite.id);
    const rotate = options.forceBundle === true || !count.hasBundle || count.rotationDue || renewDue;
    let bundle: Uint8Array | null = null;
    const held = await stores.prekeys.list();
    let signedDh = suite.agreement ? newestSigned(held, suite.id, PREKEY_ROLES.signedDh, now) : null;
    let lastResort = suite.ratchetKem ? newestSigned(held, suite.id, PREKEY_ROLES.pqLastResort, now) : null;
    if (rotate || (suite.agreement && signedDh === null) || (suite.ratchetKem && lastResort === null)) {
      if (suite.agreement) {
        const secret = generatePrekey(own.keys, own.record, suite.id, PREKEY_ROLES.signedDh, {
          created: now,
        });
        await stores.prekeys.put(secret);
        signedDh = secret.prekey;
      }
      if (suite.ratchetKem) {
        const secret = generatePrekey(own.keys, own.record, suite.id, PREKEY_ROLES.pqLastResort, {
          created: now,
        });
        await stores.prekeys.put(secret);
        lastResort = secret.prekey;
      }
      bundle = encodeBundle(suite.id, own.record, signedDh, lastResort, null);
    }
    const oneTime: Uint8Array[] = [];
    const stock = bundle !== null && !count.hasBundle ? 0 : count.oneTimeCount;
    if (stock < PREKEY_POLICY.refillBelow) {
      for (let i = stock; i < PREKEY_POLICY.target; i += 1) {
        const secret = generatePrekey(own.keys, own.record, suite.id, oneTimeRole(suite.id), {
          created: now,
        });
        await stores.prekeys.put(secret);
        oneTime.push(secret.prekey.encoded);
      }
    }
    return { bundle, oneTime };
  });
  let oneTimeCount = count.oneTimeCount;
  if (plan.bundle !== null || plan.oneTime.length > 0) {
    oneTimeCount = await api.uploadPrekeys(plan.bundle, plan.oneTime);
  }
  return { oneTimeCount, uploadedOneTime: plan.oneTime.length, bundleRotated: plan.bundle !== null };
}
