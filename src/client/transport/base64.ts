import { NanoError } from "../../errors/index.ts";
import { fromBase64 as decode, toBase64 as encode } from "../local-store/record-base64.ts";

/**
 * Standard base64 (RFC 4648 §4, padded), the relay API's encoding of binary values (docs/api.md), in
 * both runtimes: the codec is the sealed records' (record-base64.ts: native, Buffer or atob by what the
 * runtime has). What this adds is the relay's side of trust: decoding is strict — a relay value that
 * is not canonical base64 is `relay_rejected`, never bytes guessed from it (Buffer alone would skip bad
 * characters silently).
 */
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const toBase64: (bytes: Uint8Array) => string = encode;

export function fromBase64(text: string): Uint8Array {
  if (!CANONICAL.test(text)) throw new NanoError("relay_rejected", "the relay sent a value that is not base64");
  return decode(text);
}
