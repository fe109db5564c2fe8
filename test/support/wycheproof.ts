/**
 * Typed shapes of the Wycheproof files the KATs read (C2SP/wycheproof testvectors_v1, schemas named in
 * each file's "schema" field) and one iterator over their groups and tests. Only the fields the tests
 * use are declared; hex strings stay strings until a test converts them.
 */
import { loadVectors, nonEmpty } from "./vectors.ts";

export type WycheproofResult = "valid" | "invalid" | "acceptable";

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment?: string;
  readonly flags?: readonly string[];
  readonly result: WycheproofResult;
}

export interface WycheproofGroup<T extends WycheproofTest> {
  readonly type: string;
  readonly tests: readonly T[];
}

export interface WycheproofFile<G extends WycheproofGroup<WycheproofTest>> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}

export interface WycheproofCase<G, T> {
  readonly group: G;
  readonly test: T;
  /** `tcId N (comment)`, for assertion messages. */
  readonly name: string;
}

/**
 * Loads `wycheproof/<file>` and returns every (group, test) pair. Throws when the file has zero tests
 * or when the count differs from its own `numberOfTests` (a truncated or edited vector file).
 */
export function wycheproofCases<T extends WycheproofTest, G extends WycheproofGroup<T>>(
  file: string,
): readonly WycheproofCase<G, T>[] {
  const data = loadVectors<WycheproofFile<G>>(`wycheproof/${file}`);
  const cases: WycheproofCase<G, T>[] = [];
  for (const group of nonEmpty(data.testGroups, `${file} testGroups`)) {
    for (const test of nonEmpty(group.tests, `${file} group ${group.type}`)) {
      cases.push({ group, test, name: `${file} tcId ${test.tcId} (${test.comment ?? ""})` });
    }
  }
  nonEmpty(cases, file);
  if (cases.length !== data.numberOfTests) {
    throw new Error(`${file}: ${cases.length} tests found, the file declares ${data.numberOfTests}`);
  }
  return cases;
}

export function hasFlag(test: WycheproofTest, flag: string): boolean {
  return test.flags?.includes(flag) ?? false;
}

// ---- per-file shapes

/** x25519_test.json (xdh_comp_schema_v1). */
export interface XdhTest extends WycheproofTest {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
export type XdhGroup = WycheproofGroup<XdhTest> & { readonly curve: string };

/** ed25519_test.json (eddsa_verify_schema_v1). */
export interface EddsaTest extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
export type EddsaGroup = WycheproofGroup<EddsaTest> & { readonly publicKey: { readonly pk: string } };

/** chacha20_poly1305_test.json (aead_test_schema_v1). */
export interface AeadTest extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
export type AeadGroup = WycheproofGroup<AeadTest> & {
  readonly ivSize: number;
  readonly keySize: number;
  readonly tagSize: number;
};

/** hkdf_sha256_test.json (hkdf_test_schema_v1). */
export interface HkdfTest extends WycheproofTest {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
export type HkdfGroup = WycheproofGroup<HkdfTest> & { readonly keySize: number };

/** mlkem_768_keygen_seed_test.json. */
export interface MlKemKeygenTest extends WycheproofTest {
  readonly seed: string;
  readonly ek: string;
  readonly dk: string;
}
export type MlKemKeygenGroup = WycheproofGroup<MlKemKeygenTest> & { readonly parameterSet: string };

/** mlkem_768_encaps_test.json: `c` and `K` are empty for invalid keys. */
export interface MlKemEncapsTest extends WycheproofTest {
  readonly ek: string;
  readonly m: string;
  readonly c: string;
  readonly K: string;
}
export type MlKemEncapsGroup = WycheproofGroup<MlKemEncapsTest> & { readonly parameterSet: string };

/** mlkem_768_test.json: decapsulation from a 64-byte seed; `ek` absent when the seed is malformed. */
export interface MlKemDecapsTest extends WycheproofTest {
  readonly seed: string;
  readonly ek?: string;
  readonly c: string;
  readonly K: string;
}
export type MlKemDecapsGroup = WycheproofGroup<MlKemDecapsTest> & { readonly parameterSet: string };

/** mlkem_768_semi_expanded_decaps_test.json: decapsulation from the 2400-byte expanded key. */
export interface MlKemExpandedDecapsTest extends WycheproofTest {
  readonly dk: string;
  readonly c: string;
  readonly ek: string;
  readonly K?: string;
}
export type MlKemExpandedDecapsGroup = WycheproofGroup<MlKemExpandedDecapsTest> & {
  readonly parameterSet: string;
};

/** mldsa_65_verify_test.json. `ctx` absent means the empty context. */
export interface MlDsaVerifyTest extends WycheproofTest {
  readonly msg: string;
  readonly ctx?: string;
  readonly sig: string;
}
export type MlDsaVerifyGroup = WycheproofGroup<MlDsaVerifyTest> & { readonly publicKey: string };

/** mldsa_65_sign_{seed,noseed}_test.json. `msg` absent = an "Internal" vector over mu only. */
export interface MlDsaSignTest extends WycheproofTest {
  readonly msg?: string;
  readonly mu?: string;
  readonly ctx?: string;
  readonly rnd?: string;
  readonly sig: string;
}
export type MlDsaSignSeedGroup = WycheproofGroup<MlDsaSignTest> & {
  readonly privateSeed: string;
  readonly publicKey: string | null;
};
export type MlDsaSignNoSeedGroup = WycheproofGroup<MlDsaSignTest> & {
  readonly privateKey: string;
  readonly publicKey: string | null;
};
