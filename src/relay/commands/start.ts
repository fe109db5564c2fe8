import { loadConfigOrThrow } from "../config/load.ts";
import type { Environment } from "../config/schema.ts";
import type { ProtocolVerifier } from "../protocol-verifier.ts";
import { handleSignals, startRelay } from "../server.ts";
import { unwiredVerifier } from "../unwired-verifier.ts";

/** `nano-relay start` / `nano-relay --config FILE` / `npm start`. */
export async function startCommand(
  options: { config?: string; environment?: Environment; portFile?: string },
  verifier: ProtocolVerifier = unwiredVerifier,
): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  const server = await startRelay(config, {
    verifier,
    ...(options.portFile === undefined ? {} : { portFile: options.portFile }),
  });
  handleSignals(server);
  process.stderr.write(
    `nano-relay: ${config.environment} relay listening on ${server.apiUrl} (WebSocket ${server.websocketUrl})\n`,
  );
}
