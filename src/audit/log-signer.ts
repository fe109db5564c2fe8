/**
 * The relay's side of the log key (log-key.ts): generating it and signing checkpoints with both halves.
 * node:crypto, synchronous, relay only; everything a client needs to verify (key IDs, verifier keys,
 * openCheckpoint) is runtime-free and takes its primitives from a CryptoProvider.
 */
import { utf8 } from "../crypto/bytes.ts";
import { ed25519, ed25519SignRaw } from "../crypto/ed25519.ts";
import { sha256 } from "../crypto/hash.ts";
import { mlDsa65 } from "../crypto/ml-dsa.ts";
import { NanoError } from "../errors/index.ts";
import { type Checkpoint, formatCheckpointBody } from "./checkpoint.ts";
import {
  CHECKPOINT_ML_DSA_CONTEXT,
  checkKeyName,
  ed25519KeyId,
  type LogVerifierKey,
  makeVerifierKey,
  mlDsa65KeyId,
} from "./log-key.ts";
import { formatSignedNote, type NoteSignature } from "./signed-note.ts";

export interface LogSigningKey {
  /** The key name on signature lines; by convention (tlog-checkpoint) also the checkpoint origin. */
  readonly name: string;
  readonly ed25519Seed: Uint8Array;
  readonly mlDsa65Seed: Uint8Array;
}

/** The public half; checks the name and that the two key IDs differ (else lines would be ambiguous). */
export function logVerifierKey(key: LogSigningKey): LogVerifierKey {
  return makeVerifierKey(
    sha256,
    key.name,
    ed25519.publicKey(key.ed25519Seed),
    mlDsa65.publicKey(key.mlDsa65Seed),
  );
}

/** A fresh log key; regenerates in the 2^-32 case where both halves would share a key ID. */
export function generateLogKey(name: string): { signing: LogSigningKey; verifier: LogVerifierKey } {
  checkKeyName(name);
  for (;;) {
    const signing = Object.freeze({
      name,
      ed25519Seed: ed25519.keygen().seed,
      mlDsa65Seed: mlDsa65.keygen().seed,
    });
    try {
      return { signing, verifier: logVerifierKey(signing) };
    } catch (error) {
      if (!NanoError.is(error, "note_key_name_invalid")) throw error;
    }
  }
}

/** Signs a checkpoint with both halves of the log key; returns the signed note text. */
export function signCheckpoint(checkpoint: Checkpoint, key: LogSigningKey): string {
  const text = formatCheckpointBody(checkpoint);
  const message = utf8(text);
  const verifier = logVerifierKey(key);
  const signatures: NoteSignature[] = [
    {
      keyName: key.name,
      keyId: ed25519KeyId(sha256, verifier),
      signature: ed25519SignRaw(key.ed25519Seed, message),
    },
    {
      keyName: key.name,
      keyId: mlDsa65KeyId(sha256, verifier),
      signature: mlDsa65.sign(key.mlDsa65Seed, message, CHECKPOINT_ML_DSA_CONTEXT),
    },
  ];
  return formatSignedNote({ text, signatures });
}
