import type { ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Reader, Writer } from "./_codec.ts";

/**
 * Ratchet message headers (docs/protocol.md §8.4). The plaintext has a constant size per (suite, KEM
 * flag): KEM slots are present in every header of a KEM-carrying chain and zero-filled when a field is
 * absent, so header size says only "this chain carries KEM material", never which part.
 */
export const KEM_CT_BYTES = 1088;
export const KEM_EK_BYTES = 1184;
const FLAG_CT = 1;
const FLAG_EK = 2;

export interface Header {
  /** Message number in the sending chain. */
  readonly n: number;
  /** Length of the sender's previous sending chain. */
  readonly pn: number;
  /** Sender's ratchet public key of this chain (classical, hybrid). */
  readonly dh: Uint8Array | null;
  /** KEM answer: ciphertext to the receiver's open offer. */
  readonly ct: Uint8Array | null;
  /** KEM offer: the sender's new encapsulation key. */
  readonly ek: Uint8Array | null;
}

export function headerLength(suite: ProviderSuite, kem: boolean): number {
  return 4 + 4 + (suite.agreement ? 32 : 0) + 1 + (kem ? KEM_CT_BYTES + KEM_EK_BYTES : 0);
}

export function encodeHeader(suite: ProviderSuite, header: Header): Uint8Array {
  const kem = header.ct !== null || header.ek !== null;
  if (kem && !suite.ratchetKem) throw new TypeError("classical headers carry no KEM fields");
  if ((header.dh !== null) !== (suite.agreement !== null)) throw new TypeError("header DH key presence");
  const writer = new Writer(headerLength(suite, kem)).u32(header.n).u32(header.pn);
  if (header.dh) writer.bytes(header.dh);
  writer.u8((header.ct ? FLAG_CT : 0) | (header.ek ? FLAG_EK : 0));
  if (kem) {
    if (header.ct) writer.bytes(header.ct);
    else writer.zeros(KEM_CT_BYTES);
    if (header.ek) writer.bytes(header.ek);
    else writer.zeros(KEM_EK_BYTES);
  }
  return writer.finish();
}

/** Decodes a header of the exact size for (suite, kem); zero-filled slots must be zero. */
export function decodeHeader(suite: ProviderSuite, kem: boolean, bytes: Uint8Array): Header {
  if (bytes.length !== headerLength(suite, kem))
    throw new NanoError("malformed", "header has the wrong size");
  const reader = new Reader(bytes);
  const n = reader.u32("n");
  const pn = reader.u32("pn");
  const dh = suite.agreement ? reader.fixed(32, "header DH key") : null;
  const flags = reader.u8("header flags");
  if (flags & ~(FLAG_CT | FLAG_EK)) throw new NanoError("malformed", "unknown header flags");
  if (!kem && flags !== 0) throw new NanoError("malformed", "KEM flags in a header without KEM slots");
  if (kem && flags === 0) throw new NanoError("malformed", "KEM slots without KEM flags");
  let ct: Uint8Array | null = null;
  let ek: Uint8Array | null = null;
  if (kem) {
    ct = flags & FLAG_CT ? reader.fixed(KEM_CT_BYTES, "KEM ciphertext") : skipZeros(reader, KEM_CT_BYTES);
    ek = flags & FLAG_EK ? reader.fixed(KEM_EK_BYTES, "KEM offer") : skipZeros(reader, KEM_EK_BYTES);
  }
  reader.end("header");
  return { n, pn, dh, ct, ek };
}

/** An absent KEM field is checked where it lies and skipped: no copy of a kilobyte of zeros. */
function skipZeros(reader: Reader, count: number): null {
  reader.zeros(count, "an absent KEM field");
  return null;
}
