import { NanoError } from "../../errors/index.ts";
import { loadConfigOrThrow, semanticProblems } from "../../relay/config/load.ts";
import { type Environment, type RelayConfig, relayConfigSchema } from "../../relay/config/schema.ts";
import type { ProtocolVerifier } from "../../relay/protocol-verifier.ts";
import { relayVerifier } from "../../relay/protocol-verifier.ts";
import { startRelay, trapSignals } from "../../relay/server.ts";
import { RELAY_EXIT } from "./_exit.ts";

export interface ListenOverrides {
  readonly port?: number;
  readonly websocketPort?: number;
  readonly bind?: string;
}

export interface StartOptions extends ListenOverrides {
  readonly config?: string;
  readonly environment?: Environment;
  readonly portFile?: string;
}

/**
 * `--port`, `--websocket-port` and `--bind` over the configuration, checked by the same schema and
 * rules as the file (a `--bind 0.0.0.0` without TLS is refused exactly as the same key in the file
 * would be). `--port` moves the WebSocket listener with it when the file serves both on one port.
 */
export function withListenOverrides(config: RelayConfig, overrides: ListenOverrides): RelayConfig {
  if (overrides.port === undefined && overrides.websocketPort === undefined && overrides.bind === undefined)
    return config;
  const shared = config.server.api_port === config.server.websocket_port;
  const server = {
    ...config.server,
    ...(overrides.bind === undefined ? {} : { bind_address: overrides.bind }),
    ...(overrides.port === undefined ? {} : { api_port: overrides.port }),
    ...(overrides.websocketPort !== undefined
      ? { websocket_port: overrides.websocketPort }
      : overrides.port !== undefined && shared
        ? { websocket_port: overrides.port }
        : {}),
  };
  const parsed = relayConfigSchema.safeParse({ ...config, server });
  const problems = parsed.success
    ? semanticProblems(parsed.data)
    : parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  if (!parsed.success || problems.length > 0) {
    const flag = (path: string) =>
      path === "server.bind_address" ? "--bind" : path.endsWith("port") ? "--port" : path;
    throw new NanoError(
      "config_invalid",
      `the command-line overrides are not valid:\n${problems.map((problem) => `  ${flag(problem.path)} (${problem.path}): ${problem.message}`).join("\n")}`,
    );
  }
  return parsed.data;
}

/** `nano-relay start` / `nano-relay --config FILE` / `npm start`. */
export async function startCommand(
  options: StartOptions,
  verifier: ProtocolVerifier = relayVerifier,
): Promise<void> {
  const loaded = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  const config = withListenOverrides(loaded, options);
  // Before the port file exists: whoever reads it may signal at once.
  const signals = trapSignals();
  let server: Awaited<ReturnType<typeof startRelay>>;
  try {
    server = await startRelay(config, {
      verifier,
      ...(options.portFile === undefined ? {} : { portFile: options.portFile }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      const { bind_address, api_port, websocket_port } = config.server;
      process.stderr.write(
        `nano-relay: cannot listen on ${bind_address} (ports ${api_port}, ${websocket_port}): ${code}\n` +
          "hint: another relay may be running; pass --port N, or change server.api_port / server.websocket_port\n",
      );
      // Exit now: the store and any first listener are already open.
      process.exit(RELAY_EXIT.unavailable);
    }
    throw error;
  }
  signals.attach(server);
  process.stderr.write(
    `nano-relay: ${config.environment} relay listening on ${server.apiUrl} (WebSocket ${server.websocketUrl})\n`,
  );
}
