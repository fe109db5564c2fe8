#!/usr/bin/env node
// The container health check (Dockerfile HEALTHCHECK, deploy/k8s exec probes where HTTP probes do not
// fit): exit 0 when the relay's /readyz answers 200, 1 otherwise. Plain JavaScript on node: builtins
// so it starts in a few milliseconds and needs nothing beyond the node binary. It asks the local
// relay only, so a TLS certificate made for the public name is not checked here (NANO_HEALTH_URL
// names the URL; default http://127.0.0.1:8080/readyz).
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

const url = new URL(process.env.NANO_HEALTH_URL ?? "http://127.0.0.1:8080/readyz");
const send = url.protocol === "https:" ? httpsRequest : httpRequest;
const req = send(url, { timeout: 3000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", () => process.exit(1));
req.end();
