import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

/**
 * Issue 13: per-client state lives in the ClientContext that NanoClient owns (src/client/context.ts),
 * never at module level, where two clients in one process would share it and a closed client would
 * leave it behind. This reads every file of src/client and refuses, at module level (column 0, as
 * Biome formats top-level statements) or as a static field:
 * - a `let` or `var` (mutable module state);
 * - a binding initialized with `new Map/Set/WeakMap/WeakSet/WeakRef` unless typed `ReadonlyMap` /
 *   `ReadonlySet` (a constant table);
 * - a binding initialized with an empty array or object literal (an accumulator).
 */
const SRC_CLIENT = new URL("../../src/client/", import.meta.url).pathname;

const RULES: readonly { readonly pattern: RegExp; readonly unless?: RegExp; readonly why: string }[] = [
  { pattern: /^(export )?(let|var)\s/, why: "a mutable module-level binding" },
  {
    pattern: /^(export )?const \w+[^=]*=\s*new (WeakMap|WeakSet|WeakRef|Map|Set)\b/,
    unless: /^(export )?const \w+\s*:\s*Readonly(Map|Set)</,
    why: "a module-level collection (per-client state belongs in ClientContext)",
  },
  { pattern: /^(export )?const \w+[^=]*=\s*(\[\]|\{\});?$/, why: "a module-level accumulator" },
  {
    pattern: /^\s+(private\s+)?static\s+(readonly\s+)?#?\w+[^=]*=\s*new (WeakMap|WeakSet|Map|Set)\b/,
    why: "a static collection",
  },
];

export function moduleStateFindings(source: string): string[] {
  const findings: string[] = [];
  for (const [index, line] of source.split("\n").entries()) {
    for (const rule of RULES)
      if (rule.pattern.test(line) && rule.unless?.test(line) !== true)
        findings.push(`${index + 1}: ${rule.why}: ${line.trim()}`);
  }
  return findings;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

test("the checker catches every shape of module-level per-client state it claims to", () => {
  const caught = [
    "const links = new WeakMap<UnlockedHome, Promise<RelayLink>>();",
    "export const verified = new Map<string, IdentityRecord>();",
    "const seen: Set<string> = new Set();",
    "let cached: Verifier | null = null;",
    "var counter = 0;",
    "const pending: Entry[] = [];",
    "const byPeer = {};",
    "  static #instances = new Map<string, Client>();",
  ];
  for (const line of caught) assert.equal(moduleStateFindings(line).length, 1, line);
  const allowed = [
    'const LOOPBACK: ReadonlySet<string> = new Set(["localhost"]);',
    "  const local = new Map<string, number>();",
    "  readonly #chains = new Map<string, Promise<void>>();",
    "export const LIMITS = Object.freeze({ max: 1 });",
    'const PREFIX = "contact-sessions:";',
  ];
  for (const line of allowed) assert.deepEqual(moduleStateFindings(line), [], line);
});

test("src/client holds no module-level per-client state", () => {
  const files = tsFiles(SRC_CLIENT);
  assert.ok(files.length > 30, "the client's files were found");
  const findings = files.flatMap((file) =>
    moduleStateFindings(readFileSync(file, "utf8")).map(
      (finding) => `${relative(SRC_CLIENT, file)}:${finding}`,
    ),
  );
  assert.deepEqual(findings, []);
});
