/**
 * The signed file of `nano-relay compliance export` (docs/compliance.md, "Export"):
 *
 *   {"format": "nano-relay-compliance-export/v1",
 *    "payload": { ...what the relay holds about one account... },
 *    "signature": {"key_name", "verifier_keys": [ed25519 vkey, ml-dsa-65 vkey], "ed25519", "ml_dsa_65"}}
 *
 * Both signatures are by the relay's log key (the key whose verifier keys clients already pin for the
 * audit log), over `format || "\n" || canonical JSON of payload` under the label
 * nano/v1/sig/compliance-export, so an export cannot pass for a checkpoint or anything else the key
 * signs. Canonical JSON (keys sorted, no whitespace, integers only) makes the signed bytes independent
 * of how a reader re-serializes the file. A verifier needs both signatures (forging one needs breaking
 * both algorithms) and, to know the export is from a given relay, that relay's published keys.
 */

import { formatVerifierKeys, type LogVerifierKey, parseVerifierKeys } from "../../audit/log-key.ts";
import type { LogSigningKey } from "../../audit/log-signer.ts";
import { sha256 } from "../../crypto/hash.ts";
import { constantTimeEqual, ed25519, mlDsa65, utf8 } from "../../crypto/index.ts";
import { label, SIGNATURE_CONTEXTS } from "../../crypto/labels.ts";
import { NanoError } from "../../errors/index.ts";

export const EXPORT_FORMAT = "nano-relay-compliance-export/v1";

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };
export type JsonObject = { readonly [key: string]: Json };

function invalid(message: string): NanoError {
  return new NanoError("compliance_export_invalid", message);
}

/** Sorted keys, no whitespace; numbers must be safe integers (one value, one encoding). */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw invalid(`the export holds a non-integer number ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly Json[]).map(canonicalJson).join(",")}]`;
  const object = value as JsonObject;
  const keys = Object.keys(object).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key]!)}`).join(",")}}`;
}

function signedMessage(payload: JsonObject): Uint8Array {
  return utf8(`${EXPORT_FORMAT}\n${canonicalJson(payload)}`);
}

const CONTEXT = () => label(SIGNATURE_CONTEXTS.complianceExport);

/** The export file's text (pretty-printed: people read it; the signature covers the canonical form). */
export function signExport(payload: JsonObject, key: LogSigningKey, verifier: LogVerifierKey): string {
  const message = signedMessage(payload);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const file = {
    format: EXPORT_FORMAT,
    payload,
    signature: {
      key_name: verifier.name,
      verifier_keys: formatVerifierKeys(sha256, verifier),
      ed25519: b64(ed25519.sign(key.ed25519Seed, message, CONTEXT())),
      ml_dsa_65: b64(mlDsa65.sign(key.mlDsa65Seed, message, CONTEXT())),
    },
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

function field(object: Record<string, unknown>, name: string): string {
  const value = object[name];
  if (typeof value !== "string") throw invalid(`signature.${name} is missing`);
  return value;
}

function base64(text: string, name: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  if (Buffer.from(bytes).toString("base64") !== text) throw invalid(`signature.${name} is not base64`);
  return bytes;
}

export interface VerifiedExport {
  readonly payload: JsonObject;
  readonly signer: LogVerifierKey;
}

/**
 * Checks the file's shape and both signatures against the verifier keys it carries, and, when
 * `expected` is given (the relay's own key, or keys pinned by whoever asks), that those are the keys.
 */
export function verifyExport(text: string, expected?: LogVerifierKey): VerifiedExport {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    throw invalid("the file is not JSON");
  }
  if (typeof file !== "object" || file === null || Array.isArray(file)) throw invalid("not an export file");
  const { format, payload, signature } = file as Record<string, unknown>;
  if (format !== EXPORT_FORMAT) throw invalid(`unknown format ${JSON.stringify(format)}`);
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    throw invalid("payload is not an object");
  if (typeof signature !== "object" || signature === null) throw invalid("signature is missing");
  const sig = signature as Record<string, unknown>;
  const vkeys = sig.verifier_keys;
  if (!Array.isArray(vkeys) || vkeys.length !== 2 || !vkeys.every((v) => typeof v === "string"))
    throw invalid("signature.verifier_keys must be two verifier keys");
  let signer: LogVerifierKey;
  try {
    signer = parseVerifierKeys(sha256, vkeys[0] as string, vkeys[1] as string);
  } catch (error) {
    throw invalid(`signature.verifier_keys: ${(error as Error).message}`);
  }
  if (field(sig, "key_name") !== signer.name) throw invalid("signature.key_name differs from its keys");
  if (
    expected !== undefined &&
    !(
      expected.name === signer.name &&
      constantTimeEqual(expected.ed25519PublicKey, signer.ed25519PublicKey) &&
      constantTimeEqual(expected.mlDsa65PublicKey, signer.mlDsa65PublicKey)
    )
  )
    throw invalid(`signed by ${signer.name}'s keys, which are not the expected relay's (${expected.name})`);
  const message = signedMessage(payload as JsonObject);
  if (!ed25519.verify(signer.ed25519PublicKey, message, base64(field(sig, "ed25519"), "ed25519"), CONTEXT()))
    throw invalid("the Ed25519 signature does not verify");
  if (
    !mlDsa65.verify(signer.mlDsa65PublicKey, message, base64(field(sig, "ml_dsa_65"), "ml_dsa_65"), CONTEXT())
  )
    throw invalid("the ML-DSA-65 signature does not verify");
  return { payload: payload as JsonObject, signer };
}
