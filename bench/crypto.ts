// `npm run bench -- crypto [--quick] [--only TEXT]`: operations per second of every primitive in
// src/crypto and of each suite's operations, with each suite's ratio to classical measured in the same
// run. Prints a table and writes bench/results/crypto-<timestamp>.json and crypto-latest.json.
import { createCipheriv, hkdfSync } from "node:crypto";
import { clearPublicKeyCache, publicKeyFromRaw } from "../src/crypto/_key-objects.ts";
import {
  aeadOpen,
  aeadSeal,
  argon2id,
  blake2b,
  DEFAULT_ARGON2ID,
  ed25519,
  generateSuiteKeys,
  hkdf,
  mlDsa65,
  mlDsa65Ed25519,
  mlKem768,
  randomBytes,
  SUITES,
  type Suite,
  utf8,
  x25519,
  x25519Kem,
  xWing,
} from "../src/crypto/index.ts";
import {
  type Candidate,
  FULL,
  formatTable,
  type Measurement,
  type MeasureOptions,
  machineInfo,
  measure,
  measureAsync,
  measureInterleaved,
  printMachine,
  QUICK,
  relateTo,
  writeResults,
} from "./_harness.ts";

const KIB = 1024;
const MIB = 1024 * 1024;
const MESSAGE = randomBytes(256);
const CONTEXT = utf8("nano/v1/sig/bench");

interface Plan {
  readonly options: MeasureOptions;
  readonly only: string | null;
  readonly results: Measurement[];
}

function wanted(plan: Plan, group: string, name: string): boolean {
  return plan.only === null || `${group} ${name}`.toLowerCase().includes(plan.only);
}

function add(
  plan: Plan,
  group: string,
  name: string,
  operation: () => unknown,
  bytesPerOp: number | null = null,
) {
  if (!wanted(plan, group, name)) return;
  const result = measure(group, name, operation, plan.options, bytesPerOp);
  plan.results.push(result);
  process.stderr.write(`  ${group} ${name}: ${Math.round(result.opsPerSec)} ops/s\n`);
}

function primitives(plan: Plan): void {
  const x = x25519.keygen();
  const xPeer = x25519.keygen();
  add(plan, "X25519", "keygen", () => x25519.keygen());
  add(plan, "X25519", "agree", () => x25519.agree(x.seed, xPeer.publicKey));

  const ed = ed25519.keygen();
  const edSignature = ed25519.sign(ed.seed, MESSAGE, CONTEXT);
  add(plan, "Ed25519", "keygen", () => ed25519.keygen());
  add(plan, "Ed25519", "sign", () => ed25519.sign(ed.seed, MESSAGE, CONTEXT));
  add(plan, "Ed25519", "verify", () => ed25519.verify(ed.publicKey, MESSAGE, edSignature, CONTEXT));

  const kem = mlKem768.keygen();
  const kemCt = mlKem768.encapsulate(kem.publicKey).ciphertext;
  add(plan, "ML-KEM-768", "keygen", () => mlKem768.keygen());
  add(plan, "ML-KEM-768", "encapsulate", () => mlKem768.encapsulate(kem.publicKey));
  add(plan, "ML-KEM-768", "decapsulate", () => mlKem768.decapsulate(kem.seed, kemCt));

  const dsa = mlDsa65.keygen();
  const dsaSignature = mlDsa65.sign(dsa.seed, MESSAGE, CONTEXT);
  add(plan, "ML-DSA-65", "keygen", () => mlDsa65.keygen());
  add(plan, "ML-DSA-65", "sign", () => mlDsa65.sign(dsa.seed, MESSAGE, CONTEXT));
  add(plan, "ML-DSA-65", "verify", () => mlDsa65.verify(dsa.publicKey, MESSAGE, dsaSignature, CONTEXT));

  const xw = xWing.keygen();
  const xwCt = xWing.encapsulate(xw.publicKey).ciphertext;
  add(plan, "X-Wing", "keygen", () => xWing.keygen());
  add(plan, "X-Wing", "encapsulate", () => xWing.encapsulate(xw.publicKey));
  add(plan, "X-Wing", "decapsulate", () => xWing.decapsulate(xw.seed, xwCt));

  const composite = mlDsa65Ed25519.keygen();
  const compositeSignature = mlDsa65Ed25519.sign(composite.seed, MESSAGE, CONTEXT);
  add(plan, "ML-DSA-65+Ed25519", "keygen", () => mlDsa65Ed25519.keygen());
  add(plan, "ML-DSA-65+Ed25519", "sign", () => mlDsa65Ed25519.sign(composite.seed, MESSAGE, CONTEXT));
  add(plan, "ML-DSA-65+Ed25519", "verify", () =>
    mlDsa65Ed25519.verify(composite.publicKey, MESSAGE, compositeSignature, CONTEXT),
  );

  const xk = x25519Kem.keygen();
  const xkCt = x25519Kem.encapsulate(xk.publicKey).ciphertext;
  add(plan, "X25519-KEM", "encapsulate", () => x25519Kem.encapsulate(xk.publicKey));
  add(plan, "X25519-KEM", "decapsulate", () => x25519Kem.decapsulate(xk.seed, xkCt));

  const kib = randomBytes(KIB);
  add(plan, "BLAKE2b-512", "hash 1 KiB", () => blake2b(kib), KIB);
  const ikm = randomBytes(64);
  const salt = randomBytes(64);
  const info = randomBytes(200);
  // 44 bytes = ChaCha20-Poly1305 key || nonce, the message-key expansion of DESIGN.md.
  add(plan, "HKDF-BLAKE2b", "extract+expand 44 B", () => hkdf(ikm, salt, info, 44));
}

