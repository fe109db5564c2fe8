import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import { environmentConfigPath, loadConfigOrThrow, parseConfigText } from "../../src/relay/config/load.ts";
import { ENVIRONMENTS, relayConfigSchema } from "../../src/relay/config/schema.ts";
import { renderConfigTemplate } from "../../src/relay/config/template.ts";
import { buildTestRelay } from "./fixtures/harness.ts";

const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "nano-relay-config-"));

function runCli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
}

function productionWithFiles(keyMode: number): string {
  const cert = join(tmp, `cert-${keyMode}.pem`);
  const key = join(tmp, `key-${keyMode}.pem`);
  writeFileSync(cert, "cert");
  writeFileSync(key, "key");
  chmodSync(key, keyMode);
  return renderConfigTemplate("production")
    .replace("/etc/nano-relay/tls/cert.pem", cert)
    .replace("/etc/nano-relay/tls/key.pem", key);
}

describe("relay configuration", () => {
  it("keeps config/*.toml identical to init-config output, and each parses under the schema", () => {
    for (const environment of ENVIRONMENTS) {
      const text = readFileSync(environmentConfigPath(environment), "utf8");
      assert.equal(text, renderConfigTemplate(environment), `${environment}.toml drifted from the template`);
      const result = parseConfigText(text, environment);
      if (environment === "development" || environment === "testing") {
        assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      } else {
        // Staging and production name certificate files that do not exist on a build machine.
        assert.ok(!result.ok);
        assert.deepEqual(
          result.problems.map((p) => p.path),
          ["server.tls.cert_file", "server.tls.key_file"],
        );
      }
    }
  });

  it("accepts production with TLS files present and a 0600 key", () => {
    const result = parseConfigText(productionWithFiles(0o600), "production");
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.config.server.tls.enabled, true);
  });

  it("refuses a world-readable key file", () => {
    const result = parseConfigText(productionWithFiles(0o644), "production");
    assert.ok(!result.ok);
    assert.equal(result.problems[0]?.path, "server.tls.key_file");
    assert.match(result.problems[0]!.message, /chmod 600/);
  });

  it("reports unknown keys and type errors with their paths, all at once", () => {
    const text = '[server]\nbogus = 1\napi_port = "x"\n[limits.rate]\nsends_per_minut = 3\n[nope]\n';
    const result = parseConfigText(text, "inline");
    assert.ok(!result.ok);
    const paths = result.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      "limits.rate.sends_per_minut",
      "nope",
      "server.api_port",
      "server.bogus",
      // TLS is on by default and no files are named: reported in the same run.
      "server.tls.cert_file",
      "server.tls.key_file",
    ]);
  });

  it("refuses a WebSocket close period that does not fit in the shutdown grace", () => {
    const text =
      "[server]\nshutdown_grace_seconds = 5\ndrain_close_period_seconds = 5\n[server.tls]\nenabled = false\n";
    const result = parseConfigText(text, "inline");
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => p.path),
      ["server.drain_close_period_seconds"],
    );
  });

  it("refuses contradictions and unsafe production settings", () => {
    const classical = parseConfigText(
      '[security]\nminimum_crypto_mode = "classical"\n[server.tls]\nenabled = false\n',
      "x",
    );
    assert.ok(!classical.ok);
    assert.equal(classical.problems[0]?.path, "security.minimum_crypto_mode");
    const noTls = parseConfigText(
      'environment = "production"\n[server]\nbind_address = "0.0.0.0"\n[server.tls]\nenabled = false\n',
      "x",
    );
    assert.ok(!noTls.ok);
    assert.deepEqual(
      noTls.problems.map((p) => p.path),
      ["server.tls.enabled"],
    );
    const proxied = parseConfigText(
      'environment = "production"\n[server]\nbind_address = "0.0.0.0"\nbehind_tls_proxy = true\n[server.tls]\nenabled = false\n',
      "x",
    );
    assert.ok(proxied.ok);
    const loopbackProd = parseConfigText('environment = "production"\n[server.tls]\nenabled = false\n', "x");
    assert.ok(!loopbackProd.ok, "production without TLS or proxy is refused even on loopback");
  });

  it("production keeps audit entries at least six years; other environments may keep them shorter", () => {
    const short = productionWithFiles(0o600).replace(
      "retention_audit_days = 2192",
      "retention_audit_days = 2191",
    );
    const refused = parseConfigText(short, "production");
    assert.ok(!refused.ok);
    assert.deepEqual(
      refused.problems.map((p) => p.path),
      ["compliance.retention_audit_days"],
    );
    assert.match(refused.problems[0]!.message, /six years \(2192 days\)/);
    const staging = parseConfigText(
      'environment = "staging"\n[server.tls]\nenabled = false\n[compliance]\nretention_audit_days = 1\n',
      "x",
    );
    assert.ok(staging.ok, JSON.stringify(!staging.ok && staging.problems));
    assert.equal(staging.config.compliance.erasure_cooling_off_days, 30);
    const negative = parseConfigText(
      "[compliance]\nerasure_cooling_off_days = -1\n[server.tls]\nenabled = false\n",
      "x",
    );
    assert.ok(!negative.ok);
    assert.deepEqual(
      negative.problems.map((p) => p.path),
      ["compliance.erasure_cooling_off_days"],
    );
  });

  it("reports cross-key problems in the same run as schema problems", () => {
    const text =
      'environment = "production"\n[server]\nbogus = 1\nbind_address = "0.0.0.0"\n[server.tls]\nenabled = false\n[security]\nrequire_post_quantum = false\n';
    const result = parseConfigText(text, "x");
    assert.ok(!result.ok);
    assert.deepEqual(result.problems.map((p) => p.path).sort(), [
      "security.require_post_quantum",
      "server.bogus",
      "server.tls.enabled",
    ]);
  });

  it("reports broken TOML with a position instead of throwing", () => {
    const result = parseConfigText("[server\napi_port = 1", "broken");
    assert.ok(!result.ok);
    assert.match(result.problems[0]!.message, /line 1/);
  });

  it("names a missing secret environment variable", () => {
    const result = parseConfigText(
      '[server.tls]\nenabled = false\n[storage]\npostgres_url_env = "NANO_TEST_SURELY_UNSET_VAR"\n',
      "x",
    );
    assert.ok(!result.ok);
    assert.equal(result.problems[0]?.path, "storage.postgres_url_env");
  });

  it("rejects out-of-range values through the schema", () => {
    for (const input of [
      { server: { api_port: 70_000 } },
      { limits: { max_envelope_bytes: -1 } },
      { security: { minimum_crypto_mode: "post-quantum" } },
      { storage: { backend: "mysql" } },
    ]) {
      assert.equal(relayConfigSchema.safeParse(input).success, false, JSON.stringify(input));
    }
  });

  it("request_timeout_seconds replaces Node's 300 s request timeout (large attachment uploads)", async () => {
    assert.equal(relayConfigSchema.parse({}).server.request_timeout_seconds, 3600);
    for (const value of [0, 59, 86_401, 90.5]) {
      const input = { server: { request_timeout_seconds: value } };
      assert.equal(relayConfigSchema.safeParse(input).success, false, JSON.stringify(input));
    }
    const file = join(tmp, "timeout.toml");
    writeFileSync(file, "[server]\nrequest_timeout_seconds = 7200\n[server.tls]\nenabled = false\n");
    const loaded = await loadConfigOrThrow({ file });
    assert.equal(loaded.server.request_timeout_seconds, 7200);
    const relay = await buildTestRelay({ server: { request_timeout_seconds: 7200 } });
    try {
      assert.equal(relay.app.server.requestTimeout, 7_200_000, "the listener uses the configured value");
    } finally {
      await relay.close();
    }
  });

  it("loadConfigOrThrow raises config_invalid listing the problems", async () => {
    const file = join(tmp, "bad.toml");
    writeFileSync(file, "[server]\nbogus = true\n");
    await assert.rejects(loadConfigOrThrow({ file }), (error: unknown) => {
      assert.ok(NanoError.is(error, "config_invalid"));
      assert.match(error.message, /server\.bogus: unknown key/);
      return true;
    });
  });

  it("validate-config exits non-zero and prints every problem; init-config writes a valid file", () => {
    const bad = join(tmp, "cli-bad.toml");
    writeFileSync(bad, '[server]\nbogus = 1\napi_port = "x"\n');
    const failed = runCli(["validate-config", "--config", bad]);
    assert.equal(failed.status, 78);
    assert.match(failed.stderr, /server\.bogus: unknown key/);
    assert.match(failed.stderr, /server\.api_port:/);
    const prodCli = runCli(["validate-config", "--environment", "production"]);
    assert.notEqual(prodCli.status, 0);

    const out = join(tmp, "dev.toml");
    const init = runCli(["init-config", "--environment", "development", "--output", out]);
    assert.equal(init.status, 0, init.stderr);
    const ok = runCli(["validate-config", "--config", out, "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { ok: true, source: out });
    const again = runCli(["init-config", "--environment", "development", "--output", out]);
    assert.equal(again.status, 73, "refuses to overwrite without --force (EX_CANTCREAT)");
    const usage = runCli(["validate-config", "--environment", "prod"]);
    assert.equal(usage.status, 64);
  });
});

describe("docs/configuration.md", () => {
  it("documents every key of the schema", () => {
    const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    const missing: string[] = [];
    const walk = (shape: Record<string, unknown>, path: string) => {
      for (const [key, value] of Object.entries(shape)) {
        const inner = value as {
          def?: { innerType?: { shape?: Record<string, unknown> } };
          shape?: Record<string, unknown>;
        };
        const nested = inner.shape ?? inner.def?.innerType?.shape;
        if (nested !== undefined) {
          if (!doc.includes(`[${path}${key}]`)) missing.push(`[${path}${key}]`);
          walk(nested, `${path}${key}.`);
        } else if (!doc.includes(`\`${key}\``)) {
          missing.push(`${path}${key}`);
        }
      }
    };
    walk(relayConfigSchema.shape as unknown as Record<string, unknown>, "");
    assert.deepEqual(missing, []);
  });
});
