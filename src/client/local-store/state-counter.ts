import { utf8 } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * The local state counter (state-anchor.ts has the why): its meta row name, its 8-byte encoding, the
 * anchor's sealed row identity and the refusal. Node-free: the browser store keeps the same counter.
 */
export const STATE_COUNTER_META = "state-version";
export const ANCHOR_TABLE = "anchor";
export const ANCHOR_ROW = utf8(STATE_COUNTER_META);

export function encodeCounter(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function decodeCounter(bytes: Uint8Array): number {
  if (bytes.length !== 8)
    throw new NanoError("local_record_tampered", "the local state counter is malformed");
  const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NanoError("local_record_tampered", "the local state counter is out of range");
  }
  return Number(value);
}

export function rolledBack(found: number, expected: number): NanoError {
  return new NanoError(
    "local_state_rolled_back",
    `the local state was restored from an older copy: its state counter is ${found}, this home last committed ${expected}; it is not used, so no message is sent again from an old chain position`,
  );
}
