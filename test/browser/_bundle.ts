/**
 * Builds a test page with Vite (the same bundler as the web app) into a temporary folder: the page's
 * index.html and the TypeScript it loads, with src/ and test/ imports resolved as in the project.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";

export interface BuiltPage {
  readonly dir: string;
  remove(): Promise<void>;
}

export async function bundlePage(pageFolder: string): Promise<BuiltPage> {
  const dir = await mkdtemp(join(tmpdir(), "nano-page-"));
  await build({
    root: pageFolder,
    configFile: false,
    logLevel: "warn",
    build: {
      outDir: dir,
      emptyOutDir: true,
      minify: false,
      target: "es2024",
      modulePreload: { polyfill: false },
    },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
