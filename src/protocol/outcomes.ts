import { wipe } from "../crypto/bytes.ts";
import type { ProviderSuite } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import type { IdentityRecord } from "./identity-record.ts";
import type { ProtocolLimits } from "./limits.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import type { Selection } from "./selection.ts";
import { NO_WRITES, type ProtocolWrites } from "./stores.ts";

/**
 * The outcomes of the protocol's decisions (docs/protocol.md §11.3), in the style of ts-mls: every
 * expected result — delivered, held for a changed identity, refused with a reason, or "I need the
 * record key transparency proves" — is a value with the writes to commit and the secrets to wipe.
 * Exceptions are left for bugs and misuse (a TypeError), never for what hostile input can cause.
 */
export interface CallOptions {
  readonly now?: number;
  readonly limits?: ProtocolLimits;
}

export function resolveOptions(options: CallOptions): { now: number; limits: ProtocolLimits } {
  return { now: options.now ?? Date.now(), limits: options.limits ?? DEFAULT_LIMITS };
}

/** Secrets the decision superseded; the caller wipes them once its transaction committed. */
export interface Consumes {
  readonly consumed: readonly Uint8Array[];
}

/** Refused, with the typed reason; `writes` only ever remembers the refusal (§7.7). */
export interface Refused {
  readonly kind: "refused";
  readonly error: NanoError;
  readonly writes: ProtocolWrites;
}

/** A contact whose identity changed (§11.2): `writes` stores the block the first time it is seen. */
export interface Blocked {
  readonly kind: "blocked";
  readonly peer: string;
  /** The new, verified record that differs from the pinned one. */
  readonly changed: IdentityRecord;
  readonly writes: ProtocolWrites;
}

export type ChooseOutcome =
  | { readonly kind: "chosen"; readonly suite: ProviderSuite; readonly selection: Selection }
  | Blocked
  | Refused;

export type StartOutcome =
  | ({ readonly kind: "started"; readonly suite: ProviderSuite; readonly writes: ProtocolWrites } & Consumes)
  | Blocked
  | Refused;

export type SendOutcome =
  | ({
      readonly kind: "sent";
      readonly envelope: Uint8Array;
      readonly suite: SuiteId;
      readonly writes: ProtocolWrites;
    } & Consumes)
  | Blocked
  | Refused;

export type ReceiveOutcome =
  | ({
      readonly kind: "delivered";
      /** The relay-authenticated sender; for a first contact also the name in the proven record. */
      readonly peer: string;
      readonly content: Uint8Array;
      readonly newSession: boolean;
      readonly writes: ProtocolWrites;
    } & Consumes)
  /** Keep the message at the relay: the sender's identity changed and waits for the user (§11.2). */
  | {
      readonly kind: "held";
      readonly peer: string;
      readonly changed: IdentityRecord | null;
      readonly writes: ProtocolWrites;
    }
  /**
   * A first contact passed every cheap check and names a record this device has not pinned: decide
   * again with `provenRecord`, the record key transparency proves for `username` (§7.7 step 5).
   */
  | { readonly kind: "needs_record"; readonly username: string }
  | Refused;

export type AcceptOutcome = { readonly kind: "accepted"; readonly writes: ProtocolWrites } | Refused;

export function refused(error: NanoError, w: ProtocolWrites = NO_WRITES): Refused {
  return { kind: "refused", error, writes: w };
}

/** Runs a decision; a typed protocol error thrown by its parsers and checks becomes `refused`. */
export async function decide<T>(run: () => Promise<T>, onRefused: (error: NanoError) => T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (NanoError.is(error)) return onRefused(error);
    throw error;
  }
}

export function blockedError(peer: string): NanoError {
  return new NanoError("identity_changed", `${peer}'s identity changed; verify it before continuing`);
}

/** Wipes what a committed decision consumed. Call after the commit, never before. */
export function wipeConsumed(outcome: Partial<Consumes>): void {
  for (const secret of outcome.consumed ?? []) wipe(secret);
}
