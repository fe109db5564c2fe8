import type { CryptoProvider } from "../crypto/provider/index.ts";
import { acceptedSuites } from "./identity-record.ts";
import { type CallOptions, resolveOptions } from "./outcomes.ts";
import { planRotation, type RotationPlan } from "./prekey.ts";
import { type ProtocolView, type ProtocolWrites, writes } from "./stores.ts";

/**
 * Which prekeys to delete and what to generate next (docs/protocol.md §6.2, §7.7): expired prekeys
 * leave with their secrets and the replay-cache entries anchored to them (the writes); the plan says
 * which (suite, role) pairs the owner should renew.
 */
export async function rotatePrekeys(
  provider: CryptoProvider,
  view: ProtocolView,
  options: CallOptions = {},
): Promise<RotationPlan & { readonly writes: ProtocolWrites }> {
  const { now } = resolveOptions(options);
  const { record } = await view.ownIdentity();
  const plan = planRotation(provider, await view.listPrekeys(), acceptedSuites(record), now);
  return {
    ...plan,
    writes: writes({
      removedPrekeys: plan.expired.map((prekey) => ({ suite: prekey.suite.id, id: prekey.id })),
    }),
  };
}
