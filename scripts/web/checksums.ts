import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/**
 * The published hash of a web build: SHA256SUMS (the `sha256sum` format, one line per file, sorted by
 * path) written into the build, and the SHA-256 of that file as the build's one hash. Anyone can check
 * a copy with standard tools: `sha256sum -c SHA256SUMS` and `sha256sum SHA256SUMS` (docs/web.md).
 */
export const CHECKSUMS_FILE = "SHA256SUMS";

async function filesUnder(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(root, path)));
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join("/"));
  }
  return out;
}

export async function writeChecksums(root: string): Promise<{ treeHash: string; files: number }> {
  const files = (await filesUnder(root)).filter((file) => file !== CHECKSUMS_FILE).sort();
  let sums = "";
  for (const file of files) {
    sums += `${createHash("sha256")
      .update(await readFile(join(root, file)))
      .digest("hex")}  ${file}\n`;
  }
  await writeFile(join(root, CHECKSUMS_FILE), sums, { mode: 0o644 });
  return { treeHash: createHash("sha256").update(sums).digest("hex"), files: files.length };
}
