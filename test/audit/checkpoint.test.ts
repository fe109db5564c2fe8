// Signed checkpoints: C2SP signed-note framing, the tlog-checkpoint body, and the dual Ed25519 +
// ML-DSA-65 signature rule, against honest and hostile notes.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type Checkpoint,
  formatCheckpointBody,
  openCheckpoint,
  parseCheckpointBody,
} from "../../src/audit/checkpoint.ts";
import {
  ED25519_NOTE_SIGNATURE_TYPE,
  ed25519KeyId,
  formatVerifierKeys,
  makeVerifierKey,
  mlDsa65KeyId,
  noteKeyId,
  parseVerifierKeys,
} from "../../src/audit/log-key.ts";
import { generateLogKey, signCheckpoint } from "../../src/audit/log-signer.ts";
import { EMPTY_ROOT, hashLeaf } from "../../src/audit/merkle-hash.ts";
import { formatSignedNote, NOTE_LIMITS, parseSignedNote } from "../../src/audit/signed-note.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { ed25519, ed25519SignRaw } from "../../src/crypto/ed25519.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { type ErrorCode, NanoError } from "../../src/errors/index.ts";

const NAME = "relay.example.com/audit";
const { signing, verifier } = generateLogKey(NAME);
const other = generateLogKey(NAME);

const CHECKPOINT: Checkpoint = {
  origin: NAME,
  size: 20852163,
  rootHash: hashLeaf(sha256, utf8("root")),
  extensions: [],
};
const NOTE = signCheckpoint(CHECKPOINT, signing);

/** `action` may throw or reject: openCheckpoint is async, the body parser is not. */
async function rejectsWith(code: ErrorCode, action: () => unknown, why?: string): Promise<void> {
  await assert.rejects(
    async () => action(),
    (error: unknown) => NanoError.is(error, code),
    why ?? code,
  );
}

function lines(note: string): { text: string; ed: string; ml: string } {
  const [text, block] = note.split("\n\n") as [string, string];
  const [ed, ml] = block.split("\n") as [string, string];
  return { text: `${text}\n`, ed, ml };
}

test("a signed checkpoint is the C2SP body, a blank line and two signature lines", async () => {
  const [origin, size, root, blank, ed, ml, end] = NOTE.split("\n");
  assert.equal(origin, NAME);
  assert.equal(size, "20852163");
  assert.equal(root, Buffer.from(CHECKPOINT.rootHash).toString("base64"));
  assert.equal(blank, "");
  assert.ok(ed?.startsWith(`\u2014 ${NAME} `));
  assert.ok(ml?.startsWith(`\u2014 ${NAME} `));
  assert.equal(end, "");
  const parsed = parseSignedNote(NOTE);
  assert.equal(parsed.signatures[0]!.keyId, ed25519KeyId(sha256, verifier));
  assert.equal(parsed.signatures[0]!.signature.length, 64);
  assert.equal(parsed.signatures[1]!.keyId, mlDsa65KeyId(sha256, verifier));
  assert.equal(parsed.signatures[1]!.signature.length, 3309);
  const opened = await openCheckpoint(nodeProvider, NOTE, verifier);
  assert.equal(opened.origin, NAME);
  assert.equal(opened.size, CHECKPOINT.size);
  assert.deepEqual(opened.rootHash, CHECKPOINT.rootHash);
  assert.deepEqual(opened.extensions, []);
  assert.deepEqual(
    await openCheckpoint(nodeProvider, new TextEncoder().encode(NOTE), verifier),
    opened,
    "bytes and text agree",
  );
});

