import { nodeProvider } from "../crypto/node-provider.ts";
import type { ClientRuntime } from "./client-runtime.ts";
import { fileAttachmentSink } from "./messaging/attachment-files.ts";
import { nodeRelayEndpoint } from "./transport/relay-endpoint-node.ts";

/**
 * The Node client's runtime (client-runtime.ts): node:crypto, the relay over node:https with its CA file,
 * received attachments as files.
 */
export const NODE_CLIENT_RUNTIME: ClientRuntime = Object.freeze({
  provider: nodeProvider,
  relayEndpoint: nodeRelayEndpoint,
  attachmentSink: fileAttachmentSink,
});
