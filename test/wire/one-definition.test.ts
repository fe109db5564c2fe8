import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { CLOSE, FRAME } from "../../src/wire/index.ts";

/**
 * Issue 13, "one wire contract": frame types, close codes and the limits both sides agree on are
 * defined in src/wire and nowhere else. This reads every other file of src/ (comments stripped) and
 * refuses a frame type written as a literal where a frame is built or told apart, a close code
 * written as a number, or a second copy of a wire constant; and it keeps src/wire loadable in a
 * browser (no node: imports, nothing imported but zod and its own files).
 */
const SRC = new URL("../../src/", import.meta.url).pathname;
const WIRE = join(SRC, "wire");

const frameTypes = Object.values(FRAME).join("|");
const closeCodes = Object.values(CLOSE).join("|");

const RULES: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  { pattern: new RegExp(`\\btype:\\s*"(${frameTypes})"`), why: "a frame type literal (use FRAME)" },
  { pattern: new RegExp(`\\bcase\\s+"(${frameTypes})"\\s*:`), why: "a frame type literal (use FRAME)" },
  { pattern: new RegExp(`\\.type\\s*[!=]==\\s*"(${frameTypes})"`), why: "a frame type literal (use FRAME)" },
  { pattern: /([=(,:]|\bcase)\s*44\d\d\b/, why: "a private close code (use CLOSE)" },
  { pattern: new RegExp(`\\.close\\(\\s*(${closeCodes})\\b`), why: "a close code literal (use CLOSE)" },
  {
    pattern: new RegExp(`\\bCLOSE_[A-Z_]+\\s*=\\s*(${closeCodes})\\b`),
    why: "a close code defined outside src/wire",
  },
  { pattern: /\b(MAX_ACK_IDS|maxAckIds)\s*[:=]\s*\d/, why: "the ack batch defined outside src/wire" },
  { pattern: /\[A-Za-z0-9_-\]\{1,64\}/, why: "the client message id pattern outside src/wire" },
  { pattern: /\bMAX_ENVELOPE_BASE64\s*=/, why: "an envelope bound defined outside src/wire" },
  { pattern: /\bMAX_PROOF_HASHES\s*=/, why: "a proof bound defined outside src/wire" },
  {
    // A wire field declared with a type outside src/wire is a second copy of an answer's shape
    // (`server_id: receipt.serverId` builds one from the contract's type and is fine).
    pattern:
      /\b(server_id|sent_at|client_message_id|one_time_count|one_time_prekey|identity_record|identity_hash|expires_at|log_index|tree_size|inclusion_proof|has_bundle|rotation_due|verifier_keys|device_certificate)\??:\s*(number|string|boolean|readonly|unknown)\b/,
    why: "a wire shape declared outside src/wire (use its zod type)",
  },
];

/** Comments say what the code means ("closes with 4401"); only code is checked. */
export function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

export function wireFindings(source: string): string[] {
  const findings: string[] = [];
  for (const [index, line] of stripComments(source).split("\n").entries())
    for (const rule of RULES)
      if (rule.pattern.test(line)) findings.push(`${index + 1}: ${rule.why}: ${line.trim()}`);
  return findings;
}

/** Files whose snake_case fields are another protocol's, not the relay API's. */
const OTHER_PROTOCOLS: ReadonlySet<string> = new Set([
  // The supervisor-worker IPC of `nano-relay serve` (its challenge answers mirror the API's names).
  "relay/instances/_ipc.ts",
]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

test("the checker catches every duplicate it claims to, and not comments", () => {
  const caught = [
    'socket.send(JSON.stringify({ type: "sent", id }));',
    '    case "low_prekeys":',
    'if (frame.type === "ack") return;',
    "const CLOSE_UNAUTHENTICATED = 4401;",
    'connection.close(1008, "too many");',
    "  maxAckIds: 1000,",
    "const MAX_ACK_IDS = 1000;",
    "const ID = /^[A-Za-z0-9_-]{1,64}$/;",
    "export const MAX_ENVELOPE_BASE64 = Math.ceil(65536 / 3) * 4;",
    "const MAX_PROOF_HASHES = 64;",
    "interface Answer { readonly server_id: number }",
    "  readonly log_index?: number;",
  ];
  for (const line of caught) assert.ok(wireFindings(line).length >= 1, line);
  const fine = [
    "// the relay closes with 4401 token_expired",
    "/** 4409: a newer connection took over */",
    'const event = { type: "login", username };',
    'if (outcome.kind === "message") show(outcome);',
    "const timeoutMs = 1000;",
    'const url = "ws://relay/v1/ws"; // a comment',
    "return { server_id: receipt.serverId, duplicate: receipt.duplicate };",
  ];
  for (const line of fine) assert.deepEqual(wireFindings(line), [], line);
});

test("no frame type, close code or wire limit is defined outside src/wire", () => {
  const findings = tsFiles(SRC)
    .filter((file) => !file.startsWith(`${WIRE}/`) && !OTHER_PROTOCOLS.has(relative(SRC, file)))
    .flatMap((file) =>
      wireFindings(readFileSync(file, "utf8")).map((finding) => `${relative(SRC, file)}:${finding}`),
    );
  assert.deepEqual(findings, []);
});

test("src/wire loads anywhere: no node: imports, nothing but zod and its own files, no Buffer or process", () => {
  const files = tsFiles(WIRE);
  assert.ok(files.length >= 5, "src/wire has its files");
  for (const file of files) {
    const code = stripComments(readFileSync(file, "utf8"));
    assert.ok(!/\b(Buffer|process)\b/.test(code), `${relative(SRC, file)} uses a Node global`);
    for (const [, from] of readFileSync(file, "utf8").matchAll(
      /^(?:import|export)[^"]*?from\s+"([^"]+)"/gm,
    )) {
      assert.ok(
        from === "zod" || /^\.\/[\w-]+\.ts$/.test(from as string),
        `${relative(SRC, file)} imports ${from}`,
      );
    }
  }
});
