// Shared by the Node attachment tests: the runtime-neutral spec helpers (./_attachment-spec.ts, which
// the page's tests use too) and node:assert forms of the checks.
import assert from "node:assert/strict";
import type { ErrorCode } from "../../src/errors/index.ts";
import { NanoError } from "../../src/errors/index.ts";

export {
  CHUNK,
  concat,
  HEADER,
  nobleHash,
  nobleSeal,
  pattern,
  SEALED,
  splitChunks,
} from "./_attachment-spec.ts";

/** Asserts that `run` throws a NanoError with exactly `code` (sync or async). */
export function assertCode(run: () => unknown, code: ErrorCode): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(NanoError.is(error), `expected NanoError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

export async function assertRejectsCode(run: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(NanoError.is(error), `expected NanoError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/**
 * Byte equality that fails fast with the first differing offset. assert.deepEqual on megabyte arrays
 * renders a diff of their whole inspection, which takes minutes when a mutation makes it fail.
 */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, message = "bytes differ"): void {
  assert.equal(actual.length, expected.length, `${message}: length`);
  const first = actual.findIndex((byte, index) => byte !== expected[index]);
  assert.equal(first, -1, `${message}: first difference at offset ${first}`);
}
