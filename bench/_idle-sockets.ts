// The idle sockets of `npm run bench -- connections`, in their own process (forked by
// bench/_connections.ts): 10,000 client WebSockets in the process that times the pushes would put
// their garbage collections into the measured latency, which must be the relay's. IPC, parent -> child:
// {type: "open", url, tokens, sockets, perAccount, concurrency} answers {type: "opened", seconds} or
// {type: "failed", message}; {type: "check"} answers {type: "checked", closed} (sockets no longer
// open); {type: "close"} closes them all and answers {type: "closed"}.
import type WebSocket from "ws";
import { openReadySocket } from "./_ready-socket.ts";

export type IdleRequest =
  | {
      readonly type: "open";
      readonly url: string;
      readonly tokens: readonly string[];
      readonly sockets: number;
      readonly perAccount: number;
      readonly concurrency: number;
    }
  | { readonly type: "check" }
  | { readonly type: "close" };

export type IdleAnswer =
  | { readonly type: "opened"; readonly seconds: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "checked"; readonly closed: number }
  | { readonly type: "closed" };

const sockets: WebSocket[] = [];
const answer = (message: IdleAnswer) => process.send?.(message);

async function open(request: Extract<IdleRequest, { type: "open" }>): Promise<void> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < request.sockets) {
      const index = next++;
      const token = request.tokens[Math.floor(index / request.perAccount)]!;
      sockets[index] = await openReadySocket(request.url, { authorization: `Bearer ${token}` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.sockets) }, worker));
  answer({ type: "opened", seconds: (performance.now() - started) / 1000 });
}

function close(): Promise<void> {
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket === undefined || socket.readyState === socket.CLOSED) return resolve();
          socket.once("close", () => resolve());
          socket.close();
        }),
    ),
  ).then(() => undefined);
}

process.on("message", (request: IdleRequest) => {
  if (request.type === "open")
    open(request).catch((error: unknown) => answer({ type: "failed", message: String(error) }));
  else if (request.type === "check")
    answer({ type: "checked", closed: sockets.filter((socket) => socket.readyState !== socket.OPEN).length });
  else void close().then(() => answer({ type: "closed" }));
});
// The benchmark died: do not linger holding thousands of sockets.
process.on("disconnect", () => process.exit(0));
