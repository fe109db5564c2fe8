import { resolve } from "node:path";
import { NanoError } from "../../errors/index.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import { askControl as ask, type ControlRequest } from "../../relay/instances/control.ts";
import type { Strategy, WorkerView } from "../../relay/instances/supervisor.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";
import { defaultControlPath } from "./serve.ts";

/**
 * `nano-relay deploy` and the supervisor's view in `status --control` (docs/deploy.md): both talk to a
 * running `nano-relay serve` over its control socket.
 */

export interface ControlSelection {
  readonly control?: string;
  readonly config?: string;
  readonly environment?: Environment;
}

/** --control, else the default next to the configuration's data (as serve chose it). */
export async function controlPath(options: ControlSelection): Promise<string> {
  if (options.control !== undefined) return resolve(options.control);
  if (options.config === undefined && options.environment === undefined)
    throw new CommandFailure(
      "name the supervisor: --control PATH, or --config FILE of the relay it serves",
      RELAY_EXIT.usage,
      "see nano-relay deploy --help",
    );
  return defaultControlPath(
    await loadConfigOrThrow({ file: options.config, environment: options.environment }),
  );
}

async function askControl(
  path: string,
  request: ControlRequest,
  onProgress?: (line: string) => void,
): Promise<Record<string, unknown>> {
  try {
    return await ask(path, request, onProgress);
  } catch (error) {
    if (!NanoError.is(error, "relay_unreachable")) throw error;
    throw new CommandFailure(
      error.message,
      RELAY_EXIT.unavailable,
      "start it with nano-relay serve --instances N --config FILE, or name its socket with --control PATH",
    );
  }
}

function yesNo(value: boolean | null): string {
  return value === null ? "?" : value ? "yes" : "no";
}

/** The supervisor's state as text: both generations side by side during a deploy. */
export function renderServeStatus(status: Record<string, unknown>): string {
  const workers = (status.workers ?? []) as WorkerView[];
  const ports = status.ports as { api: number; websocket: number } | null;
  const lines = [
    `nano-relay serve, pid ${String(status.pid)}: ${String(status.instances)} instance(s), generation ${String(status.generation)}` +
      (ports === null ? "" : `, ports ${ports.api}/${ports.websocket}`),
  ];
  const deploy = status.deploy as { strategy: string; from: number; to: number; phase: string } | null;
  if (deploy !== null && deploy !== undefined)
    lines.push(`deploying (${deploy.strategy}): generation ${deploy.from} -> ${deploy.to}, ${deploy.phase}`);
  const last = status.last_deploy as {
    ok: boolean;
    strategy: string;
    to_generation: number;
    reason?: string;
  } | null;
  if (last !== null && last !== undefined)
    lines.push(
      last.ok
        ? `last deploy: ${last.strategy} to generation ${last.to_generation}, done`
        : `last deploy: ${last.strategy} to generation ${last.to_generation} FAILED: ${last.reason ?? "?"}`,
    );
  const generations = [...new Set(workers.map((worker) => worker.generation))].sort((a, b) => a - b);
  for (const generation of generations) {
    lines.push(`generation ${generation}:`);
    lines.push("  worker  pid      state     ready  connections  restarts");
    for (const worker of workers.filter((w) => w.generation === generation))
      lines.push(
        `  ${String(worker.id).padEnd(6)}  ${String(worker.pid ?? "-").padEnd(7)}  ${worker.state.padEnd(8)}  ${yesNo(worker.ready).padEnd(5)}  ${String(worker.connections ?? "?").padEnd(11)}  ${worker.restarts}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

export async function serveStatusCommand(
  options: ControlSelection & { watch: boolean; interval: string; json: boolean },
): Promise<void> {
  const path = await controlPath(options);
  const interval = Math.max(0.5, Number(options.interval) || 2) * 1000;
  for (;;) {
    const status = await askControl(path, { command: "status" });
    if (options.json) process.stdout.write(`${JSON.stringify(status)}\n`);
    else {
      if (options.watch && process.stdout.isTTY) process.stdout.write("\x1b[H\x1b[2J");
      process.stdout.write(renderServeStatus(status));
      if (options.watch && !process.stdout.isTTY) process.stdout.write("\n");
    }
    if (!options.watch) {
      const workers = (status.workers ?? []) as WorkerView[];
      if (!workers.some((worker) => worker.ready === true)) process.exitCode = RELAY_EXIT.notReady;
      return;
    }
    await new Promise((done) => setTimeout(done, interval));
  }
}

export interface DeployOptions extends ControlSelection {
  readonly strategy: Strategy;
  readonly healthCheckTimeout: number;
  readonly status: boolean;
  readonly json: boolean;
}

/** Exit codes of a deploy that did not happen (docs/deploy.md). */
const DEPLOY_EXIT: Readonly<Record<string, number>> = Object.freeze({
  config_invalid: RELAY_EXIT.config,
  health_check_failed: RELAY_EXIT.notReady,
  busy: RELAY_EXIT.unavailable,
  port_changed: RELAY_EXIT.config,
});

export async function deployCommand(options: DeployOptions): Promise<void> {
  if (options.status) {
    await serveStatusCommand({ ...options, watch: false, interval: "2" });
    return;
  }
  const path = await controlPath(options);
  const result = await askControl(
    path,
    {
      command: "deploy",
      strategy: options.strategy,
      health_check_timeout_seconds: options.healthCheckTimeout,
    },
    (line) => {
      if (!options.json) process.stderr.write(`nano-relay deploy: ${line}\n`);
    },
  );
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.ok === true) {
    if (!options.json)
      process.stdout.write(
        `deployed: generation ${String(result.to_generation)} serves (${options.strategy})\n`,
      );
    return;
  }
  const code = typeof result.code === "string" ? result.code : "health_check_failed";
  const reason = typeof result.reason === "string" ? result.reason : "the supervisor gave no reason";
  if (options.json) {
    process.exitCode = DEPLOY_EXIT[code] ?? RELAY_EXIT.notReady;
    return;
  }
  throw new CommandFailure(
    `deploy failed: ${reason}`,
    DEPLOY_EXIT[code] ?? RELAY_EXIT.notReady,
    code === "health_check_failed"
      ? "the old workers keep serving; fix the configuration (nano-relay validate-config, then start it by hand to see its error) and deploy again"
      : code === "config_invalid"
        ? "nano-relay validate-config --config FILE lists the same problems"
        : undefined,
  );
}

export function parseStrategy(value: string): Strategy {
  if (value === "rolling" || value === "blue-green") return value;
  throw new NanoError("invalid_argument", `--strategy is rolling or blue-green, not "${value}"`);
}
