import { nodeProvider } from "../crypto/node-provider.ts";
import type { ClientRuntime } from "./context.ts";
import { nodeRelayEndpoint } from "./transport/relay-endpoint-node.ts";

/** The Node client's runtime (context.ts): node:crypto and the relay over node:https with its CA file. */
export const NODE_CLIENT_RUNTIME: ClientRuntime = Object.freeze({
  provider: nodeProvider,
  relayEndpoint: nodeRelayEndpoint,
});
