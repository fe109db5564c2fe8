// Test tiers (README "Testing"): `npm run test:fast` runs the fast tier, `npm test` runs everything. A
// test file is in the full tier when it starts processes — it imports node:child_process (or a package
// that starts processes, below), directly or through any module it imports (relay processes, CLI runs,
// openssl, Chromium, a web build) — or when it says so
// with a `// tier: full` line (an in-process test too slow for the fast tier). Everything else is fast.
// Derived from the imports rather than listed, so a new test lands in the right tier by itself; the
// fast run also refuses to start a process at all (scripts/_fast-tier-guard.js), which catches a
// process started in a way this scan cannot see. Plain JavaScript: scripts/test.js runs on any Node.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const MARKER = /^\/\/ tier: full\b/m;
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
/**
 * Imports that start processes: child_process itself, and packages that start one inside (Chromium
 * through playwright-core; esbuild's service process under vite). A new such package goes here, or
 * the fast run's guard will name the test that needs it.
 */
const PROCESSES = new Set(["node:child_process", "child_process", "playwright-core", "vite", "esbuild"]);

/** @type {Map<string, boolean>} */
const startsProcesses = new Map();

/** @param {string} file absolute path @returns {boolean} */
function importsChildProcess(file) {
  const known = startsProcesses.get(file);
  if (known !== undefined) return known;
  startsProcesses.set(file, false); // cycles: assume no until proven
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return false;
  }
  let found = false;
  for (const [, specifier = ""] of text.matchAll(SPECIFIERS)) {
    if (PROCESSES.has(specifier)) {
      found = true;
      break;
    }
    if (!specifier.startsWith(".")) continue;
    const target = resolve(dirname(file), specifier);
    if (existsSync(target) && importsChildProcess(target)) {
      found = true;
      break;
    }
  }
  startsProcesses.set(file, found);
  return found;
}

/**
 * @param {string} file a test file
 * @returns {"fast" | "full"}
 */
export function testTier(file) {
  const path = resolve(file);
  if (MARKER.test(readFileSync(path, "utf8"))) return "full";
  return importsChildProcess(path) ? "full" : "fast";
}
