/**
 * Loader for the official vectors in ../shared/vectors (or $NANO_VECTORS_DIR). Vectors are data beside
 * the project, never copied into it. When the folder is missing the caller skips loudly, except in CI
 * (env CI set) where a missing folder fails: CI always has the vectors, so a skip there would hide a
 * broken checkout.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export function vectorsDir(): string {
  return resolve(process.env.NANO_VECTORS_DIR ?? join(REPO_ROOT, "..", "shared", "vectors"));
}

/**
 * The folder `sub` inside the vectors directory, or a reason to skip. Throws in CI when missing.
 */
export function vectorFolder(sub: string): { path: string } | { skip: string } {
  const path = join(vectorsDir(), sub);
  if (existsSync(path) && statSync(path).isDirectory()) return { path };
  const reason = `official vectors not found at ${path} (set NANO_VECTORS_DIR)`;
  if (process.env.CI !== undefined) throw new Error(`${reason}; CI must have them`);
  process.stderr.write(`SKIP: ${reason}\n`);
  return { skip: reason };
}

/** Every *.json file below `folder`, recursively, sorted, with its path relative to `folder`. */
export function jsonFiles(folder: string): { name: string; value: unknown }[] {
  const out: { name: string; value: unknown }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".json"))
        out.push({ name: relative(folder, path), value: JSON.parse(readFileSync(path, "utf8")) as unknown });
    }
  };
  walk(folder);
  return out;
}
