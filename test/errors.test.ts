import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { AUDIT_ERRORS } from "../src/errors/codes-audit.ts";
import { CLIENT_ERRORS } from "../src/errors/codes-client.ts";
import { COMMON_ERRORS } from "../src/errors/codes-common.ts";
import { CRYPTO_ERRORS } from "../src/errors/codes-crypto.ts";
import { PROTOCOL_ERRORS } from "../src/errors/codes-protocol.ts";
import { RELAY_ERRORS } from "../src/errors/codes-relay.ts";
import { ERROR_CATALOGUE, NanoError } from "../src/errors/index.ts";
import { renderErrorsDoc } from "../src/errors/render-doc.ts";

test("docs/errors.md is exactly what the catalogue generates", () => {
  const onDisk = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  assert.equal(onDisk, renderErrorsDoc(), "run: npx node scripts/gen-errors-doc.ts");
});

test("every code is defined in exactly one layer and is snake_case", () => {
  const layers = [COMMON_ERRORS, CRYPTO_ERRORS, PROTOCOL_ERRORS, RELAY_ERRORS, CLIENT_ERRORS, AUDIT_ERRORS];
  const seen = new Map<string, number>();
  for (const layer of layers)
    for (const code of Object.keys(layer)) seen.set(code, (seen.get(code) ?? 0) + 1);
  for (const [code, count] of seen) {
    assert.equal(count, 1, `${code} is defined in ${count} layers`);
    assert.match(code, /^[a-z][a-z0-9_]*$/);
  }
  assert.equal(seen.size, Object.keys(ERROR_CATALOGUE).length);
});

test("every entry has an HTTP status of 4xx or 5xx and text for both columns", () => {
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
    assert.ok(entry.status >= 400 && entry.status <= 599, code);
    assert.ok(entry.meaning.length > 10 && entry.fix.length > 5, code);
  }
});

test("NanoError carries code, kind and status, and is() narrows by code", () => {
  const error = new NanoError("truncated", "input ended early");
  assert.equal(error.code, "truncated");
  assert.equal(error.kind, "codec");
  assert.equal(error.status, 400);
  assert.ok(NanoError.is(error));
  assert.ok(NanoError.is(error, "truncated"));
  assert.ok(!NanoError.is(error, "trailing_bytes"));
  assert.ok(!NanoError.is(new Error("x")));
});
