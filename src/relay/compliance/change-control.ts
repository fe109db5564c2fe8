/**
 * Change control (SOX; docs/compliance.md, "Change control"). Every start records the configuration
 * it runs with (it holds no secrets: those live in environment variables) and the diff from the last
 * one in the audit log. A change that weakens security against that last configuration refuses to
 * start unless `compliance.approvals_required` distinct administrators of the LAST configuration's
 * `compliance.approvers` signed an approval of exactly this change (from-hash -> to-hash): the
 * configuration being deployed cannot lower the bar it is judged by.
 *
 * An administrator key is a signed-note key pair like the log key (Ed25519 + ML-DSA-65, both required)
 * under the administrator's chosen name; approvals are signed under nano/v1/sig/config-approval.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { AuditEventLeaf } from "../../audit/audit-event.ts";
import { decodeAuditEvent } from "../../audit/audit-event.ts";
import {
  ed25519KeyId,
  formatVerifierKeys,
  type LogVerifierKey,
  parseVerifierKeys,
} from "../../audit/log-key.ts";
import { type LogSigningKey, logVerifierKey } from "../../audit/log-signer.ts";
import { constantTimeEqual, ed25519, mlDsa65, sha256, toHex, utf8 } from "../../crypto/index.ts";
import { label, SIGNATURE_CONTEXTS } from "../../crypto/labels.ts";
import { NanoError } from "../../errors/index.ts";
import { CRYPTO_MODE_RANK, type RelayConfig } from "../config/schema.ts";
import type { TransparencyService } from "../transparency.ts";

export const APPROVAL_FORMAT = "nano-relay-config-approval/v1";

export interface ConfigChange {
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

/** Where a change weakens security, and why that counts. */
export interface Weakening extends ConfigChange {
  readonly why: string;
}

/**
 * What an approval signs: the configuration as the relay runs it, minus where it listens (`--port` and
 * `--bind` override those per run and change nothing about security).
 */
export function changeHash(config: RelayConfig): string {
  const { api_port: _a, websocket_port: _w, bind_address: _b, ...server } = config.server;
  return toHex(sha256(utf8(JSON.stringify({ ...config, server }))));
}

function leaves(value: unknown, path: string, into: Map<string, unknown>): void {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value))
      leaves(inner, path === "" ? key : `${path}.${key}`, into);
    return;
  }
  into.set(path, value);
}

/** Every leaf key whose value differs (arrays compared whole), in the newer configuration's order. */
export function configDiff(previous: unknown, next: unknown): ConfigChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  leaves(previous, "", a);
  leaves(next, "", b);
  const changes: ConfigChange[] = [];
  for (const path of new Set([...b.keys(), ...a.keys()])) {
    const from = a.get(path);
    const to = b.get(path);
    if (JSON.stringify(from) !== JSON.stringify(to))
      changes.push({ path, from: from ?? null, to: to ?? null });
  }
  return changes;
}

/** The changes from `previous` to `next` that weaken security (docs/compliance.md lists the rules). */
export function weakenings(previous: RelayConfig, next: RelayConfig): Weakening[] {
  const found: Weakening[] = [];
  const add = (path: string, from: unknown, to: unknown, why: string) => found.push({ path, from, to, why });
  const p = previous;
  const n = next;
  if (CRYPTO_MODE_RANK[n.security.minimum_crypto_mode] < CRYPTO_MODE_RANK[p.security.minimum_crypto_mode])
    add(
      "security.minimum_crypto_mode",
      p.security.minimum_crypto_mode,
      n.security.minimum_crypto_mode,
      "accepts weaker crypto",
    );
  if (p.security.require_post_quantum && !n.security.require_post_quantum)
    add("security.require_post_quantum", true, false, "accepts bundles without a post-quantum key");
  for (const key of ["token_lifetime_seconds", "challenge_lifetime_seconds"] as const)
    if (n.security[key] > p.security[key])
      add(`security.${key}`, p.security[key], n.security[key], "longer-lived credentials");
  const idleBefore = p.security.token_idle_timeout_seconds;
  const idleAfter = n.security.token_idle_timeout_seconds;
  if (idleBefore > 0 && (idleAfter === 0 || idleAfter > idleBefore))
    add("security.token_idle_timeout_seconds", idleBefore, idleAfter, "later or no automatic logoff");
  if (p.server.tls.enabled && !n.server.tls.enabled) add("server.tls.enabled", true, false, "turns TLS off");
  if (p.compliance.audit_hook === "log" && n.compliance.audit_hook === "none")
    add("compliance.audit_hook", "log", "none", "disables audit log lines");
  if (!p.compliance.log_usernames && n.compliance.log_usernames)
    add("compliance.log_usernames", false, true, "puts usernames in log lines");
  for (const key of ["retention_audit_days", "erasure_cooling_off_days", "approvals_required"] as const)
    if (n.compliance[key] < p.compliance[key])
      add(`compliance.${key}`, p.compliance[key], n.compliance[key], "weaker compliance control");
  if (JSON.stringify(n.compliance.approvers) !== JSON.stringify(p.compliance.approvers))
    add(
      "compliance.approvers",
      `${p.compliance.approvers.length} key(s)`,
      `${n.compliance.approvers.length} key(s)`,
      "changes who may approve",
    );
  if (n.limits.audit_failure_entries_per_minute < p.limits.audit_failure_entries_per_minute)
    add(
      "limits.audit_failure_entries_per_minute",
      p.limits.audit_failure_entries_per_minute,
      n.limits.audit_failure_entries_per_minute,
      "fewer refusals logged in full",
    );
  for (const [key, value] of Object.entries(n.limits.rate)) {
    const before = p.limits.rate[key as keyof RelayConfig["limits"]["rate"]];
    if (value > before) add(`limits.rate.${key}`, before, value, "a higher rate limit");
  }
  return found;
}

