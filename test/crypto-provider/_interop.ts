/**
 * Interoperability between two providers in two runtimes (node:crypto/OpenSSL in Node against
 * WebCrypto/BoringSSL and @noble in Chromium): each side publishes what it made from shared seeds —
 * public keys, signatures, KEM ciphertexts to the shared keys, agreements, AEAD output, HKDF and BLAKE2b
 * — and the other side must derive the same public keys and deterministic outputs, verify every
 * signature and decapsulate every ciphertext to the same secret. No `node:` import: bundled into the page.
 */
import { fromHex, toHex, utf8 } from "../../src/crypto/bytes.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { check, equalBytes } from "./_check.ts";

export interface InteropSuiteEntry {
  readonly suite: string;
  readonly signaturePublicKey: string;
  readonly signature: string;
  readonly kemPublicKey: string;
  readonly ciphertext: string;
  readonly sharedSecret: string;
  readonly agreement: string | null;
}

export interface InteropSet {
  readonly by: string;
  readonly suites: readonly InteropSuiteEntry[];
  readonly sealed: string;
  readonly hkdf: string;
  readonly blake2b: string;
  readonly sha256: string;
}

const MESSAGE = utf8("nano interop: the same bytes in every runtime");
const CONTEXT = utf8("nano/v1/sig/identity-record");

/** Seeds both sides derive alike: BLAKE2b of a label, cut to the length. */
function seed(provider: CryptoProvider, label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let counter = 0;
  for (let offset = 0; offset < length; offset += 64) {
    out.set(
      provider.primitives.blake2b(utf8(`${label}/${counter++}`)).subarray(0, Math.min(64, length - offset)),
      offset,
    );
  }
  return out;
}

const key = (p: CryptoProvider) => seed(p, "aead-key", 32);
const nonce = (p: CryptoProvider) => seed(p, "aead-nonce", 12);

export async function makeInteropSet(provider: CryptoProvider): Promise<InteropSet> {
  const suites: InteropSuiteEntry[] = [];
  for (const suite of provider.suites) {
    const signer = await suite.signature.keygen(
      seed(provider, `${suite.name}/sig`, suite.signature.lengths.seed),
    );
    const recipient = await suite.kem.keygen(seed(provider, `${suite.name}/kem`, suite.kem.lengths.seed));
    const { ciphertext, sharedSecret } = await suite.kem.encapsulate(recipient.publicKey);
    let agreement: string | null = null;
    if (suite.agreement !== null) {
      const a = seed(provider, `${suite.name}/dh-a`, 32);
      const b = await suite.agreement.keygen(seed(provider, `${suite.name}/dh-b`, 32));
      agreement = toHex(await suite.agreement.agree(a, b.publicKey));
    }
    suites.push({
      suite: suite.name,
      signaturePublicKey: toHex(signer.publicKey),
      signature: toHex(await suite.signature.sign(signer.seed, MESSAGE, CONTEXT)),
      kemPublicKey: toHex(recipient.publicKey),
      ciphertext: toHex(ciphertext),
      sharedSecret: toHex(sharedSecret),
      agreement,
    });
  }
  const p = provider.primitives;
  return {
    by: provider.name,
    suites,
    sealed: toHex(await p.aead.seal(key(provider), nonce(provider), MESSAGE, CONTEXT)),
    hkdf: toHex(p.hkdf(key(provider), nonce(provider), CONTEXT, 100)),
    blake2b: toHex(p.blake2b(MESSAGE, CONTEXT)),
    sha256: toHex(p.sha256(MESSAGE, CONTEXT)),
  };
}

/** Checks another runtime's set with this provider; returns how many values were checked. */
export async function checkInteropSet(provider: CryptoProvider, other: InteropSet): Promise<number> {
  let checked = 0;
  const ours = await makeInteropSet(provider);
  check(other.suites.length === provider.suites.length, `${other.by}: ${other.suites.length} suites`);
  for (const [index, theirs] of other.suites.entries()) {
    const suite = provider.suites[index]!;
    const mine = ours.suites[index]!;
    check(theirs.suite === suite.name, `suite order: ${theirs.suite}`);
    const what = `${suite.name} from ${other.by}`;
    equalBytes(
      fromHex(theirs.signaturePublicKey),
      fromHex(mine.signaturePublicKey),
      `${what}: signature public key`,
    );
    equalBytes(fromHex(theirs.kemPublicKey), fromHex(mine.kemPublicKey), `${what}: KEM public key`);
    check(
      await suite.signature.verify(
        fromHex(theirs.signaturePublicKey),
        MESSAGE,
        fromHex(theirs.signature),
        CONTEXT,
      ),
      `${what}: signature does not verify`,
    );
    const kemSeed = seed(provider, `${suite.name}/kem`, suite.kem.lengths.seed);
    equalBytes(
      await suite.kem.decapsulate(kemSeed, fromHex(theirs.ciphertext)),
      fromHex(theirs.sharedSecret),
      `${what}: decapsulation`,
    );
    if (suite.agreement !== null) {
      check(theirs.agreement !== null, `${what}: no agreement`);
      equalBytes(fromHex(theirs.agreement), fromHex(mine.agreement!), `${what}: X25519`);
    }
    checked += 5;
  }
  equalBytes(fromHex(other.sealed), fromHex(ours.sealed), `AEAD from ${other.by}`);
  const opened = await provider.primitives.aead.open(
    key(provider),
    nonce(provider),
    fromHex(other.sealed),
    CONTEXT,
  );
  equalBytes(opened, MESSAGE, `AEAD open from ${other.by}`);
  equalBytes(fromHex(other.hkdf), fromHex(ours.hkdf), `HKDF from ${other.by}`);
  equalBytes(fromHex(other.blake2b), fromHex(ours.blake2b), `BLAKE2b from ${other.by}`);
  equalBytes(fromHex(other.sha256), fromHex(ours.sha256), `SHA-256 from ${other.by}`);
  return checked + 5;
}
