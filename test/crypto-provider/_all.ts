import { ed25519Edges } from "./_ed25519-edges.ts";
import { KNOWN_ANSWER_CHECKS, type ProviderCheck } from "./_kat.ts";
import { PROPERTY_CHECKS } from "./_properties.ts";

/** The whole provider suite: known answers, then cross-check properties. One list for Node and the page. */
export const PROVIDER_CHECKS: readonly ProviderCheck[] = Object.freeze([
  ...KNOWN_ANSWER_CHECKS,
  ...PROPERTY_CHECKS,
  ed25519Edges,
]);
export type { ProviderCheck, VectorLoader } from "./_kat.ts";
