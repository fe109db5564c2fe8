/**
 * Known-answer checks of a crypto provider against ../shared/vectors, the same code in Node and in
 * Chromium (test/crypto-provider/*.test.ts run it with every provider; test/browser runs it in the
 * page). Nothing here imports `node:` or uses Buffer. Each check returns its tally of outcomes, and
 * fails when an outcome it must see is missing (a loader that finds zero vectors fails: STYLE.md 8).
 */
import { concatBytes, fromHex } from "../../src/crypto/bytes.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import type {
  AeadGroup,
  AeadTest,
  EddsaGroup,
  EddsaTest,
  MlDsaSignSeedGroup,
  MlDsaSignTest,
  MlDsaVerifyGroup,
  MlDsaVerifyTest,
  MlKemDecapsGroup,
  MlKemDecapsTest,
  MlKemEncapsGroup,
  MlKemEncapsTest,
  MlKemKeygenGroup,
  MlKemKeygenTest,
  WycheproofFile,
  WycheproofGroup,
  WycheproofTest,
  XdhGroup,
  XdhTest,
} from "../support/wycheproof.ts";
import { check, equalBytes, rejectsWith, Tally } from "./_check.ts";

/** Reads a vector file (a path below ../shared/vectors) as parsed JSON: node:fs in Node, fetch in the page. */
export type VectorLoader = (path: string) => Promise<unknown>;

export interface ProviderCheck {
  readonly name: string;
  run(provider: CryptoProvider, load: VectorLoader): Promise<Tally>;
}

const hex = (text: string): Uint8Array => fromHex(text);

function base64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const hasFlag = (test: WycheproofTest, flag: string): boolean => test.flags?.includes(flag) ?? false;

/** Every (group, test) of a Wycheproof file; its declared count must match and be non-zero. */
async function cases<T extends WycheproofTest, G extends WycheproofGroup<T>>(
  load: VectorLoader,
  file: string,
): Promise<{ group: G; test: T; name: string }[]> {
  const data = (await load(`wycheproof/${file}`)) as WycheproofFile<G>;
  const out: { group: G; test: T; name: string }[] = [];
  for (const group of data.testGroups) {
    for (const test of group.tests) out.push({ group, test, name: `${file} tcId ${test.tcId}` });
  }
  check(
    out.length > 0 && out.length === data.numberOfTests,
    `${file}: ${out.length} of ${data.numberOfTests} cases`,
  );
  return out;
}

const blake2b: ProviderCheck = {
  name: "BLAKE2b-512, one-shot and incremental (blake2/blake2b-kat.json, unkeyed)",
  async run(provider, load) {
    const tally = new Tally();
    const entries = (await load("blake2/blake2b-kat.json")) as {
      hash: string;
      in: string;
      key: string;
      out: string;
    }[];
    for (const [index, entry] of entries.entries()) {
      if (entry.hash !== "blake2b" || entry.key !== "") continue;
      const input = hex(entry.in);
      equalBytes(provider.primitives.blake2b(input), hex(entry.out), `blake2b #${index}`);
      tally.count("unkeyed");
      // The incremental form, fed in pieces that cross BLAKE2b's 128-byte blocks at varying points
      // (an empty piece included), must give the same known answer.
      const incremental = provider.primitives.blake2bIncremental();
      const step = 1 + (index % 7);
      incremental.update(new Uint8Array(0));
      for (let at = 0; at < input.length; at += step) incremental.update(input.subarray(at, at + step));
      equalBytes(incremental.digest(), hex(entry.out), `incremental blake2b #${index}`);
      tally.count("incremental");
    }
    // Past the vectors' 255 bytes: a megabyte in uneven pieces equals the one-shot digest.
    const large = new Uint8Array(1 << 20).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
    const pieces = provider.primitives.blake2bIncremental();
    for (let at = 0, size = 1; at < large.length; at += size, size = 1 + ((size * 3 + 17) % 70_001))
      pieces.update(large.subarray(at, at + size));
    equalBytes(pieces.digest(), provider.primitives.blake2b(large), "incremental blake2b over 1 MiB");
    tally.count("incremental 1 MiB");
    return tally.require("unkeyed", "incremental", "incremental 1 MiB");
  },
};

/**
 * SHA-256 through the Merkle tree constants of transparency-dev/merkle (merkle/tree-constants.json):
 * every leaf hash is SHA-256(0x00 || input), every interior node SHA-256(0x01 || left || right), and the
 * root of every size; the empty string's hash is the empty tree's root (RFC 9162 2.1.1).
 */
