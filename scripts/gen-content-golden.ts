// Writes test/golden/content/v1.json: message contents (docs/protocol.md §9.4) as a second
// implementation must encode and decode them, with and without the disappearing-message timer, and
// contents it must refuse with their error codes. Every input is fixed, so the file is reproducible:
// `npx node scripts/gen-content-golden.ts` writes the same bytes until the encoding changes.
import { writeFileSync } from "node:fs";
import { toHex, utf8 } from "../src/crypto/index.ts";
import { encodeAttachmentReference } from "../src/protocol/attachment-reference.ts";
import { type Content, encodeContent } from "../src/protocol/content.ts";

const messageId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const sentAt = Date.UTC(2026, 11, 7, 12, 0, 0);
const reference = encodeAttachmentReference({
  key: new Uint8Array(32).fill(0x11),
  hash: new Uint8Array(64).fill(0x22),
  size: 1234,
  contentType: "text/plain",
  filename: "notes.txt",
});

const valid: { name: string; content: Content }[] = [
  {
    name: "text without a timer (version-1 bytes)",
    content: { type: 1, messageId, sentAt, text: "golden text" },
  },
  { name: "attachment without a timer", content: { type: 2, messageId, sentAt, reference } },
  { name: "receipt", content: { type: 3, messageId, sentAt, kind: 1, ids: [messageId] } },
  {
    name: "text disappearing after 1 hour",
    content: { type: 1, messageId, sentAt, expireAfterSeconds: 3600, text: "golden text" },
  },
  {
    name: "attachment disappearing after 7 days",
    content: { type: 2, messageId, sentAt, expireAfterSeconds: 604_800, reference },
  },
  {
    name: "text with the longest timer (365 days)",
    content: { type: 1, messageId, sentAt, expireAfterSeconds: 31_536_000, text: "" },
  },
  {
    name: "text with the shortest timer (1 second)",
    content: { type: 1, messageId, sentAt, expireAfterSeconds: 1, text: "x" },
  },
];

/** Hand-built bytes: version 1, a type byte, the id, sent_at, then what follows. */
function raw(typeByte: number, tail: Uint8Array): string {
  const head = new Uint8Array(2 + 16 + 8);
  head[0] = 1;
  head[1] = typeByte;
  head.set(messageId, 2);
  new DataView(head.buffer).setBigUint64(18, BigInt(sentAt));
  return toHex(new Uint8Array([...head, ...tail]));
}
const u32 = (value: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
};

const invalid = [
  {
    name: "timer of 0 seconds",
    hex: raw(0x81, new Uint8Array([...u32(0), ...utf8("hi")])),
    error: "expiry_out_of_range",
  },
  {
    name: "timer one second past 365 days",
    hex: raw(0x81, new Uint8Array([...u32(31_536_001), ...utf8("hi")])),
    error: "expiry_out_of_range",
  },
  {
    name: "largest u32 timer",
    hex: raw(0x81, new Uint8Array([...u32(0xffffffff), ...utf8("hi")])),
    error: "expiry_out_of_range",
  },
  {
    name: "timer on a receipt",
    hex: raw(0x83, new Uint8Array([...u32(60), 1, 0, 1, ...messageId])),
    error: "expiry_out_of_range",
  },
  { name: "timer bit with the timer cut short", hex: raw(0x81, new Uint8Array([0, 0])), error: "truncated" },
  {
    name: "unknown type with the timer bit",
    hex: raw(0x84, new Uint8Array([...u32(60)])),
    error: "malformed",
  },
];

const golden = {
  description:
    "nano v1 message contents (docs/protocol.md §9.4): valid encodings with and without the disappearing-message timer, and refused ones",
  valid: valid.map(({ name, content }) => ({
    name,
    hex: toHex(encodeContent(content)),
    type: content.type,
    expireAfterSeconds: content.expireAfterSeconds ?? null,
  })),
  invalid,
};
const target = new URL("../test/golden/content/v1.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(golden, null, 1)}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);
