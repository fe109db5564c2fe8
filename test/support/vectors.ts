/**
 * The one loader of the official vectors (../shared/vectors, see its SOURCES.md). The files are never
 * copied into the project; a test names the files it needs and this module decides what happens when
 * they are missing:
 * - folder absent, not CI: the test is SKIPPED, and a line on stderr says which folder and how to
 *   supply it (a silent skip would let a broken checkout look green);
 * - folder absent under CI (env CI set): the test FAILS — CI always has the vectors;
 * - folder present but a named file missing or empty of cases: the test FAILS everywhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

export const VECTORS_ENV = "NANO_VECTORS_DIR";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The vectors folder: $NANO_VECTORS_DIR, else `<repo root>/../shared/vectors`. */
export function vectorsDir(): string {
  const fromEnv = process.env[VECTORS_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(REPO_ROOT, "..", "shared", "vectors");
}

/** CI is "on" for any value but empty, "0" and "false": absence of vectors is then a failure. */
export function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function vectorPath(relativePath: string): string {
  if (isAbsolute(relativePath) || relativePath.split(/[\\/]/).includes("..")) {
    throw new TypeError(`vector path must be relative and inside the vectors folder: ${relativePath}`);
  }
  return join(vectorsDir(), relativePath);
}

/**
 * Declares that test `t` needs the named vector files. Returns true when they are all present. When
 * the folder is absent it skips `t` (returning false; the caller returns) or, under CI, throws.
 * A present folder with a missing file always throws: that is a broken vector set, not an absent one.
 */
export function needVectors(t: TestContext, ...relativePaths: string[]): boolean {
  if (relativePaths.length === 0) throw new TypeError("needVectors: name at least one vector file");
  const dir = vectorsDir();
  if (!isDirectory(dir)) {
    const how = `set ${VECTORS_ENV}=/path/to/vectors or place them at <repo>/../shared/vectors`;
    if (isCi()) {
      throw new Error(`official vectors folder ${dir} not found and CI is set: CI must run them (${how})`);
    }
    const reason = `official vectors folder ${dir} not found (${how})`;
    process.stderr.write(`VECTORS MISSING: skipping "${t.name}": ${reason}\n`);
    t.skip(reason);
    return false;
  }
  for (const relativePath of relativePaths) {
    const path = vectorPath(relativePath);
    if (!existsSync(path)) throw new Error(`vector file ${path} is missing from ${dir}`);
  }
  return true;
}

/** The text of a vector file. */
export function readVectorText(relativePath: string): string {
  const path = vectorPath(relativePath);
  if (!existsSync(path)) throw new Error(`vector file ${path} not found`);
  return readFileSync(path, "utf8");
}

/**
 * Parses a JSON vector file. The type parameter is the caller's declared shape of that file; the
 * checks that matter (non-empty, expected fields) are made by the caller's typed accessors below.
 */
export function loadVectors<T>(relativePath: string): T {
  const text = readVectorText(relativePath);
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new Error(`vector file ${relativePath} is not valid JSON`, { cause });
  }
}

/** Fails when a vector list is empty: a loader that yields nothing must never pass. */
export function nonEmpty<T>(items: readonly T[] | undefined, what: string): readonly T[] {
  if (!Array.isArray(items) || items.length === 0) throw new Error(`${what}: zero test cases loaded`);
  return items;
}

/** Lowercase hex or base64 from a vector to bytes, rejecting malformed text instead of truncating. */
export function hexBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError(`malformed hex in vector`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function base64Bytes(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new TypeError("malformed base64 in vector");
  }
  return new Uint8Array(Buffer.from(text, "base64"));
}

/**
 * Counts what ran, per outcome, so each KAT can assert that vectors ran and print what it covered
 * (the counts appear in the test output as diagnostics).
 */
export class VectorTally {
  readonly #counts = new Map<string, number>();
  readonly #label: string;

  constructor(label: string) {
    this.#label = label;
  }

  count(outcome: string): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }

  get(outcome: string): number {
    return this.#counts.get(outcome) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const value of this.#counts.values()) sum += value;
    return sum;
  }

  /** Writes the counts as a diagnostic of `t` and throws when nothing ran. */
  report(t: TestContext): void {
    const parts = [...this.#counts].map(([outcome, n]) => `${outcome}=${n}`).join(", ");
    t.diagnostic(`${this.#label}: ${this.total} vectors (${parts})`);
    if (this.total === 0) throw new Error(`${this.#label}: zero vectors ran`);
  }
}

/**
 * For suites that declare their tests at module load (one test per probe file): the folder `sub` of the
 * vectors, or the reason to skip. Absent vectors are a skip with a loud line on stderr, and a failure
 * under CI, as in needVectors.
 */
export function vectorFolder(sub: string): { path: string } | { skip: string } {
  const path = vectorPath(sub);
  if (isDirectory(path)) return { path };
  const reason = `official vectors not found at ${path} (set ${VECTORS_ENV})`;
  if (isCi()) throw new Error(`${reason}; CI must have them`);
  process.stderr.write(`VECTORS MISSING: ${reason}\n`);
  return { skip: reason };
}

/** Every *.json file below `folder`, recursively, sorted, with its path relative to `folder`. */
export function jsonFiles(folder: string): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".json"))
        out.push({ name: relative(folder, path), value: JSON.parse(readFileSync(path, "utf8")) as unknown });
    }
  };
  walk(folder);
  return out;
}
