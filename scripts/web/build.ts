import { fileURLToPath } from "node:url";
import { build } from "vite";
import { writeChecksums } from "./checksums.ts";
import { subresourceIntegrity } from "./sri-plugin.ts";

/** The web app's source folder and the default output folder (`npm run build:web`). */
export const WEB_SOURCE = fileURLToPath(new URL("../../src/web/", import.meta.url));
export const WEB_OUTPUT = fileURLToPath(new URL("../../dist/web/", import.meta.url));

export interface WebBuild {
  readonly outDir: string;
  /** SHA-256 of SHA256SUMS: the build's published hash. */
  readonly treeHash: string;
  readonly files: number;
}

/**
 * Builds the web app reproducibly: the same source and lockfile give the same bytes (content-hashed
 * file names, no timestamps, no source maps, no absolute paths in the output; test/web/build.test.ts
 * builds twice and compares). Relative URLs (base "./") so the same files work from any path or a
 * local copy; one script chunk and no module-preload polyfill, so every script the page runs is named
 * in index.html with its integrity hash; no assets inlined as data: URLs.
 */
export interface WebBuildOptions {
  /** Relay origins a copy run from a local folder talks to (connect-src; the first is its default). */
  readonly relays?: readonly string[];
}

export async function buildWebApp(
  outDir: string = WEB_OUTPUT,
  options: WebBuildOptions = {},
): Promise<WebBuild> {
  await build({
    root: WEB_SOURCE,
    configFile: false,
    envDir: false,
    base: "./",
    logLevel: "warn",
    plugins: [subresourceIntegrity(options.relays ?? [])],
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2024",
      sourcemap: false,
      assetsInlineLimit: 0,
      cssCodeSplit: false,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
    },
  });
  const { treeHash, files } = await writeChecksums(outDir);
  return { outDir, treeHash, files };
}
