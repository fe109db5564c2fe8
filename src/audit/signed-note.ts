/**
 * C2SP signed-note (c2sp.org/signed-note): text ending in a newline, a blank line, then signature lines
 * "— <key name> <base64(key ID (4 bytes, big-endian) || signature)>". The signed message is the text
 * including its final newline, excluding the separating blank line.
 *
 * The parser is strict and bounded because notes arrive from the network before anything is trusted:
 * fixed limits on total size, line length and counts; valid UTF-8 without control characters other
 * than newline; canonical base64 only (so one signature has exactly one encoding). It only splits the
 * note; which lines count is the verifier's decision (src/audit/checkpoint.ts).
 */
import { NanoError } from "../errors/index.ts";
import { PORTABLE_BASE64 } from "../text/base64.ts";
import { utf8Length } from "../text/utf8-length.ts";
import { checkKeyName } from "./log-key.ts";

export const NOTE_LIMITS = Object.freeze({
  /** 16 signature lines of nearly 5 kB post-quantum signatures must fit (the spec's minimum). */
  maxNoteBytes: 128 * 1024,
  maxTextBytes: 16 * 1024,
  maxTextLines: 64,
  maxTextLineBytes: 1024,
  /** The spec says verifiers MUST accept at least 16. */
  maxSignatures: 16,
  /** Decoded key ID + signature; ML-DSA-87 (4627 B) plus the ID still fits. */
  maxSignatureBytes: 5000,
});

const SIGNATURE_PREFIX = "\u2014 ";

export interface NoteSignature {
  readonly keyName: string;
  /** The big-endian uint32 key ID. */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

export interface SignedNote {
  /** The signed text, ending in "\n". */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

function malformed(message: string): NanoError {
  return new NanoError("signed_note_malformed", message);
}

function tooLarge(message: string): NanoError {
  return new NanoError("signed_note_too_large", message);
}

/** Standard base64 with padding, and only the canonical encoding of its bytes. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = PORTABLE_BASE64.decode(text);
  } catch {
    return undefined;
  }
  // Canonical: the bytes encode back to the same text (no non-zero trailing bits).
  if (PORTABLE_BASE64.encode(bytes) !== text) return undefined;
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return PORTABLE_BASE64.encode(bytes);
}

/** Text rules shared by parse and format: UTF-8, no control characters but "\n", bounded lines. */
function checkText(text: string): void {
  if (utf8Length(text) > NOTE_LIMITS.maxTextBytes)
    throw tooLarge(`note text exceeds ${NOTE_LIMITS.maxTextBytes} bytes`);
  if (text.length === 0 || !text.endsWith("\n"))
    throw malformed("note text must be non-empty and end in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length > NOTE_LIMITS.maxTextLines)
    throw tooLarge(`note text has more than ${NOTE_LIMITS.maxTextLines} lines`);
  for (const line of lines)
    if (utf8Length(line) > NOTE_LIMITS.maxTextLineBytes)
      throw tooLarge(`a note text line exceeds ${NOTE_LIMITS.maxTextLineBytes} bytes`);
}

function decodeInput(input: string | Uint8Array): string {
  const bytes = typeof input === "string" ? utf8Length(input) : input.length;
  if (bytes > NOTE_LIMITS.maxNoteBytes) throw tooLarge(`note exceeds ${NOTE_LIMITS.maxNoteBytes} bytes`);
  if (typeof input === "string") {
    if (!input.isWellFormed()) throw malformed("note is not valid Unicode (lone surrogate)");
    return input;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    throw malformed("note is not valid UTF-8");
  }
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX))
    throw malformed("signature line does not start with an em dash and a space");
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) throw malformed("signature line lacks a space between key name and signature");
  const keyName = rest.slice(0, space);
  const encoded = rest.slice(space + 1);
  try {
    checkKeyName(keyName);
  } catch {
    throw malformed("signature line has an invalid key name");
  }
  if (encoded.length > Math.ceil(NOTE_LIMITS.maxSignatureBytes / 3) * 4)
    throw tooLarge(`a signature exceeds ${NOTE_LIMITS.maxSignatureBytes} bytes`);
  const decoded = decodeBase64Strict(encoded);
  if (decoded === undefined) throw malformed("signature is not canonical base64");
  if (decoded.length < 5) throw malformed("signature is shorter than a key ID and one byte");
  const keyId = new DataView(decoded.buffer, decoded.byteOffset, 4).getUint32(0);
  return { keyName, keyId, signature: decoded.slice(4) };
}

export function parseSignedNote(input: string | Uint8Array): SignedNote {
  const note = decodeInput(input);
  // The spec forbids ASCII control characters other than newline anywhere in the note (this also
  // rejects "\r", so a CRLF-mangled note fails here rather than at signature verification).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw malformed("note contains a control character");
  if (!note.endsWith("\n")) throw malformed("note does not end in a newline");
  // The text is separated from the signatures by the last blank line.
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw malformed("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0) throw malformed("note has no signature lines");
  checkText(text);
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > NOTE_LIMITS.maxSignatures)
    throw tooLarge(`note has more than ${NOTE_LIMITS.maxSignatures} signature lines`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

export function formatSignatureLine(signature: NoteSignature): string {
  checkKeyName(signature.keyName);
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, signature.keyId);
  const body = new Uint8Array(4 + signature.signature.length);
  body.set(id);
  body.set(signature.signature, 4);
  return `${SIGNATURE_PREFIX}${signature.keyName} ${encodeBase64(body)}\n`;
}

export function formatSignedNote(note: SignedNote): string {
  checkText(note.text);
  if (note.signatures.length === 0 || note.signatures.length > NOTE_LIMITS.maxSignatures)
    throw new RangeError(`a note carries 1..${NOTE_LIMITS.maxSignatures} signatures`);
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join("")}`;
}
