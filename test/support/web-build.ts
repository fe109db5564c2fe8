import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWebApp, type WebBuild } from "../../scripts/web/build.ts";

/** A fresh production build of the web app in a temporary folder, removed by `remove()`. */
export async function temporaryWebBuild(): Promise<WebBuild & { remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "nano-web-"));
  const build = await buildWebApp(join(dir, "web"));
  return { ...build, remove: () => rm(dir, { recursive: true, force: true }) };
}
