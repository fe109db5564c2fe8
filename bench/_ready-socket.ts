import WebSocket from "ws";

/**
 * Opens a relay WebSocket and resolves once the relay's `ready` frame arrived (auth done, queued
 * messages about to flow), so a benchmark's clock never includes the handshake.
 */
export function openReadySocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers, maxPayload: 8 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    socket.on("message", function onReady(data) {
      if ((JSON.parse(data.toString()) as { type: string }).type === "ready") {
        socket.off("message", onReady);
        resolve(socket);
      }
    });
    socket.once("error", reject);
  });
}
