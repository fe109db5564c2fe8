import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { NanoError } from "../../errors/index.ts";

/**
 * The supervisor's control socket: a Unix socket, mode 0600 (only the relay's user may deploy or read
 * worker state), speaking one JSON request per connection and answering with JSON lines — progress
 * lines (`{"progress": "..."}`) then exactly one `{"result": ...}` line, then the supervisor closes.
 */

export type ControlRequest =
  | { readonly command: "status" }
  | {
      readonly command: "deploy";
      readonly strategy: "rolling" | "blue-green";
      readonly health_check_timeout_seconds: number;
    };

export const CONTROL_SOCKET_MODE = 0o600;
/** A request is one small JSON line; anything longer is not one. */
const MAX_REQUEST_BYTES = 4096;

export function parseControlRequest(text: string): ControlRequest | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const request = value as Record<string, unknown>;
  if (request.command === "status") return { command: "status" };
  if (
    request.command === "deploy" &&
    (request.strategy === "rolling" || request.strategy === "blue-green") &&
    typeof request.health_check_timeout_seconds === "number" &&
    request.health_check_timeout_seconds > 0 &&
    request.health_check_timeout_seconds <= 3600
  )
    return {
      command: "deploy",
      strategy: request.strategy,
      health_check_timeout_seconds: request.health_check_timeout_seconds,
    };
  return null;
}

/** Resolves true when something answers on `path` (another supervisor runs there). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export type ControlHandler = (
  request: ControlRequest,
  progress: (line: string) => void,
) => Promise<Record<string, unknown>>;

/**
 * Listens on `path`. A socket file left by a supervisor that died is replaced; one that answers is
 * another supervisor, and starting a second over the same data would be an error.
 */
export async function serveControl(path: string, handle: ControlHandler): Promise<Server> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket())
      throw new NanoError(
        "invalid_argument",
        `${path} exists and is not a socket; choose another --control path`,
      );
    if (await answers(path))
      throw new NanoError("invalid_argument", `another nano-relay serve answers on ${path}`);
    unlinkSync(path);
  }
  const server = createServer((socket) => onConnection(socket, handle));
  // Created under a umask that leaves only the owner's bits, so there is no moment at which another
  // user could connect; chmod then makes it exactly 0600.
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, CONTROL_SOCKET_MODE);
  return server;
}

function onConnection(socket: Socket, handle: ControlHandler): void {
  let text = "";
  socket.setEncoding("utf8");
  const writeLine = (value: unknown) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
  };
  const onData = (chunk: string) => {
    text += chunk;
    if (text.length > MAX_REQUEST_BYTES) {
      writeLine({ result: { ok: false, reason: "request too long" } });
      socket.end();
      return;
    }
    const newline = text.indexOf("\n");
    if (newline < 0) return;
    socket.off("data", onData);
    const request = parseControlRequest(text.slice(0, newline));
    if (request === null) {
      writeLine({ result: { ok: false, reason: "not a control request (see docs/deploy.md)" } });
      socket.end();
      return;
    }
    void handle(request, (line) => writeLine({ progress: line })).then(
      (result) => {
        writeLine({ result });
        socket.end();
      },
      (error: unknown) => {
        writeLine({ result: { ok: false, reason: error instanceof Error ? error.message : String(error) } });
        socket.end();
      },
    );
  };
  socket.on("data", onData);
  socket.on("error", () => {});
}

/** Sends one request and collects the answer; progress lines go to `onProgress` as they come. */
export function askControl(
  path: string,
  request: ControlRequest,
  onProgress: (line: string) => void = () => {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffer = "";
    let result: Record<string, unknown> | null = null;
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let value: Record<string, unknown>;
        try {
          value = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (typeof value.progress === "string") onProgress(value.progress);
        else if (typeof value.result === "object" && value.result !== null)
          result = value.result as Record<string, unknown>;
      }
    });
    socket.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new NanoError(
          "relay_unreachable",
          `no supervisor answers on ${path} (${error.code ?? error.message}); is nano-relay serve running?`,
        ),
      ),
    );
    socket.once("close", () => {
      if (result !== null) resolve(result);
      else reject(new NanoError("relay_unreachable", `the supervisor on ${path} closed without an answer`));
    });
  });
}
