// The weakening rules of change control (src/relay/compliance/change-control.ts), without a relay.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "smol-toml";
import { type LogSigningKey, logVerifierKey } from "../../src/audit/log-signer.ts";
import { ed25519, mlDsa65 } from "../../src/crypto/index.ts";
import {
  changeHash,
  configDiff,
  signApproval,
  validApprovals,
  weakenings,
} from "../../src/relay/compliance/change-control.ts";
import { type RelayConfig, relayConfigSchema } from "../../src/relay/config/schema.ts";
import { renderConfigTemplate } from "../../src/relay/config/template.ts";

const production = (): RelayConfig =>
  relayConfigSchema.parse(parse(renderConfigTemplate("production")) as Record<string, unknown>);

test("each weakening rule fires, and only in the weakening direction", () => {
  const base = production();
  const changed = structuredClone(base) as { -readonly [K in keyof RelayConfig]: RelayConfig[K] };
  Object.assign(changed.security, {
    minimum_crypto_mode: "classical",
    require_post_quantum: false,
    token_lifetime_seconds: base.security.token_lifetime_seconds + 1,
    token_idle_timeout_seconds: 0,
  });
  Object.assign(changed.server.tls, { enabled: false });
  Object.assign(changed.compliance, { audit_hook: "none", log_usernames: true, retention_audit_days: 1 });
  Object.assign(changed.limits.rate, { sends_per_minute: base.limits.rate.sends_per_minute + 1 });
  assert.deepEqual(
    weakenings(base, changed).map((w) => w.path),
    [
      "security.minimum_crypto_mode",
      "security.require_post_quantum",
      "security.token_lifetime_seconds",
      "security.token_idle_timeout_seconds",
      "server.tls.enabled",
      "compliance.audit_hook",
      "compliance.log_usernames",
      "compliance.retention_audit_days",
      "limits.rate.sends_per_minute",
    ],
  );
  // The same changes the other way round strengthen: nothing to approve.
  assert.deepEqual(weakenings(changed, base), []);
  assert.deepEqual(weakenings(base, base), []);
});

test("the diff lists every changed leaf; the change hash ignores where the relay listens", () => {
  const base = production();
  const moved = { ...base, server: { ...base.server, api_port: 9999, bind_address: "127.0.0.1" as const } };
  assert.equal(changeHash(moved), changeHash(base));
  assert.deepEqual(
    configDiff(base, moved).map((c) => c.path),
    ["server.bind_address", "server.api_port"],
  );
  const longer = { ...base, security: { ...base.security, token_lifetime_seconds: 7200 } };
  assert.notEqual(changeHash(longer), changeHash(base));
});

test("an approval counts only for its own change, from a listed key, with both signatures intact", () => {
  const dir = mkdtempSync(join(tmpdir(), "nano-approvals-"));
  try {
    const admin = (name: string): LogSigningKey => ({
      name,
      ed25519Seed: ed25519.keygen().seed,
      mlDsa65Seed: mlDsa65.keygen().seed,
    });
    const ann = admin("ann");
    const mallory = admin("mallory");
    const listed = [logVerifierKey(ann)];
    const [from, to, other] = ["a".repeat(64), "b".repeat(64), "c".repeat(64)];
    writeFileSync(join(dir, "good.json"), signApproval(from, to, ann));
    assert.deepEqual(
      validApprovals(dir, from, to, listed).map((id) => id.split("+")[0]),
      ["ann"],
    );
    // Replayed for another change, signed by a key not listed, or with a flipped signature: ignored.
    assert.deepEqual(validApprovals(dir, from, other, listed), []);
    rmSync(join(dir, "good.json"));
    writeFileSync(join(dir, "mallory.json"), signApproval(from, to, mallory));
    const forged = JSON.parse(signApproval(from, to, ann)) as Record<string, string>;
    const flipped = Buffer.from(forged.ml_dsa_65!, "base64");
    flipped[10]! ^= 1;
    writeFileSync(
      join(dir, "flipped.json"),
      JSON.stringify({ ...forged, ml_dsa_65: flipped.toString("base64") }),
    );
    writeFileSync(join(dir, "junk.json"), "{not json");
    assert.deepEqual(validApprovals(dir, from, to, listed), []);
    // Two copies of one administrator's approval are one approval.
    writeFileSync(join(dir, "one.json"), signApproval(from, to, ann));
    writeFileSync(join(dir, "two.json"), signApproval(from, to, ann));
    assert.equal(validApprovals(dir, from, to, listed).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
