import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect, type TLSSocket } from "node:tls";
import { selfSignedCertificate, tlsSkipReason } from "../support/tls.ts";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { Peer, RelayProcess, signUpOver } from "./fixtures/processes.ts";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function handshake(port: number, options: object): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "localhost", ...options }, () =>
      resolve(socket),
    );
    socket.once("error", reject);
  });
}

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, servername: "localhost", ca, method: "GET" },
      (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("TLS 1.3 with X25519MLKEM768, separate API and WebSocket listeners", {
  skip: tlsSkipReason(),
}, () => {
  let relay: RelayProcess;
  let ca: Buffer;
  before(async () => {
    const dir = tempDir("tls");
    const { cert, key } = selfSignedCertificate(dir);
    ca = readFileSync(cert);
    const config = testConfig(
      {
        server: {
          api_port: 0,
          websocket_port: await freePort(),
          tls: { enabled: true, cert_file: cert, key_file: key },
        },
      },
      dir,
    );
    relay = new RelayProcess(config, dir);
    await relay.start();
    assert.notEqual(relay.ports!.api_port, relay.ports!.websocket_port);
    assert.match(relay.url, /^https:/);
    assert.match(relay.wsUrl, /^wss:/);
  });
  after(async () => relay.stop());

  it("negotiates TLS 1.3 with the X25519MLKEM768 group first", async () => {
    const socket = await handshake(relay.ports!.api_port, { ca });
    assert.equal(socket.getProtocol(), "TLSv1.3");
    assert.equal((socket.getEphemeralKeyInfo() as { name?: string })?.name, "X25519MLKEM768");
    assert.equal(socket.authorized, true);
    socket.end();
  });

  it("falls back to X25519 for a classical-only client and refuses TLS 1.2", async () => {
    const classical = await handshake(relay.ports!.api_port, { ca, ecdhCurve: "X25519" });
    assert.equal((classical.getEphemeralKeyInfo() as { name?: string })?.name, "X25519");
    classical.end();
    await assert.rejects(handshake(relay.ports!.api_port, { ca, maxVersion: "TLSv1.2" }));
    await assert.rejects(handshake(relay.ports!.websocket_port, { ca, maxVersion: "TLSv1.2" }));
  });

  it("serves the API over HTTPS and push over WSS on their own ports", async () => {
    assert.equal((await httpsGet(relay.ports!.api_port, "/healthz", ca)).status, 200);
    assert.equal((await httpsGet(relay.ports!.websocket_port, "/healthz", ca)).status, 200);
    assert.equal(
      (await httpsGet(relay.ports!.websocket_port, "/v1/messages", ca)).status,
      404,
      "no API on the WebSocket port",
    );
    const alice = await signUpOver(relay.url, "alice", ca);
    const peer = new Peer(relay.wsUrl, alice.token, { ca });
    const ready = await peer.waitFor((f) => f.type === "ready");
    assert.equal(ready.username, "alice");
    peer.close();
  });
});