const sha256: ProviderCheck = {
  name: "SHA-256 (merkle/tree-constants.json: RFC 9162 leaf, node and root hashes)",
  async run({ primitives: p }, load) {
    const tally = new Tally();
    const tree = (await load("merkle/tree-constants.json")) as {
      leafInputsHex: string[];
      nodeHashesByLevelHex: string[][];
      rootHashesBySizeHex: string[];
    };
    equalBytes(
      p.sha256(),
      hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      "SHA-256 of the empty string",
    );
    tally.count("empty");
    for (const [i, input] of tree.leafInputsHex.entries()) {
      equalBytes(p.sha256(Uint8Array.of(0), hex(input)), hex(tree.nodeHashesByLevelHex[0]![i]!), `leaf ${i}`);
      tally.count("leaf");
    }
    for (let level = 1; level < tree.nodeHashesByLevelHex.length; level++) {
      const below = tree.nodeHashesByLevelHex[level - 1]!;
      for (const [i, node] of tree.nodeHashesByLevelHex[level]!.entries()) {
        // One input split over three parts and the same bytes in one part must agree.
        const parts = [Uint8Array.of(1), hex(below[2 * i]!), hex(below[2 * i + 1]!)];
        equalBytes(p.sha256(...parts), hex(node), `node ${level}/${i}`);
        equalBytes(p.sha256(concatBytes(...parts)), hex(node), `node ${level}/${i}, one part`);
        tally.count("node");
      }
    }
    const top = tree.nodeHashesByLevelHex.at(-1)!;
    equalBytes(
      hex(tree.rootHashesBySizeHex.at(-1)!),
      hex(top[0]!),
      "the complete tree's root is the top node",
    );
    return tally.require("empty", "leaf", "node");
  },
};

const chacha: ProviderCheck = {
  name: "ChaCha20-Poly1305 (Wycheproof)",
  async run({ primitives: { aead } }, load) {
    const tally = new Tally();
    for (const { test: v, name } of await cases<AeadTest, AeadGroup>(load, "chacha20_poly1305_test.json")) {
      const [key, nonce, aad, msg] = [hex(v.key), hex(v.iv), hex(v.aad), hex(v.msg)];
      const sealed = concatBytes(hex(v.ct), hex(v.tag));
      if (key.length !== 32 || nonce.length !== 12) {
        await rejectsWith(() => aead.seal(key, nonce, msg, aad), "invalid_length", name);
        await rejectsWith(() => aead.open(key, nonce, sealed, aad), "invalid_length", name);
        tally.count("other-size-invalid_length");
      } else if (v.result === "valid") {
        equalBytes(await aead.seal(key, nonce, msg, aad), sealed, `${name}: seal`);
        const opened = await aead.open(key, nonce, sealed, aad);
        check(opened !== null, `${name}: open`);
        equalBytes(opened, msg, `${name}: open`);
        tally.count("valid");
      } else {
        check((await aead.open(key, nonce, sealed, aad)) === null, `${name}: forged input opened`);
        tally.count("invalid-null");
      }
    }
    return tally.require("valid", "invalid-null", "other-size-invalid_length");
  },
};

const x25519: ProviderCheck = {
  name: "X25519 (Wycheproof): valid exact, low-order refused, other acceptable accepted",
  async run({ x25519: agreement }, load) {
    const tally = new Tally();
    for (const { test: v, name } of await cases<XdhTest, XdhGroup>(load, "x25519_test.json")) {
      const expected = hex(v.shared);
      const agree = () => agreement.agree(hex(v.private), hex(v.public));
      if (v.result !== "invalid" && hasFlag(v, "ZeroSharedSecret")) {
        await rejectsWith(agree, "low_order_point", name);
        tally.count("low-order-refused");
      } else if (v.result === "invalid") {
        await rejectsWith(agree, null, name);
        tally.count("invalid-rejected");
      } else {
        equalBytes(await agree(), expected, name);
        tally.count(v.result);
      }
    }
    return tally.require("valid", "acceptable", "low-order-refused");
  },
};

const ed25519: ProviderCheck = {
  name: "Ed25519 verify (Wycheproof): valid verifies, invalid does not",
  async run({ primitives }, load) {
    const tally = new Tally();
    for (const { group, test: v, name } of await cases<EddsaTest, EddsaGroup>(load, "ed25519_test.json")) {
      const ok = await primitives.ed25519.verify(hex(group.publicKey.pk), hex(v.msg), hex(v.sig));
      check(ok === (v.result === "valid"), `${name}: ${v.result} but verify said ${ok}`);
      tally.count(v.result);
    }
    return tally.require("valid", "invalid");
  },
};