async function passwordHashing(plan: Plan): Promise<void> {
  const group = "argon2id";
  const name = `${DEFAULT_ARGON2ID.memoryKiB / 1024} MiB, t=${DEFAULT_ARGON2ID.passes}, p=${DEFAULT_ARGON2ID.parallelism}`;
  if (!wanted(plan, group, name)) return;
  const passphrase = utf8("correct horse battery staple");
  const salt = randomBytes(16);
  // Each call takes a good fraction of a second: no warm-up beyond one call, a few calls per sample.
  const options = {
    ...plan.options,
    warmupMs: 0,
    sampleMs: 0,
    minOpsPerSample: plan.options === QUICK ? 1 : 2,
  };
  const result = await measureAsync(group, name, () => argon2id(passphrase, salt, DEFAULT_ARGON2ID), options);
  plan.results.push(result);
  process.stderr.write(`  ${group}: ${result.opsPerSec.toFixed(2)} ops/s\n`);
}

interface SuiteCandidate extends Candidate {
  /** What is compared across suites: the operation without its algorithm ("sign", "KEM encapsulate"). */
  readonly kind: string;
}

/** One suite's operations, prepared (keys generated) but not yet measured. */
function suiteCandidates(suite: Suite): SuiteCandidate[] {
  const group = `suite ${suite.name}`;
  const out: SuiteCandidate[] = [];
  const push = (kind: string, detail: string, operation: () => unknown, bytesPerOp: number | null = null) =>
    out.push({ group, kind, name: detail ? `${kind} (${detail})` : kind, operation, bytesPerOp });

  push("keygen", "all identity keys", () => generateSuiteKeys(suite));
  const keys = generateSuiteKeys(suite);
  const { ciphertext } = suite.kem.encapsulate(keys.kem.publicKey);
  push("KEM encapsulate", suite.kem.name, () => suite.kem.encapsulate(keys.kem.publicKey));
  push("KEM decapsulate", suite.kem.name, () => suite.kem.decapsulate(keys.kem.seed, ciphertext));
  if (suite.agreement && keys.agreement) {
    const agreement = suite.agreement;
    const seed = keys.agreement.seed;
    const peer = agreement.keygen().publicKey;
    push("DH agree", agreement.name, () => agreement.agree(seed, peer));
  }
  const { signature: scheme } = suite;
  const signature = scheme.sign(keys.signature.seed, MESSAGE, CONTEXT);
  push("sign", scheme.name, () => scheme.sign(keys.signature.seed, MESSAGE, CONTEXT));
  push("verify", scheme.name, () => scheme.verify(keys.signature.publicKey, MESSAGE, signature, CONTEXT));

  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const ad = randomBytes(64);
  for (const [label, size] of [
    ["1 KiB", KIB],
    ["1 MiB", MIB],
  ] as const) {
    const plaintext = randomBytes(size);
    const sealOpen = () => aeadOpen(key, nonce, aeadSeal(key, nonce, plaintext, ad), ad);
    push(`AEAD seal+open ${label}`, "", sealOpen, size);
  }
  return out;
}

/**
 * Each kind of operation is measured for all suites with interleaved samples, then related to classical.
 * Rows are printed suite by suite.
 */
