import { NanoError } from "../../errors/index.ts";
import type { Base64Codec } from "../local-store/record-base64.ts";

/**
 * Standard base64 (RFC 4648 §4, padded), the relay API's encoding of binary values (docs/api.md). The
 * codec comes with the endpoint's transport — Node's Buffer in Node (relay-http.ts), the portable one
 * in the page (relay-fetch.ts, record-base64.ts) — so the CLI's hot path keeps Buffer's speed and the
 * page's bundle names no Buffer. What this adds is the relay's side of trust: decoding is strict — a
 * relay value that is not canonical base64 is `relay_rejected`, never bytes guessed from it (Buffer
 * alone would skip bad characters silently).
 */
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface RelayBase64 {
  encode(bytes: Uint8Array): string;
  /** Throws `relay_rejected` for anything but canonical base64. */
  decode(text: string): Uint8Array;
}

export function relayBase64(codec: Base64Codec): RelayBase64 {
  return {
    encode: codec.encode,
    decode: (text) => {
      if (!CANONICAL.test(text))
        throw new NanoError("relay_rejected", "the relay sent a value that is not base64");
      return codec.decode(text);
    },
  };
}
