import type { CryptoProvider, ProviderSuite } from "../../crypto/provider/index.ts";
import type { SuiteId } from "../../crypto/suite-ids.ts";
import {
  acceptedSuites,
  encodeBundle,
  generatePrekey,
  PREKEY_ROLES,
  type PrekeyRole,
  rotatePrekeys,
  type SignedPrekey,
} from "../../protocol/index.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import type { SuitePrekeyCount } from "../transport/relay-api.ts";
import type { RelayLink } from "../transport/relay-link.ts";

/**
 * Prekey upkeep (docs/sdk.md "Prekeys"): the relay holds one base bundle per (account, suite) for
 * every suite the owner's identity accepts (signed X25519 prekey and/or signed last-resort ML-KEM
 * prekey), plus one-time prekeys of each suite it hands out once. Secrets are committed locally BEFORE the public halves are uploaded: a
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
function oneTimeRole(suite: ProviderSuite): PrekeyRole {
  return suite.ratchetKem ? PREKEY_ROLES.pqOneTime : PREKEY_ROLES.oneTimeDh;
}

export async function maintainPrekeys(
  provider: CryptoProvider,
  store: LocalStoreApi,
  link: Pick<RelayLink, "own" | "api">,
  options: {
    now?: number;
    forceBundle?: boolean;
    /**
     * Top every suite up to PREKEY_POLICY.target even above refillBelow: the relay said the stock runs
     * low (`low_prekeys`, by its own threshold), so others are taking keys now.
     */
    topUp?: boolean;
  } = {},
): Promise<PrekeyReport> {
  const now = options.now ?? Date.now();
  const { own, api } = link;
  const count = await api.prekeyCount();
  // Expired secrets and their replay entries go first (rotatePrekeys), then what is due is renewed,
  // for EVERY suite the identity accepts: an initiator asks for the suite its selection picked.
  const plans = await store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, own, now, { provider });
    const rotation = await rotatePrekeys(stores.provider, stores, { now });
    await stores.apply(rotation.writes);
    const held = await stores.listPrekeys();
    const out: SuitePlan[] = [];
    for (const suiteId of acceptedSuites(own.record)) {
      const relay = count.suites.find((entry) => entry.suite === suiteId);
      out.push(await planSuite(stores, own, held, suiteId, relay ?? null, rotation, now, options));
    }
    return out;
  });
  let oneTimeCount = 0;
  let uploadedOneTime = 0;
  let bundleRotated = false;
  for (const plan of plans) {
    // One upload per suite: the relay refuses one-time keys of a suite it holds no bundle of.
    if (plan.bundle !== null || plan.oneTime.length > 0) {
      oneTimeCount += await api.uploadPrekeys(plan.bundle, plan.oneTime);
    } else {
      oneTimeCount += plan.stock;
    }
    uploadedOneTime += plan.oneTime.length;
    bundleRotated ||= plan.bundle !== null;
  }
  return { oneTimeCount, uploadedOneTime, bundleRotated };
}

interface SuitePlan {
  readonly bundle: Uint8Array | null;
  readonly oneTime: Uint8Array[];
  /** One-time keys the relay already holds for this suite. */
  readonly stock: number;
}

async function planSuite(
  stores: LocalProtocolStores,
  own: RelayLink["own"],
  held: readonly SignedPrekey[],
  suiteId: SuiteId,
  relay: SuitePrekeyCount | null,
  rotation: Awaited<ReturnType<typeof rotatePrekeys>>,
  now: number,
  options: { forceBundle?: boolean; topUp?: boolean },
): Promise<SuitePlan> {
  const { provider } = stores;
  const suite = provider.suite(suiteId);
  const renewDue = rotation.renew.some((entry) => entry.suite === suite.id);
  const rotate = options.forceBundle === true || relay === null || relay.rotationDue || renewDue;
  let bundle: Uint8Array | null = null;
  let signedDh = suite.agreement ? newestSigned(held, suite.id, PREKEY_ROLES.signedDh, now) : null;
  let lastResort = suite.ratchetKem ? newestSigned(held, suite.id, PREKEY_ROLES.pqLastResort, now) : null;
  if (rotate || (suite.agreement && signedDh === null) || (suite.ratchetKem && lastResort === null)) {
    if (suite.agreement) {
      const secret = await generatePrekey(provider, own.keys, own.record, suite.id, PREKEY_ROLES.signedDh, {
        created: now,
      });
      await stores.putPrekey(secret);
      signedDh = secret.prekey;
    }
    if (suite.ratchetKem) {
      const secret = await generatePrekey(
        provider,
        own.keys,
        own.record,
        suite.id,
        PREKEY_ROLES.pqLastResort,
        {
          created: now,
        },
      );
      await stores.putPrekey(secret);
      lastResort = secret.prekey;
    }
    bundle = encodeBundle(suite.id, own.record, signedDh, lastResort, null);
  }
  const oneTime: Uint8Array[] = [];
  const stock = relay?.oneTimeCount ?? 0;
  if (stock < (options.topUp === true ? PREKEY_POLICY.target : PREKEY_POLICY.refillBelow)) {
    for (let i = stock; i < PREKEY_POLICY.target; i += 1) {
      const secret = await generatePrekey(provider, own.keys, own.record, suite.id, oneTimeRole(suite), {
        created: now,
      });
      await stores.putPrekey(secret);
      oneTime.push(secret.prekey.encoded);
    }
  }
  return { bundle, oneTime, stock };
}