function suites(plan: Plan): void {
  const all = SUITES.flatMap(suiteCandidates).filter((c) => wanted(plan, c.group, c.name));
  const kinds = [...new Set(all.map((c) => c.kind))];
  const measured = new Map<SuiteCandidate, Measurement>();
  for (const kind of kinds) {
    const same = all.filter((c) => c.kind === kind);
    const results = measureInterleaved(same, plan.options);
    for (const [index, candidate] of same.entries()) measured.set(candidate, results[index]!);
    const baseline = results.find((m) => m.group === "suite classical");
    for (const m of results) relateTo(m, baseline, "classical");
    process.stderr.write(
      `  suites ${kind}: ${results.map((m) => Math.round(m.opsPerSec)).join(" / ")} ops/s\n`,
    );
  }
  for (const candidate of all) plan.results.push(measured.get(candidate)!);
}

/**
 * What src/crypto does to cut per-call setup (docs/benchmarks.md, "Protocol"), each measured against
 * the naive way in the same run with interleaved samples: secret KeyObjects instead of raw key bytes
 * for HKDF and the AEAD, the public-key import cache, and X25519 keygen+agree in one call.
 */
function keyHandling(plan: Plan): void {
  const key = randomBytes(32);
  const info = randomBytes(40);
  const empty = new Uint8Array(0);
  const nonce = randomBytes(12);
  const plaintext = randomBytes(KIB);
  const ad = randomBytes(64);
  const naiveSeal = () => {
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    return [cipher.update(plaintext), cipher.final(), cipher.getAuthTag()];
  };
  const peer = x25519.keygen().publicKey;
  const generateAndAgree = x25519.generateAndAgree!;
  const pairs: [string, string, () => unknown, string, () => unknown][] = [
    [
      "HKDF-BLAKE2b 64 B",
      "raw key bytes (node direct)",
      () => hkdfSync("blake2b512", key, empty, info, 64),
      "hkdf() (secret KeyObject)",
      () => hkdf(key, empty, info, 64),
    ],
    [
      "ChaCha20-Poly1305 seal 1 KiB",
      "raw key bytes (node direct)",
      naiveSeal,
      "aeadSeal() (secret KeyObject)",
      () => aeadSeal(key, nonce, plaintext, ad),
    ],
    [
      "X25519 public key import",
      "cold (cache cleared)",
      () => {
        clearPublicKeyCache();
        return publicKeyFromRaw("x25519", peer);
      },
      "cached",
      () => publicKeyFromRaw("x25519", peer),
    ],
    [
      "X25519 ratchet send step",
      "keygen + agree",
      () => x25519.agree(x25519.keygen().seed, peer),
      "generateAndAgree",
      () => generateAndAgree(peer),
    ],
  ];
  for (const [group, naiveName, naive, oursName, ours] of pairs) {
    if (!wanted(plan, group, naiveName) && !wanted(plan, group, oursName)) continue;
    const [before, after] = measureInterleaved(
      [
        { group, name: naiveName, operation: naive, bytesPerOp: null },
        { group, name: oursName, operation: ours, bytesPerOp: null },
      ],
      plan.options,
    ) as [Measurement, Measurement];
    relateTo(after, before, "naive");
    plan.results.push(before, after);
    process.stderr.write(
      `  ${group}: ${Math.round(before.microsPerOp * 10) / 10} -> ${Math.round(after.microsPerOp * 10) / 10} us\n`,
    );
  }
  clearPublicKeyCache();
}

function parseArgs(args: readonly string[]): { quick: boolean; only: string | null } {
  let quick = false;
  let only: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") quick = true;
    else if (arg === "--only" && args[i + 1] !== undefined) only = args[++i]!.toLowerCase();
    else throw new Error(`bench crypto: unknown argument ${arg} (use --quick, --only TEXT)`);
  }
  return { quick, only };
}

export async function run(args: string[]): Promise<void> {
  const { quick, only } = parseArgs(args);
  const plan: Plan = { options: quick ? QUICK : FULL, only, results: [] };
  const machine = machineInfo();
  printMachine(machine);
  process.stderr.write(`measuring (${quick ? "quick" : "full"} run)...\n`);

  primitives(plan);
  await passwordHashing(plan);
  keyHandling(plan);
  suites(plan);

  process.stdout.write(`\n${formatTable(plan.results)}\n\n`);
  const path = writeResults("crypto", machine, { ...plan.options, quick }, plan.results);
  process.stdout.write(`results: ${path} (and crypto-latest.json)\n`);
}
