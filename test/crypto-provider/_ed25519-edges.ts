/**
 * Ed25519 verification at the edges where implementations legitimately differ (cofactored against
 * cofactorless equations, small-order and mixed-order points, non-canonical encodings, S >= L; Chalkias
 * et al., "Taming the many EdDSAs"). Every provider of one process must give the same verdict, or a
 * signature a malicious signer crafts (a relay signing a checkpoint, a peer signing its identity)
 * would be valid for the page's @noble fallback and invalid for node:crypto, WebCrypto and a monitor,
 * or the other way round. The verdicts are OpenSSL's own (node:crypto before src/crypto/ed25519-encodings.ts:
 * RFC 8032 cofactorless, S < L, canonical encodings, small-order R and A refused); before that rule,
 * Chromium's WebCrypto (BoringSSL) accepted the small-order and non-canonical A and the identity R
 * cases, and @noble the mixed-order ones.
 *
 * The vectors were made with @noble/curves' point arithmetic from the seed 0x07 * 32 and the order-8
 * point c7176a70...ac037a (T8): "mixed-order" R or A is a valid point plus T8 (or 4*T8, of order 2),
 * S = r + k*a mod L with k = SHA-512(R || A || M) mod L, messages ground until k has the stated residue.
 */
import { fromHex } from "../../src/crypto/bytes.ts";
import { check, Tally } from "./_check.ts";
import type { ProviderCheck } from "./_kat.ts";

interface EdgeVector {
  readonly name: string;
  /** What node:crypto (OpenSSL) answers. */
  readonly valid: boolean;
  readonly pk: string;
  readonly msg: string;
  readonly sig: string;
}

export const ED25519_EDGE_VECTORS: readonly EdgeVector[] = Object.freeze([
  {
    name: "mixed-order R",
    valid: false,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "6d697865642052",
    sig: "40a4cf5c611d737a2f1c6fcca84d9cabfed80987f186a5a6c57e629bff1af27f198891b883579c490f3ce5a58acfaa5da595f0a5567a1affb3970d4cebb1b10b",
  },
  {
    name: "mixed-order A, k%8==0",
    valid: true,
    pk: "1f4f580e73ac208f06760190e9edc6f5916775dabd9c1cdca393175c2d6d1083",
    msg: "6d6978656420412035",
    sig: "a6c0381cc655b64838b4b8b4f60b6f074a0ab8ffc7721699704bfd077262d1f36fb7117d7675f7c175117e3d2a7adf51df312acc513cd23d343178bf13d4070c",
  },
  {
    name: "mixed-order A, k%8!=0",
    valid: false,
    pk: "1f4f580e73ac208f06760190e9edc6f5916775dabd9c1cdca393175c2d6d1083",
    msg: "6d6978656420412030",
    sig: "205b0f537994e4754a69d556e021685ffabc6150ec47b726dbce0a7f6ee57dbd7bdcf990dd8671409d7d030104329a35ad3d5f1b7580365f5e8652a7aaca4805",
  },
  {
    name: "identity A, identity R, S=0",
    valid: false,
    pk: "0100000000000000000000000000000000000000000000000000000000000000",
    msg: "616e797468696e67",
    sig: "01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "order-8 A, identity R, S=0, k%8==0",
    valid: false,
    pk: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    msg: "54382037",
    sig: "01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "noncanonical identity R (y=p+1), identity A",
    valid: false,
    pk: "0100000000000000000000000000000000000000000000000000000000000000",
    msg: "78",
    sig: "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f0000000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "identity R, noncanonical identity A",
    valid: false,
    pk: "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    msg: "78",
    sig: "01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "honest",
    valid: true,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "686f6e657374",
    sig: "a4f12a64da7586a28b5a7f579799dfa582383af7921d232218830d43efc15e394494546e8ad33b2c5103fc48e4901b60b3a1e27eb3350e8a13a21071a18aa003",
  },
  {
    name: "S+L",
    valid: false,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "686f6e657374",
    sig: "a4f12a64da7586a28b5a7f579799dfa582383af7921d232218830d43efc15e3931684acba4364e8427a0f3ebc28afa74b3a1e27eb3350e8a13a21071a18aa013",
  },
  {
    name: "order-2 component in R",
    valid: false,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "686f6e657374206d697865642052206e6567",
    sig: "d07b3f636ea4e1caa0becf4c6af098abd8f4c89690c90e4935a2b564b30b779fc6c2d8a344ec58621140d8872cbea2ab71060622706140e0662f3d69b8833709",
  },
  {
    name: "identity R, S=k*a (valid cofactorless)",
    valid: false,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "6964656e74697479205220686f6e6573742041",
    sig: "010000000000000000000000000000000000000000000000000000000000000063c78bd87e07791a099703d896e5a9c2c20fd0035acb712ff12bd22b64b63202",
  },
  {
    name: "mixed R and mixed A cancelling",
    valid: true,
    pk: "1f4f580e73ac208f06760190e9edc6f5916775dabd9c1cdca393175c2d6d1083",
    msg: "63616e63656c2030",
    sig: "3c2a481d7258beb863bf3221fb9d33df695069b97a877dbe5e5d690874702acbb3a633200fa6c6ba27f3d6c29055eb8aabe0da87c63986401cc7f0b83ae66c00",
  },
  {
    name: "identity A, R=rB, S=r (any message)",
    valid: false,
    pk: "0100000000000000000000000000000000000000000000000000000000000000",
    msg: "616e79206d657373616765",
    sig: "6c1245816cd5f18e8801c891242e138cfcaae57703718e507c7f379c91be3bc3697a000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "order-8 A, R=rB, S=r, k%8==0",
    valid: false,
    pk: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    msg: "54382041203132",
    sig: "6c1245816cd5f18e8801c891242e138cfcaae57703718e507c7f379c91be3bc3697a000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "noncanonical identity A (y=p+1), R=rB, S=r",
    valid: false,
    pk: "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    msg: "616e79206d657373616765",
    sig: "6c1245816cd5f18e8801c891242e138cfcaae57703718e507c7f379c91be3bc3697a000000000000000000000000000000000000000000000000000000000000",
  },
  {
    name: "R = identity with the sign bit set, S=k*a",
    valid: false,
    pk: "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    msg: "6e65676174697665207a65726f20782052",
    sig: "01000000000000000000000000000000000000000000000000000000000000806a6412d93cc8e6635db56526f3a3d86dd2d54dcb94ff69792798f24ab179da06",
  },
]);

export const ed25519Edges: ProviderCheck = {
  name: "Ed25519 verify at the edges (torsion, small order, encodings): every provider gives node:crypto's verdict",
  async run({ primitives }) {
    const tally = new Tally();
    const disagreements: string[] = [];
    for (const vector of ED25519_EDGE_VECTORS) {
      const verdict = await primitives.ed25519.verify(
        fromHex(vector.pk),
        fromHex(vector.msg),
        fromHex(vector.sig),
      );
      if (verdict !== vector.valid)
        disagreements.push(`${vector.name} (${verdict}, node:crypto ${vector.valid})`);
      tally.count(vector.valid ? "valid" : "invalid");
    }
    check(
      disagreements.length === 0,
      `${primitives.implementations.ed25519} disagrees with node:crypto on: ${disagreements.join("; ")}`,
    );
    tally.require("valid", "invalid");
    return tally;
  },
};
