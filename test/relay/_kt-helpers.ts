// Helpers for the audit / key-transparency tests: a REAL relay process (bin/nano-relay.js, the
// production start path with the protocol's verifier) on port 0, and real protocol identities that
// claim, log in, update and publish bundles over HTTP. Independent of test/relay/fixtures on purpose.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "smol-toml";
import { sha256 } from "../../src/crypto/hash.ts";
import { SUITE_IDS } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { encodeBundle } from "../../src/protocol/bundle.ts";
import { createDevice, signDeviceChallenge } from "../../src/protocol/device-certificate.ts";
import {
  createIdentityRecord,
  generateIdentityKeys,
  type IdentityKeys,
  type IdentityRecord,
} from "../../src/protocol/identity-record.ts";
import { generatePrekey, PREKEY_ROLES } from "../../src/protocol/prekey.ts";
import { signIdentityUpdate, signUsernameClaim } from "../../src/protocol/username-claim.ts";

export const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;
export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
export const fromB64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

export function ktTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `nano-kt-${prefix}-`));
}

/** A testing config in `dir`: database, blobs and log key inside it. */
export function writeKtConfig(
  dir: string,
  compliance: Record<string, unknown> = {},
  rate: Record<string, number> = {},
): string {
  const file = join(dir, "relay.toml");
  const config = {
    environment: "testing",
    server: { bind_address: "127.0.0.1", api_port: 0, websocket_port: 0, tls: { enabled: false } },
    storage: { path: join(dir, "relay.sqlite"), blob_dir: join(dir, "blobs") },
    compliance: { log_origin: "relay.test", log_key_file: join(dir, "log-key.json"), ...compliance },
    monitoring: { log_level: "warn" },
    limits: {
      rate: {
        claims_per_hour: 10_000,
        auth_per_minute: 10_000,
        bundle_fetches_per_minute: 10_000,
        bundle_fetches_per_target_per_minute: 10_000,
        ...rate,
      },
    },
  };
  writeFileSync(file, stringify(config));
  return file;
}

export function runRelayCli(args: readonly string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
}

export interface RelayProcess {
  readonly api: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export async function startRelayProcess(config: string, dir: string): Promise<RelayProcess> {
  const portFile = join(dir, "ports.json");
  rmSync(portFile, { force: true });
  const child = spawn(process.execPath, [BIN, "start", "--config", config, "--port-file", portFile], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  for (let i = 0; i < 800 && !existsSync(portFile) && child.exitCode === null; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  if (!existsSync(portFile)) {
    child.kill("SIGKILL");
    throw new Error(`relay did not start: ${stderr}`);
  }
  const { api_url: api } = JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string };
  return {
    api,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

export interface HttpResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function call(
  api: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(new URL(path, api), {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export interface User {
  readonly name: string;
  keys: IdentityKeys;
  record: IdentityRecord;
  token?: string;
}

const HYBRID = SUITE_IDS.hybrid;

export async function makeUser(name: string): Promise<User> {
  const keys = await generateIdentityKeys(provider, name, [HYBRID]);
  return { name, keys, record: await createIdentityRecord(provider, keys, HYBRID) };
}

async function challenge(api: string, purpose: "claim" | "auth", username: string): Promise<Uint8Array> {
  const result = await call(api, "POST", "/v1/challenges", { purpose, username });
  if (result.status !== 200) throw new Error(`challenge: ${JSON.stringify(result.body)}`);
  return fromB64(result.body.challenge as string);
}

export async function claim(api: string, user: User): Promise<HttpResult> {
  const nonce = await challenge(api, "claim", user.name);
  return call(api, "POST", "/v1/accounts", {
    username: user.name,
    identity_record: b64(user.record.encoded),
    challenge: b64(nonce),
    signature: b64(await signUsernameClaim(user.keys, user.record, nonce)),
  });
}

export async function login(api: string, user: User): Promise<string> {
  const suite = provider.suite(HYBRID);
  const { deviceKey, certificate } = await createDevice(provider, user.keys, suite);
  const nonce = await challenge(api, "auth", user.name);
  const result = await call(api, "POST", "/v1/auth/token", {
    username: user.name,
    challenge: b64(nonce),
    device_certificate: b64(certificate.encoded),
    signature: b64(await signDeviceChallenge(suite, deviceKey.seed, user.name, nonce)),
  });
  if (result.status !== 200) throw new Error(`login: ${JSON.stringify(result.body)}`);
  user.token = result.body.token as string;
  return user.token;
}

/** Publishes a base bundle (signed X25519 prekey + last-resort ML-KEM prekey) for the current record. */
export async function publishBundle(api: string, user: User): Promise<void> {
  const created = Date.now() - 1000;
  const dh = await generatePrekey(provider, user.keys, user.record, HYBRID, PREKEY_ROLES.signedDh, {
    created,
  });
  const pq = await generatePrekey(provider, user.keys, user.record, HYBRID, PREKEY_ROLES.pqLastResort, {
    created,
  });
  const bundle = encodeBundle(HYBRID, user.record, dh.prekey, pq.prekey, null);
  const result = await call(api, "PUT", "/v1/prekeys", { bundle: b64(bundle) }, user.token);
  if (result.status !== 200) throw new Error(`upload: ${JSON.stringify(result.body)}`);
}

/** Rotates to fresh identity keys with the next record version, authorized by the current keys. */
export async function updateIdentity(api: string, user: User): Promise<HttpResult> {
  const nextKeys = await generateIdentityKeys(provider, user.name, [HYBRID]);
  const next = await createIdentityRecord(provider, nextKeys, HYBRID, {
    recordVersion: user.record.recordVersion + 1,
  });
  const signature = await signIdentityUpdate(user.keys, user.record, next);
  const result = await call(
    api,
    "PUT",
    `/v1/accounts/${user.name}/identity`,
    { identity_record: b64(next.encoded), signature: b64(signature) },
    user.token,
  );
  if (result.status === 200) {
    user.keys = nextKeys;
    user.record = next;
    // The update revoked every token of the account: log in with a device of the new record.
    await login(api, user);
  }
  return result;
}

/** The KT log's pinned verifier key, as a client would configure it from GET /v1/transparency/log-keys. */
export async function pinnedKtKey(api: string) {
  const { parseVerifierKeys } = await import("../../src/audit/log-key.ts");
  const keys = await call(api, "GET", "/v1/transparency/log-keys");
  const [ed, ml] = (keys.body.kt as { verifier_keys: [string, string] }).verifier_keys;
  return parseVerifierKeys(sha256, ed, ml);
}

/** The consistency-proof callback of KeyTransparencyVerifier over HTTP. */
export function consistencyFetcher(api: string) {
  return async (from: number, to: number): Promise<Uint8Array[]> => {
    const result = await call(api, "GET", `/v1/transparency/kt/consistency?from=${from}&to=${to}`);
    if (result.status !== 200) throw new Error(`consistency: ${JSON.stringify(result.body)}`);
    return (result.body.proof as string[]).map(fromB64);
  };
}
