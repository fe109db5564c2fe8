/**
 * Debian's Chromium driven by playwright-core, never a downloaded browser. Launched headless with the
 * flags that keep it from reaching outside hosts (this machine has no network but loopback: without
 * them Chromium tries Google's hosts at every start), in a fresh profile that playwright creates for
 * each launch and deletes at close. Where Chromium is missing the test is skipped with a line saying
 * how to install it, except under CI, where it fails: `.ci/run` installs it (apt-get install chromium).
 */
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { isCi } from "../support/vectors.ts";

export const CHROMIUM_ENV = "NANO_CHROMIUM";

export const CHROMIUM_FLAGS: readonly string[] = Object.freeze([
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-default-apps",
  "--disable-extensions",
]);

/** $NANO_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const fromEnv = process.env[CHROMIUM_ENV];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "/usr/bin/chromium";
}

/** True when Chromium is here; otherwise skips `t` (or, under CI, throws). */
export function needChromium(t: TestContext): boolean {
  const path = chromiumPath();
  if (existsSync(path)) return true;
  const how = `apt-get install chromium, or set ${CHROMIUM_ENV}=/path/to/chromium`;
  if (isCi())
    throw new Error(`Chromium not found at ${path} and CI is set: CI must run the browser tests (${how})`);
  process.stderr.write(`CHROMIUM MISSING: skipping "${t.name}": ${path} not found (${how})\n`);
  t.skip(`Chromium not found at ${path}`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_FLAGS] });
}
