/**
 * The operations of the browser benchmark (bench/browser.ts), written once over a CryptoProvider so the
 * same code measures node:crypto in Node and both browser providers in Chromium. No `node:` import:
 * this module is bundled into the benchmark page. Wall-clock rates (a page has no CPU clock): samples
 * are taken in turn across operations and the median reported.
 */
import { openAttachment, sealAttachment } from "../src/client/attachments/attachment-stream.ts";
import { utf8 } from "../src/crypto/bytes.ts";
import { DEFAULT_ARGON2ID } from "../src/crypto/password-parameters.ts";
import type { CryptoProvider } from "../src/crypto/provider/index.ts";
import { SUITE_IDS, type SuiteId } from "../src/crypto/suite-ids.ts";
import { makeParty, publishBundle, receive, send, startWith } from "../test/support/conversation.ts";

export interface OperationRate {
  readonly name: string;
  readonly opsPerSec: number;
  readonly spreadPercent: number;
}

type Operation = () => Promise<unknown>;

const STEP_EVERY = 10;

/**
 * One ratchet message of `suiteId` through src/protocol itself: 1 KiB sent by one party and received
 * by the other (encode, pad, header encryption, chain and message keys, the session records decoded
 * and written back per message, as in `npm run bench -- protocol`), the direction changing every
 * STEP_EVERY messages so a DH/KEM ratchet step is part of the rate.
 */
async function ratchetMessage(provider: CryptoProvider, suiteId: SuiteId): Promise<Operation> {
  const now = Date.now();
  const alice = await makeParty(provider, "alice", suiteId, now);
  const bob = await makeParty(provider, "bob", suiteId, now);
  await startWith(alice, await publishBundle(bob, now), now);
  const content = provider.primitives.randomBytes(1024);
  // The first contact and its reply, so every measured message is an established-session message.
  await receive(bob, "alice", await send(alice, "bob", content, now), alice.record, now);
  await receive(alice, "bob", await send(bob, "alice", content, now), bob.record, now);
  let counter = 0;
  return async () => {
    const [from, to] = Math.floor(counter++ / STEP_EVERY) % 2 === 0 ? [alice, bob] : [bob, alice];
    return receive(to, from.name, await send(from, to.name, content, Date.now()), from.record, Date.now());
  };
}

/**
 * Every measured operation, prepared with fresh keys. "hybrid message crypto" is the crypto alone of one
 * 1 KiB hybrid message sent and received with the protocol benchmark's primitive counts (bench/provider.ts
 * says which); "ratchet message" is the whole protocol's (ratchetMessage above).
 */
