import { utf8 } from "../crypto/bytes.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";

/**
 * The page's start-up self-test: each suite signs and verifies (and refuses a changed message), each
 * suite's sealing KEM and the ratchet's KEM round-trip, and the AEAD refuses a changed byte. It proves
 * the pipeline (build, same-origin serving, CSP, SRI, provider) end to end; correctness against the
 * official vectors is the test suite's job (test/browser/crypto-provider.test.ts).
 */
export interface SelfTestStep {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function step(name: string, body: () => Promise<boolean>): Promise<SelfTestStep> {
  const started = performance.now();
  try {
    const ok = await body();
    return { name, ok, detail: `${(performance.now() - started).toFixed(1)} ms` };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

export async function runSelfTest(provider: CryptoProvider): Promise<readonly SelfTestStep[]> {
  const message = utf8("nano self-test");
  const context = utf8("nano/v1/sig/prekey");
  const steps: SelfTestStep[] = [];
  for (const suite of provider.suites) {
    steps.push(
      await step(`${suite.name}: ${suite.signature.name} signature`, async () => {
        const pair = await suite.signature.keygen();
        const signature = await suite.signature.sign(pair.seed, message, context);
        const changed = message.slice();
        changed[0]! ^= 1;
        return (
          (await suite.signature.verify(pair.publicKey, message, signature, context)) &&
          !(await suite.signature.verify(pair.publicKey, changed, signature, context))
        );
      }),
      await step(`${suite.name}: ${suite.kem.name} sealing`, async () => {
        const pair = await suite.kem.keygen();
        const { sharedSecret, ciphertext } = await suite.kem.encapsulate(pair.publicKey);
        return same(await suite.kem.decapsulate(pair.seed, ciphertext), sharedSecret);
      }),
    );
  }
  steps.push(
    await step("ChaCha20-Poly1305 refuses a changed byte", async () => {
      const key = provider.primitives.randomBytes(32);
      const nonce = provider.primitives.randomBytes(12);
      const sealed = await provider.primitives.aead.seal(key, nonce, message, context);
      const opened = await provider.primitives.aead.open(key, nonce, sealed, context);
      sealed[0]! ^= 1;
      return (
        opened !== null &&
        same(opened, message) &&
        (await provider.primitives.aead.open(key, nonce, sealed, context)) === null
      );
    }),
  );
  return steps;
}
