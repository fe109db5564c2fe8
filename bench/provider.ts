// `npm run bench -- provider [--quick]`: what the asynchronous crypto provider costs on Node, per
// hybrid message (docs/web.md "Sync or async"). One "message" is the crypto of a 1 KiB hybrid message
// sent and received, with the primitive counts of the protocol benchmark's breakdown
// (bench/_protocol-breakdown.ts): per message 4 HKDF-BLAKE2b (two chain steps, two body key||nonce
// derivations), 2 AEAD seals and 2 opens (header and padded body); every 10th message is a ratchet
// step: X25519 keygen+agree (sender) and agree (receiver), ML-KEM-768 keygen (new offer), two
// encapsulations (trial and answer) and a decapsulation. Three variants, measured in turn:
//   sync      today's src/crypto, called directly;
//   provider  the same primitives through nodeProvider: AEAD and asymmetric awaited, hashes/HKDF sync;
//   all-async as provider, and every HKDF awaited too (what making the hashes async would add).
// Reported in CPU µs per message (minimum over samples), so the shared machine's load does not count.
import { aeadOpen, aeadSeal, hkdf, mlKem768, randomBytes, utf8, x25519 } from "../src/crypto/index.ts";
import { nodeProvider } from "../src/crypto/node-provider.ts";
import {
  formatTable,
  type Measurement,
  machineInfo,
  printMachine,
  relateTo,
  writeResults,
} from "./_harness.ts";

const STEP_EVERY = 10;
const key = randomBytes(32);
const nonce = randomBytes(12);
const info = utf8("nano/v1/ck");
const header = randomBytes(60);
const body = randomBytes(1040);
const headerAd = randomBytes(14);
const bodyAd = randomBytes(250);
const sealedHeader = aeadSeal(key, nonce, header, headerAd);
const sealedBody = aeadSeal(key, nonce, body, bodyAd);
const peer = x25519.keygen();
const own = x25519.keygen();
const offer = mlKem768.keygen();
const { ciphertext } = mlKem768.encapsulate(offer.publicKey);

function syncMessage(index: number): unknown {
  for (let i = 0; i < 4; i++) hkdf(key, key, info, 64);
  aeadSeal(key, nonce, header, headerAd);
  aeadSeal(key, nonce, body, bodyAd);
  aeadOpen(key, nonce, sealedHeader, headerAd);
  const opened = aeadOpen(key, nonce, sealedBody, bodyAd);
  if (index % STEP_EVERY === 0) {
    x25519.generateAndAgree!(peer.publicKey);
    x25519.agree(own.seed, peer.publicKey);
    mlKem768.keygen();
    mlKem768.encapsulate(offer.publicKey);
    mlKem768.encapsulate(offer.publicKey);
    mlKem768.decapsulate(offer.seed, ciphertext);
  }
  return opened;
}

const { primitives } = nodeProvider;
const asyncHkdf = async (): Promise<Uint8Array> => primitives.hkdf(key, key, info, 64);

async function providerMessage(index: number, hashesAsync: boolean): Promise<unknown> {
  for (let i = 0; i < 4; i++) {
    if (hashesAsync) await asyncHkdf();
    else primitives.hkdf(key, key, info, 64);
  }
  await primitives.aead.seal(key, nonce, header, headerAd);
  await primitives.aead.seal(key, nonce, body, bodyAd);
  await primitives.aead.open(key, nonce, sealedHeader, headerAd);
  const opened = await primitives.aead.open(key, nonce, sealedBody, bodyAd);
  if (index % STEP_EVERY === 0) {
    await nodeProvider.x25519.generateAndAgree!(peer.publicKey);
    await nodeProvider.x25519.agree(own.seed, peer.publicKey);
    await nodeProvider.mlKem768.keygen();
    await nodeProvider.mlKem768.encapsulate(offer.publicKey);
    await nodeProvider.mlKem768.encapsulate(offer.publicKey);
    await nodeProvider.mlKem768.decapsulate(offer.seed, ciphertext);
  }
  return opened;
}

/**
 * CPU microseconds per message, the minimum over samples of `messages` messages each (a multiple of
 * the step period, so every sample has the same mix). CPU time, not wall-clock: it does not count the
 * time this process waits for a core, so on a machine shared with other engineers it measures the work
 * rather than the queue (the protocol breakdown's method).
 */
async function cpuMicrosPerMessage(
  operation: () => Promise<unknown>,
  messages: number,
  samples: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const start = process.cpuUsage();
    for (let i = 0; i < messages; i++) await operation();
    const used = process.cpuUsage(start);
    out.push((used.user + used.system) / messages);
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const machine = machineInfo();
  printMachine(machine);
  let counter = 0;
  const variants: [string, () => Promise<unknown>][] = [
    ["sync (src/crypto today)", async () => syncMessage(counter++)],
    ["provider (AEAD + asymmetric async)", () => providerMessage(counter++, false)],
    ["all-async (HKDF async too)", () => providerMessage(counter++, true)],
  ];
  const messages = quick ? 100 : 400;
  const rounds = quick ? 5 : 15;
  for (const [, operation] of variants) await cpuMicrosPerMessage(operation, messages, 2); // warm-up
  // Rounds in turn, so a burst of load lands on every variant alike; the minimum per variant.
  const samples = variants.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, operation]] of variants.entries()) {
      samples[index]!.push(...(await cpuMicrosPerMessage(operation, messages, 1)));
    }
  }
  const measurements: Measurement[] = variants.map(([name], index) => {
    const values = samples[index]!;
    const best = Math.min(...values);
    const worst = Math.max(...values);
    return {
      group: "hybrid 1 KiB message crypto (CPU)",
      name,
      opsPerSec: 1e6 / best,
      microsPerOp: best,
      bytesPerOp: null,
      megabytesPerSec: null,
      spreadPercent: ((worst - best) / best) * 100,
      totalOps: values.length * messages,
      ratio: null,
      ratioTo: null,
    };
  });
  for (const m of measurements.slice(1)) relateTo(m, measurements[0], "sync");
  process.stdout.write(`${formatTable(measurements)}\n`);
  const [sync, provider, allAsync] = measurements.map((m) => m.microsPerOp) as [number, number, number];
  process.stdout.write(
    `async cost per message (CPU): provider +${(provider - sync).toFixed(2)} µs, all-async +${(allAsync - sync).toFixed(2)} µs; ` +
      `sync crypto ${sync.toFixed(1)} µs per message\n`,
  );
  const options = { warmupMs: 0, sampleMs: 0, samples: rounds, minOpsPerSample: messages, quick };
  process.stdout.write(`results: ${writeResults("provider", machine, options, measurements)}\n`);
}
