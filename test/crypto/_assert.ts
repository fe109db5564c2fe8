import assert from "node:assert/strict";
import type { ErrorCode } from "../../src/errors/index.ts";
import { NanoError } from "../../src/errors/index.ts";

/**
 * Shared assertions for the crypto tests. The contract under test: hostile input yields a typed
 * NanoError with a documented code, `false` from a verifier, or a value — never an error thrown from
 * deep inside node:crypto (those carry an `ERR_*` code and leak which internal check failed).
 */

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.constructor.name}${code === undefined ? "" : ` ${String(code)}`}: ${error.message}`;
  }
  return String(error);
}

/** Throws unless `fn` throws a NanoError with exactly `code`. */
export function throwsCode(fn: () => unknown, code: ErrorCode, what?: string): void {
  assert.throws(fn, (error: unknown) => {
    if (NanoError.is(error, code)) return true;
    assert.fail(`${what ?? "call"}: expected NanoError ${code}, got ${describeError(error)}`);
  });
}

/** Async twin of throwsCode: the promise must reject, or the call throw, with exactly `code`. */
export async function rejectsCode(fn: () => Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(
    async () => fn(),
    (error: unknown) => {
      if (NanoError.is(error, code)) return true;
      assert.fail(`expected NanoError ${code}, got ${describeError(error)}`);
    },
  );
}

/**
 * A usage error raised by our own argument checks (STYLE.md: bad arguments throw TypeError/RangeError):
 * a RangeError or TypeError without node's `ERR_*` code, so it came from src/crypto, not from node.
 */
export function throwsUsage(
  fn: () => unknown,
  type: typeof RangeError | typeof TypeError,
  what?: string,
): void {
  assert.throws(fn, (error: unknown) => {
    if (error instanceof type && !("code" in error)) return true;
    assert.fail(`${what ?? "call"}: expected our own ${type.name}, got ${describeError(error)}`);
  });
}

/**
 * For property tests: runs `fn`; a NanoError whose code is in `allowed` is an accepted outcome (returned
 * as its code), any other exception fails the property with a readable description.
 */
export function valueOrCode<T>(fn: () => T, allowed: readonly ErrorCode[]): T | ErrorCode {
  try {
    return fn();
  } catch (error) {
    if (NanoError.is(error) && allowed.includes(error.code)) return error.code;
    throw new assert.AssertionError({
      message: `expected a value or one of ${allowed.join(", ")}, got ${describeError(error)}`,
    });
  }
}

export function bytesEqual(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(Buffer.from(actual).toString("hex"), Buffer.from(expected).toString("hex"), message);
}
