import { relayVerifier } from "../../protocol/relay-verifier.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import type { ProtocolVerifier } from "../../relay/protocol-verifier.ts";
import { handleSignals, startRelay } from "../../relay/server.ts";

/** `nano-relay start` / `nano-relay --config FILE` / `npm start`. */
export async function startCommand(
  options: { config?: string; environment?: Environment; portFile?: string },
  verifier: ProtocolVerifier = relayVerifier,
): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
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
          "hint: another relay may be running; change server.api_port / server.websocket_port\n",
      );
      // sysexits EX_UNAVAILABLE; exit now, the store and any first listener are already open.
      process.exit(69);
    }
    throw error;
  }
  handleSignals(server);
  process.stderr.write(
    `nano-relay: ${config.environment} relay listening on ${server.apiUrl} (WebSocket ${server.websocketUrl})\n`,
  );
}
