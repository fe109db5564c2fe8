/**
 * Signed checkpoints: a C2SP tlog-checkpoint body (c2sp.org/tlog-checkpoint) inside a C2SP signed note,
 * signed by both halves of the log key (src/audit/log-key.ts).
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n ...]
 *
 * Verification order follows the note spec: the text is ignored until the signatures verify, so a
 * hostile body is never parsed beyond the note's own framing before its signatures have been checked.
 * Signature lines from unknown keys are ignored (the spec requires it: witnesses add cosignatures), but
 * both the Ed25519 and the ML-DSA-65 line of the expected key must be present and valid.
 *
 * Verifying is runtime-free: the signatures and key IDs come from the caller's CryptoProvider (the
 * browser's in the page), so it is asynchronous. Signing is the relay's (log-signer.ts).
 */

import { utf8 } from "../crypto/bytes.ts";
import { ED25519_LENGTHS } from "../crypto/parameters.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "../protocol/_constant-time.ts";
import { utf8Length } from "../text/utf8-length.ts";
import { CHECKPOINT_ML_DSA_CONTEXT, ed25519KeyId, type LogVerifierKey, mlDsa65KeyId } from "./log-key.ts";
import { EMPTY_ROOT, HASH_SIZE } from "./merkle-hash.ts";
import { decodeBase64Strict, encodeBase64, parseSignedNote } from "./signed-note.ts";

export const CHECKPOINT_LIMITS = Object.freeze({
  maxOriginBytes: 256,
  maxExtensionLines: 8,
  maxExtensionLineBytes: 512,
});

/** A tree head: what verifyLog and proofs need. */
export interface TreeHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

export interface Checkpoint extends TreeHead {
  readonly origin: string;
  /** Opaque extension lines (NOT RECOMMENDED by the spec; our log writes none). */
  readonly extensions: readonly string[];
}

export interface OpenCheckpointOptions {
  /** The origin line the checkpoint must carry; defaults to the key name. */
  readonly origin?: string;
  /** Accept extension lines; off by default since our log never writes them. */
  readonly allowExtensions?: boolean;
}

function malformed(message: string): NanoError {
  return new NanoError("checkpoint_malformed", message);
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** "origin size root" for messages: everything a human needs to compare two checkpoints. */
export function describeCheckpoint(checkpoint: Checkpoint): string {
  return `(origin ${checkpoint.origin}, size ${checkpoint.size}, root ${encodeBase64(checkpoint.rootHash)})`;
}

export function formatCheckpointBody(checkpoint: Checkpoint): string {
  const text = [
    checkpoint.origin,
    String(checkpoint.size),
    encodeBase64(checkpoint.rootHash),
    ...checkpoint.extensions,
  ].join("\n");
  const body = `${text}\n`;
  // Round-trip through the parser so we can never sign something we would refuse to read.
  parseCheckpointBody(body);
  return body;
}

export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw malformed("checkpoint text does not end in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw malformed("checkpoint needs an origin, a tree size and a root hash line");
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed("checkpoint origin line is empty");
  if (utf8Length(origin) > CHECKPOINT_LIMITS.maxOriginBytes)
    throw malformed(`checkpoint origin exceeds ${CHECKPOINT_LIMITS.maxOriginBytes} bytes`);
  if (!DECIMAL.test(sizeLine)) throw malformed("checkpoint tree size is not a decimal without leading zeros");
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed("checkpoint tree size exceeds 2^53 - 1");
  const rootHash = decodeBase64Strict(rootLine);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE)
    throw malformed("checkpoint root hash is not canonical base64 of 32 bytes");
  // The empty tree has exactly one root; a different one is a forgery or a bug, never a valid head.
  if (size === 0 && !constantTimeEqual(rootHash, EMPTY_ROOT))
    throw malformed("a checkpoint of size 0 must carry SHA-256 of the empty string as root");
  if (extensions.length > CHECKPOINT_LIMITS.maxExtensionLines)
    throw malformed(`checkpoint has more than ${CHECKPOINT_LIMITS.maxExtensionLines} extension lines`);
  for (const line of extensions) {
    if (line.length === 0) throw malformed("checkpoint extension lines must be non-empty");
    if (utf8Length(line) > CHECKPOINT_LIMITS.maxExtensionLineBytes)
      throw malformed(`a checkpoint extension line exceeds ${CHECKPOINT_LIMITS.maxExtensionLineBytes} bytes`);
  }
  return Object.freeze({ origin, size, rootHash, extensions: Object.freeze(extensions) });
}

/**
 * Verifies both signatures of the expected key, then parses and checks the body. Throws
 * signed_note_malformed / signed_note_too_large (framing), checkpoint_signature_missing,
 * checkpoint_signature_invalid, checkpoint_malformed or checkpoint_origin_mismatch.
 */
export async function openCheckpoint(
  provider: CryptoProvider,
  note: string | Uint8Array,
  key: LogVerifierKey,
  options: OpenCheckpointOptions = {},
): Promise<Checkpoint> {
  const { text, signatures } = parseSignedNote(note);
  const { sha256, ed25519 } = provider.primitives;
  const edId = ed25519KeyId(sha256, key);
  const mlId = mlDsa65KeyId(sha256, key);
  // A line is ours only when both name and ID match; anything else is some other signer's (ignored).
  const ours = (id: number) => signatures.filter((s) => s.keyName === key.name && s.keyId === id);
  const edLines = ours(edId);
  const mlLines = ours(mlId);
  if (edLines.length > 1 || mlLines.length > 1)
    throw new NanoError("signed_note_malformed", `note carries two signatures from key ${key.name}`);
  const [edLine] = edLines;
  const [mlLine] = mlLines;
  if (edLine === undefined || mlLine === undefined) {
    const missing = edLine === undefined ? "Ed25519" : "ML-DSA-65";
    throw new NanoError(
      "checkpoint_signature_missing",
      `checkpoint lacks the ${missing} signature of log key ${key.name}`,
    );
  }
  const message = utf8(text);
  if (
    edLine.signature.length !== ED25519_LENGTHS.signature ||
    !(await ed25519.verify(key.ed25519PublicKey, message, edLine.signature))
  )
    throw new NanoError(
      "checkpoint_signature_invalid",
      `the Ed25519 signature of log key ${key.name} does not verify`,
    );
  if (
    !(await provider.mlDsa65.verify(
      key.mlDsa65PublicKey,
      message,
      mlLine.signature,
      CHECKPOINT_ML_DSA_CONTEXT,
    ))
  )
    throw new NanoError(
      "checkpoint_signature_invalid",
      `the ML-DSA-65 signature of log key ${key.name} does not verify`,
    );
  const checkpoint = parseCheckpointBody(text);
  const origin = options.origin ?? key.name;
  if (checkpoint.origin !== origin)
    throw new NanoError(
      "checkpoint_origin_mismatch",
      `checkpoint is for log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`,
    );
  if (checkpoint.extensions.length > 0 && options.allowExtensions !== true)
    throw new NanoError(
      "checkpoint_malformed",
      "checkpoint has extension lines and this verifier accepts none",
    );
  return checkpoint;
}