const mlKemKeygen: ProviderCheck = {
  name: "ML-KEM-768 keygen from seed (Wycheproof): exact encapsulation key",
  async run({ mlKem768 }, load) {
    const tally = new Tally();
    for (const { test: v, name } of await cases<MlKemKeygenTest, MlKemKeygenGroup>(
      load,
      "mlkem_768_keygen_seed_test.json",
    )) {
      equalBytes((await mlKem768.keygen(hex(v.seed))).publicKey, hex(v.ek), name);
      tally.count("valid");
    }
    return tally.require("valid");
  },
};

const mlKemEncaps: ProviderCheck = {
  name: "ML-KEM-768 encapsulation keys (Wycheproof): accepted, modulus check, lengths",
  async run({ mlKem768 }, load) {
    const tally = new Tally();
    for (const { test: v, name } of await cases<MlKemEncapsTest, MlKemEncapsGroup>(
      load,
      "mlkem_768_encaps_test.json",
    )) {
      const ek = hex(v.ek);
      if (v.result === "valid") {
        const { ciphertext, sharedSecret } = await mlKem768.encapsulate(ek);
        check(ciphertext.length === 1088 && sharedSecret.length === 32, `${name}: sizes`);
        tally.count("valid");
      } else if (ek.length !== mlKem768.lengths.publicKey) {
        await rejectsWith(() => mlKem768.encapsulate(ek), "invalid_length", name);
        tally.count("invalid-length");
      } else {
        await rejectsWith(() => mlKem768.encapsulate(ek), "invalid_public_key", name);
        tally.count("invalid-modulus-check");
      }
    }
    return tally.require("valid", "invalid-length", "invalid-modulus-check");
  },
};

const mlKemDecaps: ProviderCheck = {
  name: "ML-KEM-768 decapsulation from seed (Wycheproof), implicit rejection included",
  async run({ mlKem768 }, load) {
    const tally = new Tally();
    for (const { test: v, name } of await cases<MlKemDecapsTest, MlKemDecapsGroup>(
      load,
      "mlkem_768_test.json",
    )) {
      const [seed, ct] = [hex(v.seed), hex(v.c)];
      if (v.result === "valid") {
        if (v.ek !== undefined) equalBytes(await mlKem768.publicKey(seed), hex(v.ek), `${name}: ek`);
        equalBytes(await mlKem768.decapsulate(seed, ct), hex(v.K), `${name}: K`);
        tally.count("valid");
      } else {
        await rejectsWith(() => mlKem768.decapsulate(seed, ct), "invalid_length", name);
        tally.count("invalid-length");
      }
    }
    return tally.require("valid", "invalid-length");
  },
};

const contextOf = (v: { readonly ctx?: string }): Uint8Array =>
  v.ctx === undefined ? new Uint8Array(0) : hex(v.ctx);

const mlDsaVerify: ProviderCheck = {
  name: "ML-DSA-65 verify (Wycheproof): valid true, invalid false, wrong key length typed",
  async run({ mlDsa65 }, load) {
    const tally = new Tally();
    for (const { group, test: v, name } of await cases<MlDsaVerifyTest, MlDsaVerifyGroup>(
      load,
      "mldsa_65_verify_test.json",
    )) {
      const pk = hex(group.publicKey);
      const verify = () => mlDsa65.verify(pk, hex(v.msg), hex(v.sig), contextOf(v));
      if (pk.length !== mlDsa65.lengths.publicKey) {
        await rejectsWith(verify, "invalid_length", name);
        tally.count("invalid-public-key-length");
        continue;
      }
      const ok = await verify();
      check(ok === (v.result === "valid"), `${name}: ${v.result} but verify said ${ok}`);
      tally.count(v.result);
    }
    return tally.require("valid", "invalid", "invalid-public-key-length");
  },
};

