import assert from "node:assert/strict";
import fc from "fast-check";
import { SUITE_IDS, type SuiteId } from "../../src/crypto/index.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import {
  createIdentityRecord,
  generateIdentityKeys,
  type IdentityKeys,
  type IdentityRecord,
} from "../../src/protocol/identity-record.ts";

export const ALL_SUITES: readonly SuiteId[] = [SUITE_IDS.classical, SUITE_IDS.hybrid, SUITE_IDS.quantum];
export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
/** The crypto the protocol tests run on: node:crypto (the browser providers run in test/browser). */
export const provider = nodeProvider;

export interface TestIdentity {
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
}

/** Accepted sets follow the floor rule: preferred M accepts M and everything ranked above it. */
export function acceptedFor(preferred: SuiteId): SuiteId[] {
  if (preferred === SUITE_IDS.classical) return [...ALL_SUITES];
  if (preferred === SUITE_IDS.quantum) return [SUITE_IDS.hybrid, SUITE_IDS.quantum];
  return [SUITE_IDS.hybrid];
}

export async function makeIdentity(
  username: string,
  preferred: SuiteId,
  suites = acceptedFor(preferred),
): Promise<TestIdentity> {
  const keys = await generateIdentityKeys(provider, username, suites);
  return { keys, record: await createIdentityRecord(provider, keys, preferred, { created: NOW - 1000 }) };
}

/** A decoder on hostile input may succeed or fail with a NanoError (thrown or rejected), never anything else. */
export async function onlyTypedErrors(run: () => unknown): Promise<"ok" | string> {
  try {
    await run();
    return "ok";
  } catch (error) {
    if (!NanoError.is(error)) {
      assert.fail(
        `untyped error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );
    }
    return error.code;
  }
}

/** Truncations, single-byte flips and random insertions of a valid encoding. */
export function mutations(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.nat({ max: valid.length - 1 }).map((cut) => valid.slice(0, cut)),
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
      const copy = valid.slice();
      copy[at]! ^= xor;
      return copy;
    }),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => {
      const copy = new Uint8Array(valid.length + extra.length);
      copy.set(valid);
      copy.set(extra, valid.length);
      return copy;
    }),
    fc.uint8Array({ maxLength: 64 }),
  );
}

/** `run` fails (throws or rejects) with exactly `code`. */
export async function assertCode(run: () => unknown, code: string): Promise<void> {
  await assert.rejects(
    async () => run(),
    (error: unknown) => NanoError.is(error) && error.code === code,
    `expected ${code}`,
  );
}
