import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { environmentConfigPath, loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment, RelayConfig } from "../../relay/config/schema.ts";
import { type ControlRequest, serveControl } from "../../relay/instances/control.ts";
import { Supervisor } from "../../relay/instances/supervisor.ts";
import { RELAY_UMASK } from "../../relay/limits/private-files.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";

/**
 * Platforms where Node's `reusePort` listen option works (Node's net docs): elsewhere a second worker
 * could not bind the port at all, so `--instances` above 1 is refused there instead of failing at the
 * second worker. One worker needs no port sharing and runs anywhere.
 */
export const REUSE_PORT_PLATFORMS: readonly NodeJS.Platform[] = Object.freeze([
  "linux",
  "freebsd",
  "sunos",
  "aix",
]);

/** The nano-relay entry a worker is forked from (its hidden `worker` command). */
const ENTRY = fileURLToPath(new URL("../../../bin/nano-relay.js", import.meta.url));

/** Next to the SQLite database (the relay's data folder, 0700), unless --control names another place. */
export function defaultControlPath(config: RelayConfig): string {
  return resolve(dirname(resolve(config.storage.path)), "nano-relay.sock");
}

export interface ServeOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly instances: number;
  readonly control?: string;
  readonly portFile?: string;
  readonly healthCheckTimeout: number;
}

export async function serveCommand(options: ServeOptions): Promise<void> {
  if (options.instances > 1 && !REUSE_PORT_PLATFORMS.includes(process.platform))
    throw new CommandFailure(
      `--instances ${options.instances} needs SO_REUSEPORT, which Node does not offer on ${process.platform}`,
      RELAY_EXIT.usage,
      "run --instances 1 (one worker, still restarted and deployable), or several hosts behind a load balancer",
    );
  const file = options.config ?? environmentConfigPath(options.environment ?? "development");
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  // The control socket and anything the supervisor writes are the relay user's alone.
  process.umask(RELAY_UMASK);
  const control = resolve(options.control ?? defaultControlPath(config));
  await mkdir(dirname(control), { recursive: true, mode: 0o700 });
  const say = (line: string) => process.stderr.write(`nano-relay serve: ${line}\n`);
  const supervisor = new Supervisor(config, {
    configFile: file,
    ...(options.config === undefined && options.environment !== undefined
      ? { environment: options.environment }
      : {}),
    instances: options.instances,
    workerModule: ENTRY,
    workerArgs: ["worker"],
    healthCheckTimeoutMs: options.healthCheckTimeout * 1000,
    say,
  });
  const handle = async (request: ControlRequest, progress: (line: string) => void) => {
    if (request.command === "status") return supervisor.status();
    say(`${request.strategy} deploy requested`);
    const outcome = await supervisor.deploy(
      request.strategy,
      request.health_check_timeout_seconds * 1000,
      (line) => {
        say(line);
        progress(line);
      },
    );
    say(
      outcome.ok ? `deploy to generation ${outcome.to_generation} done` : `deploy failed: ${outcome.reason}`,
    );
    return { ...outcome };
  };
  let server: Awaited<ReturnType<typeof serveControl>>;
  try {
    server = await serveControl(control, handle);
  } catch (error) {
    throw new CommandFailure(
      `cannot open the control socket ${control}: ${error instanceof Error ? error.message : String(error)}`,
      RELAY_EXIT.unavailable,
      "another nano-relay serve may be running on this data; pass --control PATH for another socket",
    );
  }
  const closeControl = async () => {
    server.close();
    await rm(control, { force: true });
  };
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      say(`second ${signal}: killing the workers without draining`);
      supervisor.kill();
      process.exit(RELAY_EXIT.interrupted);
    }
    signalled = true;
    say(`${signal}: draining every worker`);
    void supervisor.stop().then(async (drained) => {
      await closeControl();
      if (!drained) say("a worker did not drain cleanly (see its log above)");
      process.exit(drained ? RELAY_EXIT.ok : RELAY_EXIT.notReady);
    });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await supervisor.start();
  } catch (error) {
    await closeControl();
    throw new CommandFailure(
      error instanceof Error ? error.message : String(error),
      RELAY_EXIT.unavailable,
      "run nano-relay start --config FILE to see the relay's own error",
    );
  }
  const urls = supervisor.urls!;
  const ports = supervisor.ports!;
  if (options.portFile !== undefined) {
    const tmp = `${options.portFile}.${process.pid}.tmp`;
    const info = {
      api_port: ports.api,
      websocket_port: ports.websocket,
      ...urls,
      pid: process.pid,
      control,
    };
    await writeFile(tmp, `${JSON.stringify(info)}\n`);
    await rename(tmp, options.portFile);
  }
  say(
    `${options.instances} worker(s) serving on ${urls.api_url} (WebSocket ${urls.websocket_url}); control socket ${control}`,
  );
}
