import { NanoError } from "../../errors/index.ts";
import type { ProtocolVerifier } from "../protocol-verifier.ts";
import { readiness } from "../routes/health.ts";
import { type RelayServer, startRelay, trapSignals } from "../server.ts";
import { type FromWorker, type ToWorker, toWorker } from "./_ipc.ts";
import { SupervisorChallenges } from "./shared-challenges.ts";

/**
 * One worker of `nano-relay serve --instances N`: an ordinary relay that listens with SO_REUSEPORT on
 * the ports the supervisor chose, and talks to the supervisor over IPC (src/relay/instances/_ipc.ts):
 * wake-ups for recipients connected to another worker, and readiness, which the supervisor cannot ask
 * through the shared port (the kernel picks the worker that answers).
 */

/**
 * Every connection re-reads its mailbox this often even without a wake-up: a wake-up lost between
 * processes (a worker restarting at that moment) costs at most this delay, never a message.
 */
export const SIBLING_SAFETY_POLL_MS = 30_000;

function send(message: FromWorker): void {
  process.send?.(message);
}

function firstMessage(): Promise<Extract<ToWorker, { type: "start" }>> {
  return new Promise((resolve) => {
    const onMessage = (raw: unknown) => {
      const message = toWorker(raw);
      if (message?.type !== "start") return;
      process.off("message", onMessage);
      resolve(message);
    };
    process.on("message", onMessage);
  });
}

export async function runWorker(verifier: ProtocolVerifier): Promise<void> {
  if (process.send === undefined)
    throw new NanoError("invalid_argument", "a relay worker is started by nano-relay serve, not by hand");
  // The supervisor gone (killed, crashed) leaves no one to restart or deploy: drain and stop rather
  // than serve on unsupervised.
  let server: RelayServer | null = null;
  process.on("disconnect", () => {
    if (server === null) process.exit(0);
    else void server.shutdown("supervisor gone").finally(() => process.exit(0));
  });
  const start = await firstMessage();
  // A SIGTERM while starting (a deploy rolled back at once) drains once the relay is up.
  const signals = trapSignals();
  try {
    server = await startRelay(start.config, {
      verifier,
      reusePort: true,
      challenges: new SupervisorChallenges(),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    const failed: FromWorker = {
      type: "failed",
      message: code === undefined ? message : `${code}: ${message}`,
    };
    // Exit only once the reason is on its way: the supervisor names it in the deploy's answer.
    await new Promise<void>((resolve) => process.send?.(failed, () => resolve()));
    process.exit(1);
  }
  const relay = server;
  const { context } = relay;
  context.siblings = { announceMessage: (recipient) => send({ type: "wake", recipient }) };
  process.on("message", (raw: unknown) => {
    const message = toWorker(raw);
    if (message === null) return;
    if (message.type === "wake") context.hub.notify(message.recipient);
    else if (message.type === "health")
      void readiness(context).then(
        ({ ready, body }) => send({ type: "health", ref: message.ref, ready, body }),
        () => send({ type: "health", ref: message.ref, ready: false, body: { ready: false } }),
      );
  });
  setInterval(() => context.hub.notifyAll(), SIBLING_SAFETY_POLL_MS).unref();
  signals.attach(relay);
  send({
    type: "listening",
    api_port: relay.apiPort,
    websocket_port: relay.websocketPort,
    api_url: relay.apiUrl,
    websocket_url: relay.websocketUrl,
  });
}
