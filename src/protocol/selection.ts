import { getSuite, SUITES, type Suite, type SuiteId } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import { acceptedSuites, type IdentityRecord } from "./identity-record.ts";

/**
 * Suite selection, floors and pins (docs/protocol.md §5). The ranking is hybrid > quantum > classical.
 * The local floor is the rank of the local preferred suite; a contact's pin is the lowest suite a new
 * session with them may use. Adaptation may only tighten.
 */
export const SELECTION = Object.freeze({ default: 0, explicit: 1 } as const);
export type Selection = (typeof SELECTION)[keyof typeof SELECTION];

function accepts(record: IdentityRecord, suite: Suite): boolean {
  return acceptedSuites(record).includes(suite.id);
}

/**
 * The default rule: the initiator's preferred suite if the responder accepts it, else the
 * highest-ranked suite both accept at or above the initiator's floor, else `no_common_suite`.
 */
export function defaultSuite(initiator: IdentityRecord, responder: IdentityRecord): Suite {
  const preferred = getSuite(initiator.preferred);
  if (accepts(responder, preferred)) return preferred;
  const candidates = SUITES.filter(
    (suite) => suite.rank >= preferred.rank && accepts(initiator, suite) && accepts(responder, suite),
  ).sort((a, b) => b.rank - a.rank);
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
): { suite: Suite; selection: Selection } {
  let suite: Suite;
  let selection: Selection;
  if (options.explicit !== undefined) {
    suite = getSuite(options.explicit);
    if (!accepts(local, suite) || !accepts(peer, suite)) {
      throw new NanoError("suite_not_accepted", `the ${suite.name} mode is not accepted by both identities`);
    }
    selection = SELECTION.explicit;
  } else {
    suite = defaultSuite(local, peer);
    selection = SELECTION.default;
  }
  checkPin(suite, options.pin);
  return { suite, selection };
}

export function checkPin(suite: Suite, pin: SuiteId | undefined): void {
  if (pin !== undefined && suite.rank < getSuite(pin).rank) {
    throw new NanoError(
      "suite_below_pin",
      `the ${suite.name} suite is below the pinned ${getSuite(pin).name}`,
    );
  }
}

/** Responder: recompute the choice from the two records named in the transcript. */
export function checkResponderSelection(
  initiator: IdentityRecord,
  responder: IdentityRecord,
  suite: Suite,
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
  if (current === undefined || getSuite(used).rank > getSuite(current).rank) return used;
  return current;
}