const mlDsaSign: ProviderCheck = {
  name: "ML-DSA-65 from seed (Wycheproof): exact public key; vector and own signatures verify",
  async run({ mlDsa65 }, load) {
    const tally = new Tally();
    for (const { group, test: v, name } of await cases<MlDsaSignTest, MlDsaSignSeedGroup>(
      load,
      "mldsa_65_sign_seed_test.json",
    )) {
      const seed = hex(group.privateSeed);
      if (seed.length !== mlDsa65.lengths.seed) {
        await rejectsWith(() => mlDsa65.publicKey(seed), "invalid_length", name);
        tally.count("invalid-seed-length");
        continue;
      }
      check(group.publicKey !== null, `${name}: no public key`);
      const pk = hex(group.publicKey);
      equalBytes(await mlDsa65.publicKey(seed), pk, `${name}: public key`);
      if (v.msg === undefined) {
        tally.count("internal-mu-only-not-exposed");
        continue;
      }
      const [msg, ctx] = [hex(v.msg), contextOf(v)];
      if (ctx.length > 255) {
        await rejectsWith(() => mlDsa65.sign(seed, msg, ctx), RangeError, name);
        tally.count("invalid-context-too-long");
        continue;
      }
      check(await mlDsa65.verify(pk, msg, hex(v.sig), ctx), `${name}: vector signature`);
      check(await mlDsa65.verify(pk, msg, await mlDsa65.sign(seed, msg, ctx), ctx), `${name}: own signature`);
      tally.count("valid");
    }
    return tally.require("valid", "invalid-seed-length", "invalid-context-too-long");
  },
};

interface XWingVector {
  readonly seed: string;
  readonly sk: string;
  readonly pk: string;
  readonly ct: string;
  readonly ss: string;
}

const xWing: ProviderCheck = {
  name: "X-Wing (xwing/test-vectors.json): keygen from seed and decapsulation",
  async run({ xWing: kem }, load) {
    const tally = new Tally();
    for (const [index, v] of ((await load("xwing/test-vectors.json")) as XWingVector[]).entries()) {
      const pair = await kem.keygen(hex(v.seed));
      equalBytes(pair.seed, hex(v.sk), `#${index}: sk`);
      equalBytes(pair.publicKey, hex(v.pk), `#${index}: pk`);
      equalBytes(await kem.decapsulate(hex(v.sk), hex(v.ct)), hex(v.ss), `#${index}: ss`);
      tally.count("valid");
    }
    return tally.require("valid");
  },
};

interface CompositeFile {
  readonly m: string;
  readonly ctx: string;
  readonly tests: readonly {
    readonly tcId: string | number;
    readonly name?: string;
    readonly pk: string;
    readonly sk: string;
    readonly s: string;
    readonly sWithContext: string;
  }[];
}

const composite: ProviderCheck = {
  name: "Composite ML-DSA-65 + Ed25519 (composite-sigs/testvectors.json)",
  async run({ mlDsa65Ed25519: scheme }, load) {
    const tally = new Tally();
    const file = (await load("composite-sigs/testvectors.json")) as CompositeFile;
    const entry = file.tests.find(
      (e) => e.tcId === "id-MLDSA65-Ed25519-SHA512" || e.name === "id-MLDSA65-Ed25519-SHA512",
    );
    check(entry !== undefined, "no id-MLDSA65-Ed25519-SHA512 entry");
    const [m, ctx, pk, sk, s, sWithContext] = [
      file.m,
      file.ctx,
      entry.pk,
      entry.sk,
      entry.s,
      entry.sWithContext,
    ].map(base64) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const empty = new Uint8Array(0);
    equalBytes((await scheme.keygen(sk)).publicKey, pk, "public key from sk");
    check(await scheme.verify(pk, m, s, empty), "s verifies with the empty context");
    check(await scheme.verify(pk, m, sWithContext, ctx), "sWithContext verifies with ctx");
    check(!(await scheme.verify(pk, m, s, ctx)), "s must not verify with ctx");
    check(!(await scheme.verify(pk, m, sWithContext, empty)), "sWithContext must not verify without ctx");
    const flipped = s.slice();
    flipped[s.length - 1]! ^= 1;
    check(!(await scheme.verify(pk, m, flipped, empty)), "a changed Ed25519 half must fail");
    const flippedMlDsa = s.slice();
    flippedMlDsa[0]! ^= 1;
    check(!(await scheme.verify(pk, m, flippedMlDsa, empty)), "a changed ML-DSA half must fail");
    check(await scheme.verify(pk, m, await scheme.sign(sk, m, ctx), ctx), "own signature verifies");
    tally.count("valid");
    return tally.require("valid");
  },
};

/** Every known-answer check, in a fixed order. */
export const KNOWN_ANSWER_CHECKS: readonly ProviderCheck[] = Object.freeze([
  blake2b,
  sha256,
  chacha,
  x25519,
  ed25519,
  mlKemKeygen,
  mlKemEncaps,
  mlKemDecaps,
  mlDsaVerify,
  mlDsaSign,
  xWing,
  composite,
]);
