import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfigFile } from "../../src/relay/config/load.ts";
import type { RelayConfig } from "../../src/relay/config/schema.ts";

/**
 * The deployment artifacts (docs/deploy.md) checked against the relay they deploy: each relay.toml
 * they ship validates, and each platform's kill timeout leaves the relay's drain the time it needs
 * (a SIGKILL in the middle of a drain is a restart that users notice). The image itself is built and
 * run by scripts/test-image.sh.
 */
const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

async function validConfig(path: string): Promise<RelayConfig> {
  // The URLs come from the environment at run time (a Secret, an .env file): any value validates.
  const names = ["NANO_RELAY_POSTGRES_URL", "NANO_RELAY_REDIS_URL"];
  const saved = names.map((name) => process.env[name]);
  process.env.NANO_RELAY_POSTGRES_URL = "postgres://nano@postgres:5432/nano";
  process.env.NANO_RELAY_REDIS_URL = "redis://redis:6379";
  try {
    const result = await loadConfigFile(new URL(path, root).pathname);
    assert.ok(result.ok, `${path}: ${JSON.stringify(result.ok ? [] : result.problems)}`);
    return result.config;
  } finally {
    for (const [index, name] of names.entries()) {
      if (saved[index] === undefined) delete process.env[name];
      else process.env[name] = saved[index];
    }
  }
}

/** Seconds a relay may need from SIGTERM to exit: the delay, then two stages each within the grace. */
function drainBudget(config: RelayConfig): number {
  return config.server.drain_delay_seconds + 2 * config.server.shutdown_grace_seconds;
}

function number(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  assert.ok(match !== null, `no ${what}`);
  return Number(match[1]);
}

describe("Dockerfile", () => {
  const lines = read("Dockerfile").split("\n");
  const runtimeStart = lines.findIndex((line) => /^FROM .* AS runtime$/.test(line));
  const runtime = lines.slice(runtimeStart);

  it("builds in two stages on Node 24 and runs no npm, as a non-root user, in exec form", async () => {
    assert.equal(lines.filter((line) => line.startsWith("FROM ")).length, 2);
    assert.ok(lines.some((line) => /^ARG NODE_VERSION=24$/.test(line)));
    assert.ok(runtimeStart > 0, "no runtime stage");
    assert.ok(!runtime.some((line) => /^RUN /.test(line)), "the runtime stage runs commands (npm, a shell)");
    const user = runtime.find((line) => line.startsWith("USER "));
    assert.match(user ?? "", /^USER [1-9][0-9]*:[1-9][0-9]*$/);
    assert.match(runtime.find((line) => line.startsWith("ENTRYPOINT ")) ?? "", /^ENTRYPOINT \["/);
    assert.match(
      runtime.find((line) => line.startsWith("HEALTHCHECK ")) ?? "",
      /CMD \[.*healthcheck\.js"\]$/,
    );
    assert.ok(runtime.includes("STOPSIGNAL SIGTERM"));
    await validConfig("deploy/image/relay.toml");
  });
});

describe("compose.yaml", () => {
  const text = read("compose.yaml");

  it("runs two relays, PostgreSQL and Redis with health checks, and lets a relay drain before killing it", async () => {
    for (const service of ["postgres", "redis", "migrate", "relay1", "relay2"])
      assert.match(text, new RegExp(`^  ${service}:$`, "m"), `no ${service} service`);
    assert.equal(
      (text.match(/healthcheck:/g) ?? []).length,
      4,
      "relays, PostgreSQL and Redis each have one (migrate disables it)",
    );
    const config = await validConfig("deploy/compose/relay.toml");
    assert.equal(config.storage.backend, "postgres");
    const stop = number(text, /stop_grace_period: (\d+)s/, "stop_grace_period");
    assert.ok(stop > drainBudget(config), `stop_grace_period ${stop}s <= drain ${drainBudget(config)}s`);
  });
});

describe("deploy/k8s", () => {
  const deployment = read("deploy/k8s/deployment.yaml");

  it("lists every manifest in its kustomization", () => {
    const kustomization = read("deploy/k8s/kustomization.yaml");
    const files = readdirSync(new URL("deploy/k8s/", root)).filter(
      (file) => file.endsWith(".yaml") && file !== "kustomization.yaml",
    );
    for (const file of files) assert.match(kustomization, new RegExp(`- ${file.replace(".", "\\.")}$`, "m"));
    assert.match(kustomization, /files:\n\s+- relay\.toml/);
  });

  it("rolls with no unavailable pod, probes readiness and liveness, and gives the drain its time", async () => {
    assert.match(deployment, /maxUnavailable: 0$/m);
    assert.match(deployment, /readinessProbe:\n\s+httpGet: \{ path: \/readyz/);
    assert.match(deployment, /livenessProbe:\n\s+httpGet: \{ path: \/healthz/);
    assert.match(deployment, /startupProbe:/);
    assert.match(deployment, /runAsNonRoot: true/);
    const config = await validConfig("deploy/k8s/relay.toml");
    const preStop = number(deployment, /preStop:\n\s+sleep: \{ seconds: (\d+) \}/, "preStop sleep");
    const grace = number(deployment, /terminationGracePeriodSeconds: (\d+)/, "terminationGracePeriodSeconds");
    assert.ok(
      grace > preStop + drainBudget(config),
      `grace ${grace}s <= ${preStop}s + drain ${drainBudget(config)}s`,
    );
    assert.match(read("deploy/k8s/pdb.yaml"), /kind: PodDisruptionBudget/);
    assert.match(read("deploy/k8s/secret.yaml"), /kind: Secret/);
  });
});

describe("deploy/systemd", () => {
  it("runs serve, reloads by a rolling deploy, and signals only the supervisor", () => {
    const unit = read("deploy/systemd/nano-relay.service");
    assert.match(unit, /^ExecStart=\S+ serve --instances \d+ /m);
    assert.match(unit, /^ExecReload=\S+ deploy --strategy rolling /m);
    assert.match(unit, /^KillMode=mixed$/m);
    assert.ok(number(unit, /^TimeoutStopSec=(\d+)$/m, "TimeoutStopSec") >= 30);
  });
});
