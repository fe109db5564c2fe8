/**
 * The relay's log key: the Ed25519 and ML-DSA-65 seeds that sign checkpoints of both logs, plus the
 * per-relay secret that turns account names into audit pseudonyms. One JSON file, mode 0600, written
 * atomically (temporary file with O_EXCL, fsync, rename, directory fsync) and generated on first start.
 *
 *   {"version":1,"ed25519_seed":"<b64 32>","ml_dsa_65_seed":"<b64 32>","pseudonym_key":"<b64 32>"}
 *
 * Both logs share the seeds but are signed under different key names ("<origin>/audit",
 * "<origin>/kt"), so their key IDs differ and a checkpoint of one log can never pass for the other's.
 */

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { checkKeyName, formatVerifierKeys, type LogVerifierKey } from "../audit/log-key.ts";
import { type LogSigningKey, logVerifierKey } from "../audit/log-signer.ts";
import { sha256 } from "../crypto/hash.ts";
import { ed25519, hkdf, mlDsa65, randomBytes, toHex, utf8 } from "../crypto/index.ts";
import { KDF_LABELS, label } from "../crypto/labels.ts";
import { NanoError } from "../errors/index.ts";

export const LOG_KEY_FILE_VERSION = 1;
export const LOG_IDS = Object.freeze(["audit", "kt"] as const);
export type LogId = (typeof LOG_IDS)[number];

export interface RelayLogKey {
  readonly signing: Readonly<Record<LogId, LogSigningKey>>;
  readonly verifier: Readonly<Record<LogId, LogVerifierKey>>;
  readonly pseudonymKey: Uint8Array;
}

function invalid(message: string): NanoError {
  return new NanoError("log_key_file_invalid", message);
}

/** The key name (and checkpoint origin) of one log. */
export function logName(origin: string, logId: LogId): string {
  return `${origin}/${logId}`;
}

function seedField(value: unknown, field: string, file: string): Uint8Array {
  if (typeof value !== "string") throw invalid(`${file}: ${field} is missing`);
  const bytes = new Uint8Array(Buffer.from(value, "base64"));
  if (bytes.length !== 32 || Buffer.from(bytes).toString("base64") !== value)
    throw invalid(`${file}: ${field} is not base64 of 32 bytes`);
  return bytes;
}

function build(
  origin: string,
  ed25519Seed: Uint8Array,
  mlDsa65Seed: Uint8Array,
  pseudonymKey: Uint8Array,
): RelayLogKey {
  const signing = {} as Record<LogId, LogSigningKey>;
  const verifier = {} as Record<LogId, LogVerifierKey>;
  for (const id of LOG_IDS) {
    signing[id] = Object.freeze({ name: logName(origin, id), ed25519Seed, mlDsa65Seed });
    verifier[id] = logVerifierKey(signing[id]);
  }
  return Object.freeze({ signing: Object.freeze(signing), verifier: Object.freeze(verifier), pseudonymKey });
}

/** Refuses a key file other local users can read: the seeds sign what every client trusts. */
export function keyFileModeProblem(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) !== 0)
    return `${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
  return undefined;
}

export function readLogKey(path: string, origin: string): RelayLogKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw invalid(
      `cannot read the log key file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  const problem = keyFileModeProblem(path);
  if (problem !== undefined) throw invalid(problem);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalid(`${path} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || parsed.version !== LOG_KEY_FILE_VERSION)
    throw invalid(`${path}: unknown key file version`);
  return build(
    origin,
    seedField(parsed.ed25519_seed, "ed25519_seed", path),
    seedField(parsed.ml_dsa_65_seed, "ml_dsa_65_seed", path),
    seedField(parsed.pseudonym_key, "pseudonym_key", path),
  );
}

function writeAtomicSync(path: string, text: string): void {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const temporary = join(directory, `.nano-tmp-${basename(path)}.${toHex(randomBytes(6))}`);
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
  const dir = openSync(directory, "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Reads the key file, or generates it (0600, atomically) when it does not exist yet. */
export function loadOrCreateLogKey(path: string, origin: string): { key: RelayLogKey; created: boolean } {
  try {
    statSync(path);
    return { key: readLogKey(path, origin), created: false };
  } catch (error) {
    if (NanoError.is(error)) throw error;
  }
  for (const id of LOG_IDS) checkKeyName(logName(origin, id));
  // Regenerate in the 2^-32 case where a name's two halves share a key ID.
  for (;;) {
    const ed25519Seed = ed25519.keygen().seed;
    const mlDsa65Seed = mlDsa65.keygen().seed;
    const pseudonymKey = randomBytes(32);
    let key: RelayLogKey;
    try {
      key = build(origin, ed25519Seed, mlDsa65Seed, pseudonymKey);
    } catch (error) {
      if (NanoError.is(error, "note_key_name_invalid")) continue;
      throw error;
    }
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    writeAtomicSync(
      path,
      `${JSON.stringify({
        version: LOG_KEY_FILE_VERSION,
        ed25519_seed: b64(ed25519Seed),
        ml_dsa_65_seed: b64(mlDsa65Seed),
        pseudonym_key: b64(pseudonymKey),
      })}\n`,
    );
    return { key, created: true };
  }
}

/** The published form clients pin: two signed-note vkeys per log. */
export function publishedVerifierKeys(key: RelayLogKey): Record<LogId, [string, string]> {
  return {
    audit: formatVerifierKeys(sha256, key.verifier.audit),
    kt: formatVerifierKeys(sha256, key.verifier.kt),
  };
}

/**
 * The audit pseudonym of an account: a keyed hash under the relay's secret, so events of one account
 * link for the operator while the log alone names no one. HKDF with the username as info.
 */
export function actorPseudonym(key: RelayLogKey, username: string): Uint8Array {
  return hkdf(key.pseudonymKey, label(KDF_LABELS.auditActor), utf8(username), 16);
}

/**
 * The tombstone of an erased account: a keyed hash of its username's skeleton under the same secret,
 * so the database can refuse the name (and confusables) during cooling-off without holding the name.
 */
export function tombstoneKey(key: RelayLogKey, skeleton: string): Uint8Array {
  return hkdf(key.pseudonymKey, label(KDF_LABELS.tombstone), utf8(skeleton), 32);
}
