import type { CryptoProvider } from "../crypto/provider/index.ts";
import type { UnlockedHome } from "./home/open-home.ts";
import type { AttachmentSink } from "./messaging/attachment-sink.ts";
import type { RelayEndpoint } from "./transport/relay-request.ts";

/**
 * What differs between the runtimes a client runs in, handed in by whoever opens the client: the crypto
 * (nodeProvider in Node, createWebProvider() in the page) and how the relay is reached (node:https with
 * the config's CA in Node, fetch in the page). NanoClient passes NODE_CLIENT_RUNTIME (node-runtime.ts).
 */
export interface ClientRuntime {
  readonly provider: CryptoProvider;
  /** The endpoint of the home's configured relay (`invalid_argument` when none is configured). */
  relayEndpoint(home: UnlockedHome): Promise<RelayEndpoint>;
  /** Where received attachments go; `saveDir` is the caller's choice where the runtime has folders. */
  attachmentSink(home: UnlockedHome, saveDir: string | null): Promise<AttachmentSink>;
}
