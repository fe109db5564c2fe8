import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { NanoError } from "../errors/index.ts";

/**
 * The built web app (docs/web.md), read once at start and served from memory. Reading at start means
 * a request can never name a path outside the build (only the files found here have routes), and the
 * bytes served are the bytes checked: every file must match the build's SHA256SUMS, so a partial copy
 * or a file changed on disk after the build is refused at start instead of being served to users.
 */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));
const CHECKSUMS_FILE = "SHA256SUMS";
/** Bounds on what a misconfigured `static_dir` can make the relay read into memory. */
export const WEB_APP_LIMITS = Object.freeze({ files: 200, bytes: 32 * 1024 * 1024 });

const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
});

export interface WebAppFile {
  /** URL path, "/" for index.html. */
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong validator: the file's SHA-256. */
  readonly etag: string;
  /** Content-hashed asset names never change content: cache them for a year; everything else revalidates. */
  readonly immutable: boolean;
}

export interface WebApp {
  readonly dir: string;
  /** SHA-256 of SHA256SUMS: the build's published hash. */
  readonly treeHash: string;
  readonly files: readonly WebAppFile[];
}

function unavailable(message: string, cause?: unknown): NanoError {
  return new NanoError("web_app_unavailable", message, cause === undefined ? undefined : { cause });
}

async function listFiles(root: string, dir = root, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await listFiles(root, path, out);
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join("/"));
    // Symbolic links and special files are skipped: only regular files of the build are served.
    if (out.length > WEB_APP_LIMITS.files)
      throw unavailable(`${root} holds more than ${WEB_APP_LIMITS.files} files`);
  }
  return out;
}

/** Parses SHA256SUMS (`<64 hex>  <path>` per line) into a map; anything else is a corrupt build. */
function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = /^([0-9a-f]{64}) {2}([A-Za-z0-9._/-]+)$/.exec(line);
    if (match === null || match[2]!.split("/").includes(".."))
      throw unavailable(`malformed ${CHECKSUMS_FILE} line`);
    sums.set(match[2]!, match[1]!);
  }
  return sums;
}

export async function loadWebApp(dir: string = DEFAULT_WEB_DIR): Promise<WebApp> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw unavailable(`${dir} is not a folder`);
    names = await listFiles(dir);
  } catch (error) {
    if (NanoError.is(error)) throw error;
    throw unavailable(`no web app build at ${dir}: run npm run build:web`, error);
  }
  if (!names.includes("index.html") || !names.includes(CHECKSUMS_FILE)) {
    throw unavailable(`${dir} has no index.html or ${CHECKSUMS_FILE}: run npm run build:web`);
  }
  const sumsText = await readFile(join(dir, CHECKSUMS_FILE), "utf8");
  const sums = parseChecksums(sumsText);
  const served = names.filter((name) => name !== CHECKSUMS_FILE).sort();
  const missing = [...sums.keys()].filter((name) => !served.includes(name));
  if (missing.length > 0)
    throw unavailable(`files listed in ${CHECKSUMS_FILE} are missing: ${missing.join(", ")}`);
  let total = 0;
  const files: WebAppFile[] = [];
  for (const name of served) {
    const expected = sums.get(name);
    if (expected === undefined) throw unavailable(`${name} is not listed in ${CHECKSUMS_FILE}`);
    const body = await readFile(join(dir, name));
    total += body.length;
    if (total > WEB_APP_LIMITS.bytes)
      throw unavailable(`the build is larger than ${WEB_APP_LIMITS.bytes} bytes`);
    const digest = createHash("sha256").update(body).digest("hex");
    if (digest !== expected) throw unavailable(`${name} differs from its ${CHECKSUMS_FILE} entry`);
    files.push({
      path: name === "index.html" ? "/" : `/${name}`,
      body,
      contentType: CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
      etag: `"${digest}"`,
      immutable: name.startsWith("assets/"),
    });
  }
  files.push({
    path: `/${CHECKSUMS_FILE}`,
    body: Buffer.from(sumsText),
    contentType: "text/plain; charset=utf-8",
    etag: `"${createHash("sha256").update(sumsText).digest("hex")}"`,
    immutable: false,
  });
  return { dir, treeHash: createHash("sha256").update(sumsText).digest("hex"), files };
}
