import { NanoError } from "../../errors/index.ts";

/**
 * Standard base64 (RFC 4648 §4, padded), the relay API's encoding of binary values (docs/api.md), in
 * both runtimes: the platform's native Uint8Array codec where it exists (Chromium; Node from 25), else
 * Node's Buffer, else atob/btoa. Decoding is strict in every runtime — a relay answer that is not
 * canonical base64 is `relay_rejected`, never bytes guessed from it (Buffer alone would skip bad
 * characters silently).
 */
interface NativeCodec {
  toBase64?: (this: Uint8Array) => string;
}
interface NativeConstructor {
  fromBase64?: (text: string) => Uint8Array;
}
interface BufferLike {
  from(bytes: Uint8Array): { toString(encoding: "base64"): string };
  from(text: string, encoding: "base64"): Uint8Array;
}

const native = Uint8Array.prototype as NativeCodec;
const nativeFrom = (Uint8Array as NativeConstructor).fromBase64;
const nodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  if (native.toBase64 !== undefined) return native.toBase64.call(bytes);
  if (nodeBuffer !== undefined) return nodeBuffer.from(bytes).toString("base64");
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  if (!CANONICAL.test(text))
    throw new NanoError("relay_rejected", "the relay sent a value that is not base64");
  if (nativeFrom !== undefined) return nativeFrom(text);
  if (nodeBuffer !== undefined) return new Uint8Array(nodeBuffer.from(text, "base64"));
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
