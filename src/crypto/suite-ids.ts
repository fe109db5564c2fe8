import { NanoError } from "../errors/index.ts";

/**
 * The suites' wire ids and ranks, with no runtime dependency: src/crypto/suites.ts (node:crypto) and
 * the crypto provider's suites (every runtime) both build on these, so the numbers have one definition.
 * The u16 id appears on the wire and in every signature context, KDF label and associated data.
 */
export const SUITE_IDS = Object.freeze({ classical: 1, hybrid: 2, quantum: 3 } as const);
export type SuiteName = keyof typeof SUITE_IDS;
export type SuiteId = (typeof SUITE_IDS)[SuiteName];

/** Preference order: hybrid (3) > quantum (2) > classical (1). Quantum-only drops the classical hedge. */
export const SUITE_RANKS: Readonly<Record<SuiteName, number>> = Object.freeze({
  classical: 1,
  hybrid: 3,
  quantum: 2,
});

const NAMES_BY_ID: Readonly<Record<SuiteId, SuiteName>> = Object.freeze({
  [SUITE_IDS.classical]: "classical",
  [SUITE_IDS.hybrid]: "hybrid",
  [SUITE_IDS.quantum]: "quantum",
});

export function isSuiteId(id: number): id is SuiteId {
  return Object.hasOwn(NAMES_BY_ID, id);
}

/** The id of a crypto mode's name as a user types it (`unknown_suite` for anything else). */
export function suiteIdByName(name: string): SuiteId {
  if (!Object.hasOwn(SUITE_IDS, name))
    throw new NanoError("unknown_suite", `unknown crypto mode "${name}" (use classical, hybrid or quantum)`);
  return SUITE_IDS[name as SuiteName];
}

/** The name of a known suite id (a wire id must pass `isSuiteId` first). */
export function suiteName(id: SuiteId): SuiteName {
  return NAMES_BY_ID[id];
}

/** The name of any id, as a stored or received value: `unknown_suite` when it names no suite. */
export function suiteNameOf(id: number): SuiteName {
  if (!isSuiteId(id)) throw new NanoError("unknown_suite", `unknown suite id ${id}`);
  return NAMES_BY_ID[id];
}

/** The preference rank of a known suite id: what pins and floors compare. */
export function suiteRank(id: SuiteId): number {
  return SUITE_RANKS[NAMES_BY_ID[id]];
}