test("interop: Go's sumdb/note reference key and note, byte for byte (Ed25519 is deterministic)", async () => {
  // golang.org/x/mod/sumdb/note documentation example (PeterNeumann).
  const skey = Buffer.from("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "base64");
  const vkey = Buffer.from("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "base64");
  const text =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const signatureLine =
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  const seed = new Uint8Array(skey.subarray(1));
  const publicKey = new Uint8Array(vkey.subarray(1));
  assert.equal(skey[0], 0x01);
  assert.deepEqual(ed25519.publicKey(seed), publicKey);
  assert.equal(noteKeyId(sha256, "PeterNeumann", ED25519_NOTE_SIGNATURE_TYPE, publicKey), 0xc74f20a3);
  const note = formatSignedNote({
    text,
    signatures: [{ keyName: "PeterNeumann", keyId: 0xc74f20a3, signature: ed25519SignRaw(seed, utf8(text)) }],
  });
  assert.equal(note, `${text}\n${signatureLine}`);
  const parsed = parseSignedNote(note);
  assert.equal(parsed.text, text);
  assert.equal(parsed.signatures[0]!.keyId, 0xc74f20a3);
});

test("both signatures are required: one alone, or another key's, is refused", async () => {
  const { text, ed, ml } = lines(NOTE);
  await rejectsWith(
    "checkpoint_signature_missing",
    () => openCheckpoint(nodeProvider, `${text}\n${ed}\n`, verifier),
    "Ed25519 only",
  );
  await rejectsWith(
    "checkpoint_signature_missing",
    () => openCheckpoint(nodeProvider, `${text}\n${ml}\n`, verifier),
    "ML-DSA only",
  );
  const foreign = signCheckpoint(CHECKPOINT, other.signing);
  await rejectsWith(
    "checkpoint_signature_missing",
    () => openCheckpoint(nodeProvider, foreign, verifier),
    "same name, other key",
  );
  const foreignLines = lines(foreign);
  await rejectsWith("checkpoint_signature_missing", () =>
    openCheckpoint(nodeProvider, `${text}\n${ed}\n${foreignLines.ml}\n`, verifier),
  );
  // Half of the pinned key is not enough even when the other half is a real key of the log's name.
  const mixed = makeVerifierKey(sha256, NAME, verifier.ed25519PublicKey, other.verifier.mlDsa65PublicKey);
  await rejectsWith("checkpoint_signature_missing", () => openCheckpoint(nodeProvider, NOTE, mixed));
});

test("a bad signature from the expected key is fatal, whichever half", async () => {
  const { text, ed, ml } = lines(NOTE);
  const flipLast = (line: string): string => {
    const parts = line.split(" ");
    const raw = Buffer.from(parts[2]!, "base64");
    raw[raw.length - 1]! ^= 0x01;
    return `${parts[0]} ${parts[1]} ${raw.toString("base64")}`;
  };
  await rejectsWith("checkpoint_signature_invalid", () =>
    openCheckpoint(nodeProvider, `${text}\n${flipLast(ed)}\n${ml}\n`, verifier),
  );
  await rejectsWith("checkpoint_signature_invalid", () =>
    openCheckpoint(nodeProvider, `${text}\n${ed}\n${flipLast(ml)}\n`, verifier),
  );
  // The other key's ML-DSA signature relabelled with our key ID.
  const theirs = parseSignedNote(signCheckpoint(CHECKPOINT, other.signing)).signatures[1]!;
  const relabelled = formatSignedNote({
    text,
    signatures: [
      parseSignedNote(NOTE).signatures[0]!,
      { keyName: NAME, keyId: mlDsa65KeyId(sha256, verifier), signature: theirs.signature },
    ],
  });
  await rejectsWith("checkpoint_signature_invalid", () => openCheckpoint(nodeProvider, relabelled, verifier));
  // Truncated Ed25519 signature with our key ID.
  const short = formatSignedNote({
    text,
    signatures: [
      { keyName: NAME, keyId: ed25519KeyId(sha256, verifier), signature: new Uint8Array(63) },
      parseSignedNote(NOTE).signatures[1]!,
    ],
  });
  await rejectsWith("checkpoint_signature_invalid", () => openCheckpoint(nodeProvider, short, verifier));
});

test("a modified body or an added body line breaks the signatures", async () => {
  const { text, ed, ml } = lines(NOTE);
  const sigs = `\n${ed}\n${ml}\n`;
  await rejectsWith("checkpoint_signature_invalid", () =>
    openCheckpoint(nodeProvider, `${text.replace("20852163", "20852164")}${sigs}`, verifier),
  );
  await rejectsWith("checkpoint_signature_invalid", () =>
    openCheckpoint(nodeProvider, `${text}extra line\n${sigs}`, verifier),
  );
  await rejectsWith(
    "checkpoint_signature_invalid",
    () => openCheckpoint(nodeProvider, `${text}\n${sigs}`, verifier),
    "blank line moved",
  );
  await rejectsWith("checkpoint_signature_invalid", () =>
    openCheckpoint(nodeProvider, `x${text}${sigs}`, verifier),
  );
});

test("signature lines of unknown keys are ignored (witness cosignatures), duplicates of ours are not", async () => {
  const witness = generateLogKey("witness.example.com/w1");
  const { text } = lines(NOTE);
  const ours = parseSignedNote(NOTE).signatures;
  const cosigned = formatSignedNote({
    text,
    signatures: [
      ...ours,
      {
        keyName: "witness.example.com/w1",
        keyId: ed25519KeyId(sha256, witness.verifier),
        signature: new Uint8Array(72),
      },
    ],
  });
  assert.equal((await openCheckpoint(nodeProvider, cosigned, verifier)).size, CHECKPOINT.size);
  const duplicated = formatSignedNote({ text, signatures: [...ours, ours[0]!] });
  await rejectsWith("signed_note_malformed", () => openCheckpoint(nodeProvider, duplicated, verifier));
});

test("origin and extension lines are checked after the signatures", async () => {
  const elsewhere = signCheckpoint({ ...CHECKPOINT, origin: "evil.example.com/log" }, signing);
  await rejectsWith("checkpoint_origin_mismatch", () => openCheckpoint(nodeProvider, elsewhere, verifier));
  assert.equal(
    (await openCheckpoint(nodeProvider, elsewhere, verifier, { origin: "evil.example.com/log" })).origin,
    "evil.example.com/log",
  );
  const extended = signCheckpoint({ ...CHECKPOINT, extensions: ["timestamp 1700000000"] }, signing);
  await rejectsWith("checkpoint_malformed", () => openCheckpoint(nodeProvider, extended, verifier));
  assert.deepEqual(
    (await openCheckpoint(nodeProvider, extended, verifier, { allowExtensions: true })).extensions,
    ["timestamp 1700000000"],
  );
});

test("checkpoint bodies: strict decimal size, canonical 32-byte root, non-empty lines", async () => {
  const root = Buffer.from(CHECKPOINT.rootHash).toString("base64");
  const body = (size: string, rootLine = root, extra = "") => `${NAME}\n${size}\n${rootLine}\n${extra}`;
  assert.equal(parseCheckpointBody(body("12")).size, 12);
  assert.equal(parseCheckpointBody(`${NAME}\n0\n${Buffer.from(EMPTY_ROOT).toString("base64")}\n`).size, 0);
  assert.equal(parseCheckpointBody(body(String(Number.MAX_SAFE_INTEGER))).size, Number.MAX_SAFE_INTEGER);
  for (const size of [
    "01",
    "-1",
    "+1",
    "1e3",
    " 1",
    "1 ",
    "",
    "0x10",
    "9007199254740992",
    "12345678901234567",
    "１",
  ])
    await rejectsWith(
      "checkpoint_malformed",
      () => parseCheckpointBody(body(size)),
      `size ${JSON.stringify(size)}`,
    );
  const short = Buffer.alloc(31).toString("base64");
  const long = Buffer.alloc(33).toString("base64");
  const unpadded = root.replace(/=+$/, "");
  // Same bytes, non-canonical final character: the unused low bits are set.
  const nonCanonical = `${root.slice(0, 42)}${root[42] === "A" ? "B" : String.fromCharCode(root.charCodeAt(42) ^ 1)}=`;
  for (const rootLine of [short, long, unpadded, nonCanonical, "", `${root} `, root.replace(/[A-Z]/, "-")])
    await rejectsWith(
      "checkpoint_malformed",
      () => parseCheckpointBody(body("12", rootLine)),
      `root ${rootLine}`,
    );
  await rejectsWith("checkpoint_malformed", () => parseCheckpointBody(`${NAME}\n12\n`), "two lines");
  await rejectsWith("checkpoint_malformed", () => parseCheckpointBody(`\n12\n${root}\n`), "empty origin");
  await rejectsWith(
    "checkpoint_malformed",
    () => parseCheckpointBody(body("12", root, "\n")),
    "empty extension",
  );
  await rejectsWith(
    "checkpoint_malformed",
    () => parseCheckpointBody(body("12").slice(0, -1)),
    "no final newline",
  );
  await rejectsWith("checkpoint_malformed", () => parseCheckpointBody(body("0")), "size 0 with another root");
  await rejectsWith(
    "checkpoint_malformed",
    () => parseCheckpointBody(body("12", root, "x\n".repeat(9))),
    "9 extensions",
  );
  await rejectsWith("checkpoint_malformed", () => formatCheckpointBody({ ...CHECKPOINT, origin: "" }));
});

test("signed-note framing: hostile and malformed notes get typed errors", async () => {
  const { text, ed, ml } = lines(NOTE);
  const sigs = `${ed}\n${ml}\n`;
  const cases: [ErrorCode, string | Uint8Array, string][] = [
    ["signed_note_malformed", `${text}${sigs}`, "no blank line"],
    ["signed_note_malformed", `${text}\n${sigs}`.slice(0, -1), "no final newline"],
    ["signed_note_malformed", `${text}\n`, "no signatures"],
    ["signed_note_malformed", `${text}\n${sigs}\n`, "blank line after the signatures"],
    ["signed_note_malformed", `${text}\n${sigs}`.replaceAll("\n", "\r\n"), "CRLF"],
    ["signed_note_malformed", `${text.replace(NAME, `${NAME}\t`)}\n${sigs}`, "tab in text"],
    ["signed_note_malformed", `${text}\n${sigs}`.replace("\u2014", "-"), "hyphen instead of em dash"],
    [
      "signed_note_malformed",
      `${text}\n${sigs}`.replace(`\u2014 ${NAME} `, `\u2014 ${NAME}+x `),
      "plus in key name",
    ],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME}\n`, "no signature after the name"],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME} AAAAAA==\n`, "signature shorter than 5 bytes"],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME} AAAAAAA\n`, "unpadded base64"],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME} AAAAAAB=\n`, "non-canonical base64"],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME} AAAA AAAA\n`, "two spaces"],
    ["signed_note_malformed", `${text}\n\u2014  AAAAAAAA\n`, "empty key name"],
    ["signed_note_malformed", `${text}\n\u2014 ${NAME} ${"A".repeat(8)}\u0000\n`, "NUL"],
    ["signed_note_malformed", `${text.slice(0, 3)}\ud800${text.slice(3)}\n${sigs}`, "lone surrogate"],
    ["signed_note_malformed", Uint8Array.of(...utf8(`${text}\n`), 0xff, 0xfe, 0x0a), "invalid UTF-8"],
    ["signed_note_too_large", `${text}\n${`${ed}\n`.repeat(17)}`, "17 signature lines"],
    [
      "signed_note_too_large",
      `${"x".repeat(NOTE_LIMITS.maxNoteBytes)}\n\n${sigs}`,
      "note over the size limit",
    ],
    ["signed_note_too_large", `${"x".repeat(2000)}\n\n${sigs}`, "text line over the limit"],
    ["signed_note_too_large", `${"x\n".repeat(65)}\n${sigs}`, "too many text lines"],
    ["signed_note_too_large", `${text}\n\u2014 ${NAME} ${"A".repeat(8000)}\n`, "oversized signature"],
  ];
  for (const [code, note, why] of cases)
    await rejectsWith(code, () => openCheckpoint(nodeProvider, note, verifier), why);
});

test("key names follow the signed-note rules", async () => {
  for (const name of ["", "a b", "a+b", "a\u00a0b", "a\nb", "x".repeat(257), "a\u2028b"])
    await rejectsWith("note_key_name_invalid", () => generateLogKey(name), JSON.stringify(name));
  assert.doesNotThrow(() =>
    makeVerifierKey(sha256, "ok.example/log", verifier.ed25519PublicKey, verifier.mlDsa65PublicKey),
  );
  await rejectsWith("invalid_length", () =>
    makeVerifierKey(sha256, NAME, new Uint8Array(31), verifier.mlDsa65PublicKey),
  );
});

test("property: any single-character edit or truncation of a signed note is rejected with a NanoError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: NOTE.length - 1 }),
      fc.oneof(
        fc.constant<"delete" | "truncate">("delete"),
        fc.constant<"delete" | "truncate">("truncate"),
        fc.string({ minLength: 1, maxLength: 1 }),
      ),
      async (position, edit) => {
        let mutated: string;
        if (edit === "delete") mutated = NOTE.slice(0, position) + NOTE.slice(position + 1);
        else if (edit === "truncate") mutated = NOTE.slice(0, position);
        else if (edit === NOTE[position]) return;
        else mutated = NOTE.slice(0, position) + edit + NOTE.slice(position + 1);
        try {
          await openCheckpoint(nodeProvider, mutated, verifier);
        } catch (error) {
          assert.ok(error instanceof NanoError, `not a NanoError: ${String(error)}`);
          return;
        }
        assert.fail(`accepted a mutated note (position ${position}, edit ${JSON.stringify(edit)})`);
      },
    ),
    { numRuns: 400 },
  );
});

test("verifier keys as text: round trip, Go's reference vkey, and malformed keys", async () => {
  const [edVkey, mlVkey] = formatVerifierKeys(sha256, verifier);
  assert.match(edVkey, new RegExp(`^${NAME.replaceAll(".", "\\.")}\\+[0-9a-f]{8}\\+A[Q-Za-f]`));
  const parsed = parseVerifierKeys(sha256, edVkey, mlVkey);
  assert.deepEqual(parsed, verifier);
  assert.equal((await openCheckpoint(nodeProvider, NOTE, parsed)).size, CHECKPOINT.size);
  // The Ed25519 half has exactly Go's vkey layout.
  const go = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  const goKey = Buffer.from(go.slice("PeterNeumann+c74f20a3+".length), "base64").subarray(1);
  assert.equal(
    formatVerifierKeys(sha256, {
      name: "PeterNeumann",
      ed25519PublicKey: new Uint8Array(goKey),
      mlDsa65PublicKey: verifier.mlDsa65PublicKey,
    })[0],
    go,
  );
  const bad = (ed: string, ml: string, why: string) =>
    rejectsWith("verifier_key_malformed", () => parseVerifierKeys(sha256, ed, ml), why);
  await bad(mlVkey, edVkey, "swapped");
  await bad(edVkey.replace(/\+[0-9a-f]{8}\+/, "+00000000+"), mlVkey, "wrong key ID");
  await bad(
    edVkey.replace(/\+([0-9a-f]{8})\+/, (_, id: string) => `+${id.toUpperCase()}+`),
    mlVkey,
    "upper-case hex",
  );
  await bad(edVkey.slice(0, -4), mlVkey, "truncated key");
  await bad(`${edVkey}+x`, mlVkey, "trailing part");
  await bad("PeterNeumann", mlVkey, "no parts");
  await bad(
    edVkey,
    formatVerifierKeys(sha256, generateLogKey("other.example/log").verifier)[1],
    "different names",
  );
  await bad(edVkey.replace(NAME, "a b"), mlVkey, "space in name");
});
