/**
 * The conformance suite's assertions: node:assert is not in the page, so these few, with messages
 * that say what differed. Deep equality treats Uint8Arrays by content and objects by own keys (an
 * absent key and a key set to undefined differ, as in node:assert's deepStrictEqual).
 */
export class ConformanceFailure extends Error {
  override name = "ConformanceFailure";
}

function describe(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner instanceof Uint8Array
      ? `bytes(${Array.from(inner.subarray(0, 8)).join(",")}${inner.length > 8 ? ",…" : ""}; ${inner.length})`
      : inner,
  );
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((byte, i) => byte === b[i])
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]))
    );
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const keysA = Object.keys(a).sort();
  const keysB = Object.keys(b).sort();
  return (
    deepEqual(keysA, keysB) &&
    keysA.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new ConformanceFailure(`${what}: expected ${describe(expected)}, got ${describe(actual)}`);
  }
}

export function ok(condition: boolean, what: string): void {
  if (!condition) throw new ConformanceFailure(what);
}

/** `attempt` must reject with a NanoError-like error of `code`; returns that error. */
export async function rejectsWith(
  attempt: () => Promise<unknown>,
  code: string,
  what: string,
): Promise<Error> {
  try {
    await attempt();
  } catch (error) {
    const found = (error as { code?: unknown }).code;
    if (found !== code)
      throw new ConformanceFailure(`${what}: expected ${code}, got ${String(found)} (${String(error)})`);
    return error as Error;
  }
  throw new ConformanceFailure(`${what}: expected ${code}, but it succeeded`);
}