/** An administrator's verifier keys from the configuration (`compliance.approvers`). */
export function approverKey(entry: { ed25519: string; ml_dsa_65: string }): LogVerifierKey {
  return parseVerifierKeys(sha256, entry.ed25519, entry.ml_dsa_65);
}

function approvalMessage(fromHash: string, toHash: string): Uint8Array {
  return utf8(`${APPROVAL_FORMAT}\n${fromHash}\n${toHash}\n`);
}

const CONTEXT = () => label(SIGNATURE_CONTEXTS.configApproval);

/** An approval file's text: this administrator approves the change from `fromHash` to `toHash`. */
export function signApproval(fromHash: string, toHash: string, key: LogSigningKey): string {
  const verifier = logVerifierKey(key);
  const message = approvalMessage(fromHash, toHash);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return `${JSON.stringify(
    {
      format: APPROVAL_FORMAT,
      from_hash: fromHash,
      to_hash: toHash,
      approver: formatVerifierKeys(sha256, verifier),
      ed25519: b64(ed25519.sign(key.ed25519Seed, message, CONTEXT())),
      ml_dsa_65: b64(mlDsa65.sign(key.mlDsa65Seed, message, CONTEXT())),
    },
    null,
    2,
  )}\n`;
}

function sameKey(a: LogVerifierKey, b: LogVerifierKey): boolean {
  return (
    a.name === b.name &&
    constantTimeEqual(a.ed25519PublicKey, b.ed25519PublicKey) &&
    constantTimeEqual(a.mlDsa65PublicKey, b.mlDsa65PublicKey)
  );
}

/** The approver a file proves for this change, or null (wrong change, unknown key, bad signature, junk). */
function approverOf(text: string, fromHash: string, toHash: string, approvers: readonly LogVerifierKey[]) {
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(text) as Record<string, unknown>;
    if (file.format !== APPROVAL_FORMAT || file.from_hash !== fromHash || file.to_hash !== toHash)
      return null;
    const keys = file.approver as [string, string];
    const signer = parseVerifierKeys(sha256, keys[0], keys[1]);
    const known = approvers.find((approver) => sameKey(approver, signer));
    if (known === undefined) return null;
    const message = approvalMessage(fromHash, toHash);
    const ed = new Uint8Array(Buffer.from(String(file.ed25519), "base64"));
    const ml = new Uint8Array(Buffer.from(String(file.ml_dsa_65), "base64"));
    if (!ed25519.verify(known.ed25519PublicKey, message, ed, CONTEXT())) return null;
    if (!mlDsa65.verify(known.mlDsa65PublicKey, message, ml, CONTEXT())) return null;
    return known;
  } catch {
    return null;
  }
}

/** Where approvals are read from: compliance.approvals_dir, or approvals/ next to the database. */
export function approvalsDir(config: RelayConfig): string {
  return resolve(config.compliance.approvals_dir ?? join(dirname(resolve(config.storage.path)), "approvals"));
}

/** Distinct administrators (by key) who approved this change, as "name+keyid". */
export function validApprovals(
  dir: string,
  fromHash: string,
  toHash: string,
  approvers: readonly LogVerifierKey[],
): string[] {
  if (!existsSync(dir)) return [];
  const found = new Map<string, string>();
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort()) {
    let text: string;
    try {
      text = readFileSync(join(dir, name), "utf8");
    } catch {
      continue;
    }
    const key = approverOf(text, fromHash, toHash, approvers);
    if (key === null) continue;
    const id = `${key.name}+${ed25519KeyId(sha256, key).toString(16).padStart(8, "0")}`;
    found.set(id, id);
  }
  return [...found.keys()];
}

/** The configuration of the newest `config_loaded` event in the audit log, if it recorded one. */
export async function lastRecordedConfig(
  transparency: TransparencyService,
): Promise<{ config: unknown; hash: string; reserved: string | undefined } | undefined> {
  const store = transparency.stores.audit;
  for (let end = await store.size(); end > 0; end -= 256) {
    const batch = await store.entries(Math.max(0, end - 256), end);
    for (let i = batch.length - 1; i >= 0; i--) {
      let event: AuditEventLeaf;
      try {
        event = decodeAuditEvent(batch[i]!.data);
      } catch {
        continue;
      }
      // Only a configuration the relay actually ran with counts (a refused one records no config).
      if (
        event.type !== "config_loaded" ||
        event.outcome !== "success" ||
        typeof event.details.config !== "string"
      )
        continue;
      return {
        config: JSON.parse(event.details.config),
        hash: String(event.details.change_hash ?? ""),
        reserved:
          typeof event.details.reserved_usernames === "string" ? event.details.reserved_usernames : undefined,
      };
    }
  }
  return undefined;
}

/** Throws config_change_unapproved naming every weakening and what approvals are missing. */
export function refuseUnapproved(
  found: readonly Weakening[],
  required: number,
  approved: readonly string[],
  fromHash: string,
  toHash: string,
  dir: string,
): never {
  const lines = found.map(
    (w) => `  ${w.path}: ${JSON.stringify(w.from)} -> ${JSON.stringify(w.to)} (${w.why})`,
  );
  throw new NanoError(
    "config_change_unapproved",
    `this configuration weakens security against the last one the relay ran with:\n${lines.join("\n")}\n` +
      `it needs approvals by ${required} administrator(s) of compliance.approvers; ${approved.length} valid approval(s) found in ${dir}${approved.length > 0 ? ` (${approved.join(", ")})` : ""}\n` +
      `change ${fromHash} -> ${toHash}; each administrator runs: nano-relay compliance approve --config FILE --key THEIR_KEY`,
  );
}
