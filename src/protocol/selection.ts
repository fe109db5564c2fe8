import type { ProviderSuite } from "../crypto/provider/index.ts";
import { isSuiteId, type SuiteId, suiteName, suiteRank } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { acceptedSuites, type IdentityRecord } from "./identity-record.ts";

/**
 * Suite selection, floors and pins (docs/protocol.md §5). The ranking is hybrid > quantum > classical.
 * The local floor is the rank of the local preferred suite; a contact's pin is the lowest suite a new
 * session with them may use. Adaptation may only tighten.
 */
export const SELECTION = Object.freeze({ default: 0, explicit: 1 } as const);
export type Selection = (typeof SELECTION)[keyof typeof SELECTION];

function accepts(record: IdentityRecord, suite: ProviderSuite): boolean {
  return acceptedSuites(record).includes(suite.id);
}

/** The suite object of `id` as `record` lists it (records carry their provider's suites). */
function listedSuite(record: IdentityRecord, id: SuiteId): ProviderSuite | undefined {
  return record.keys.find((entry) => entry.suite.id === id)?.suite;
}

/**
 * The default rule: the initiator's preferred suite if the responder accepts it, else the
 * highest-ranked suite both accept at or above the initiator's floor, else `no_common_suite`.
 */
export function defaultSuite(initiator: IdentityRecord, responder: IdentityRecord): ProviderSuite {
  const preferred = listedSuite(initiator, initiator.preferred)!;
  if (accepts(responder, preferred)) return preferred;
  const candidates = initiator.keys
    .map((entry) => entry.suite)
    .filter((suite) => suite.rank >= preferred.rank && accepts(responder, suite))
    .sort((a, b) => b.rank - a.rank);
  const best = candidates[0];
  if (best === undefined) {
    throw new NanoError(
      "no_common_suite",
      `${responder.username} accepts no suite at or above ${preferred.name}`,
    );
  }
  return best;
}

export interface SelectOptions {
  /** `--crypto-mode M`: exactly M or an error. */
  readonly explicit?: SuiteId;
  /** The suite pinned for this contact; nothing below it. */
  readonly pin?: SuiteId;
}

export function selectSuite(
  local: IdentityRecord,
  peer: IdentityRecord,
  options: SelectOptions = {},
): { suite: ProviderSuite; selection: Selection } {
  let suite: ProviderSuite;
  let selection: Selection;
  if (options.explicit !== undefined) {
    const listed = listedSuite(local, options.explicit);
    if (listed === undefined || !accepts(peer, listed)) {
      throw new NanoError(
        "suite_not_accepted",
        `the ${suiteName(options.explicit)} mode is not accepted by both identities`,
      );
    }
    suite = listed;
    selection = SELECTION.explicit;
  } else {
    suite = defaultSuite(local, peer);
    selection = SELECTION.default;
  }
  checkPin(suite, options.pin);
  return { suite, selection };
}

export function checkPin(suite: Pick<ProviderSuite, "name" | "rank">, pin: SuiteId | undefined): void {
  if (pin !== undefined && suite.rank < suiteRank(checkedSuiteId(pin))) {
    throw new NanoError("suite_below_pin", `the ${suite.name} suite is below the pinned ${suiteName(pin)}`);
  }
}

/** A stored or wire suite id, refused as `unknown_suite` when it names none. */
export function checkedSuiteId(id: number): SuiteId {
  if (!isSuiteId(id)) throw new NanoError("unknown_suite", `unknown suite id ${id}`);
  return id;
}

/** Responder: recompute the choice from the two records named in the transcript. */
export function checkResponderSelection(
  initiator: IdentityRecord,
  responder: IdentityRecord,
  suite: ProviderSuite,
  selection: number,
): void {
  if (!accepts(initiator, suite) || !accepts(responder, suite)) {
    throw new NanoError("suite_not_accepted", `the ${suite.name} suite is not accepted by both identities`);
  }
  if (selection === SELECTION.default) {
    if (defaultSuite(initiator, responder).id !== suite.id) {
      throw new NanoError("suite_mismatch", "the suite differs from the default selection of both records");
    }
  } else if (selection !== SELECTION.explicit) {
    throw new NanoError("malformed", `unknown selection ${selection}`);
  }
}

/** A new pin may only raise the suite (lowering needs a signed identity update and consent). */
export function raisePin(current: SuiteId | undefined, used: SuiteId): SuiteId {
  if (current === undefined || suiteRank(checkedSuiteId(used)) > suiteRank(checkedSuiteId(current))) {
    return used;
  }
  return current;
}
