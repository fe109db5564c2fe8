/**
 * The assertions of the provider suite, in a form that runs in Node and in the page alike (node:assert
 * does not load in a browser). A failed check throws an Error whose message names the case.
 */
import { toHex } from "../../src/crypto/bytes.ts";
import { type ErrorCode, NanoError } from "../../src/errors/index.ts";

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function equalBytes(actual: Uint8Array | null, expected: Uint8Array, message: string): void {
  if (actual === null) throw new Error(`${message}: got null`);
  if (toHex(actual) !== toHex(expected)) {
    throw new Error(
      `${message}: bytes differ (got ${toHex(actual).slice(0, 32)}..., want ${toHex(expected).slice(0, 32)}...)`,
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.constructor.name}${code === undefined ? "" : ` ${String(code)}`}: ${error.message}`;
  }
  return String(error);
}

/**
 * The call must reject (or throw): with a NanoError of `code`, with an instance of the given error
 * class (our own usage errors), or with anything when `expected` is null.
 */
export async function rejectsWith(
  call: () => Promise<unknown>,
  expected: ErrorCode | (new (...args: never[]) => Error) | null,
  message: string,
): Promise<void> {
  let failure: unknown;
  try {
    await call();
  } catch (error) {
    failure = error;
  }
  if (failure === undefined) throw new Error(`${message}: expected a rejection, got a value`);
  if (expected === null) return;
  if (typeof expected === "string") {
    if (!NanoError.is(failure, expected))
      throw new Error(`${message}: expected NanoError ${expected}, got ${describe(failure)}`);
    return;
  }
  if (!(failure instanceof expected) || "code" in failure) {
    throw new Error(`${message}: expected our own ${expected.name}, got ${describe(failure)}`);
  }
}

/** Counts the outcomes of a check; `require` fails when an outcome that must occur did not. */
export class Tally {
  readonly counts: Record<string, number> = {};

  count(outcome: string): void {
    this.counts[outcome] = (this.counts[outcome] ?? 0) + 1;
  }

  require(...outcomes: string[]): this {
    for (const outcome of outcomes) check((this.counts[outcome] ?? 0) > 0, `no "${outcome}" case was seen`);
    return this;
  }

  toString(): string {
    return Object.entries(this.counts)
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(", ");
  }
}