export async function prepareOperations(provider: CryptoProvider): Promise<[string, Operation][]> {
  const { primitives: p, mlKem768, mlDsa65, x25519 } = provider;
  const kemPair = await mlKem768.keygen();
  const { ciphertext } = await mlKem768.encapsulate(kemPair.publicKey);
  const dsaPair = await mlDsa65.keygen();
  const message = utf8("a prekey or a handshake transcript, about this long: 64 bytes....");
  const context = utf8("nano/v1/sig/prekey");
  const signature = await mlDsa65.sign(dsaPair.seed, message, context);
  const [a, b] = await Promise.all([x25519.keygen(), x25519.keygen()]);
  const key = p.randomBytes(32);
  const nonce = p.randomBytes(12);
  const body = p.randomBytes(1040);
  const header = p.randomBytes(60);
  const ad = p.randomBytes(64);
  const sealedBody = await p.aead.seal(key, nonce, body, ad);
  const sealedHeader = await p.aead.seal(key, nonce, header, ad);
  const info = utf8("nano/v1/ck");
  let counter = 0;
  const hybridMessage = async (): Promise<unknown> => {
    for (let i = 0; i < 4; i++) p.hkdf(key, key, info, 64);
    await p.aead.seal(key, nonce, header, ad);
    await p.aead.seal(key, nonce, body, ad);
    await p.aead.open(key, nonce, sealedHeader, ad);
    const opened = await p.aead.open(key, nonce, sealedBody, ad);
    if (counter++ % STEP_EVERY === 0) {
      if (x25519.generateAndAgree) await x25519.generateAndAgree(b.publicKey);
      else await x25519.agree((await x25519.keygen()).seed, b.publicKey);
      await x25519.agree(a.seed, b.publicKey);
      await mlKem768.keygen();
      await mlKem768.encapsulate(kemPair.publicKey);
      await mlKem768.encapsulate(kemPair.publicKey);
      await mlKem768.decapsulate(kemPair.seed, ciphertext);
    }
    return opened;
  };
  // An attachment of 1 MiB sealed and opened whole through the one STREAM codec (16 chunks, each an
  // AEAD call, and the incremental BLAKE2b over the ciphertext on both sides).
  const file = p.randomBytes(1024 * 1024);
  const attachment = async (): Promise<unknown> => {
    const { ciphertext, reference } = await sealAttachment(p, file, {
      contentType: "application/octet-stream",
    });
    return openAttachment(p, ciphertext, reference, { maxBytes: file.length });
  };
  return [
    ["ML-KEM-768 keygen", () => mlKem768.keygen()],
    ["ML-KEM-768 encapsulate", () => mlKem768.encapsulate(kemPair.publicKey)],
    ["ML-KEM-768 decapsulate", () => mlKem768.decapsulate(kemPair.seed, ciphertext)],
    ["ML-DSA-65 sign", () => mlDsa65.sign(dsaPair.seed, message, context)],
    ["ML-DSA-65 verify", () => mlDsa65.verify(dsaPair.publicKey, message, signature, context)],
    ["X25519 agree", () => x25519.agree(a.seed, b.publicKey)],
    ["ChaCha20-Poly1305 seal 1 KiB", () => p.aead.seal(key, nonce, body, ad)],
    ["hybrid message crypto (send + receive)", hybridMessage],
    ["attachment 1 MiB seal + open", attachment],
    [
      "ratchet message, classical 1 KiB (send + receive)",
      await ratchetMessage(provider, SUITE_IDS.classical),
    ],
    ["ratchet message, hybrid 1 KiB (send + receive)", await ratchetMessage(provider, SUITE_IDS.hybrid)],
    ["ratchet message, quantum 1 KiB (send + receive)", await ratchetMessage(provider, SUITE_IDS.quantum)],
  ];
}

/** Operations of a second or more: measured with one short round (bench/browser.ts). */
export function heavyOperations(provider: CryptoProvider): [string, Operation][] {
  const { primitives: p } = provider;
  const salt = p.randomBytes(16);
  return [
    [
      `argon2id keystore unlock (${DEFAULT_ARGON2ID.memoryKiB / 1024} MiB, ${DEFAULT_ARGON2ID.passes} passes)`,
      () => p.argon2id(utf8("correct horse battery staple"), salt, DEFAULT_ARGON2ID),
    ],
  ];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1]!;
}

/** Rates of every operation: `samples` rounds, each operation run for `sampleMs` in turn. */
export async function measureOperations(
  operations: readonly [string, Operation][],
  sampleMs: number,
  samples: number,
): Promise<OperationRate[]> {
  for (const [, operation] of operations) {
    const end = performance.now() + sampleMs / 2;
    while (performance.now() < end) await operation();
  }
  const rates = operations.map((): number[] => []);
  for (let round = 0; round < samples; round++) {
    for (const [index, [, operation]] of operations.entries()) {
      let ops = 0;
      const start = performance.now();
      let now = start;
      while (now - start < sampleMs || ops < 2) {
        await operation();
        ops++;
        now = performance.now();
      }
      rates[index]!.push((ops * 1000) / (now - start));
    }
  }
  return operations.map(([name], index) => {
    const values = rates[index]!;
    const mid = median(values);
    return { name, opsPerSec: mid, spreadPercent: ((Math.max(...values) - Math.min(...values)) / mid) * 100 };
  });
}
