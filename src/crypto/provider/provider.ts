import { NanoError } from "../../errors/index.ts";
import { CHACHA20_POLY1305 } from "../parameters.ts";
import { SUITE_IDS, SUITE_RANKS, type SuiteId, type SuiteName } from "../suite-ids.ts";
import { compositeOver } from "./composite-signature.ts";
import { contextEd25519 } from "./ed25519-context.ts";
import type { AsyncKem, AsyncKeyAgreement, AsyncSignatureScheme, CryptoPrimitives } from "./types.ts";
import { xWingOver } from "./x-wing.ts";
import { x25519KemOver } from "./x25519-kem.ts";

/** A suite with the provider's schemes: the same ids, ranks and roles as src/crypto/suites.ts. */
export interface ProviderSuite {
  readonly id: SuiteId;
  readonly name: SuiteName;
  readonly rank: number;
  readonly postQuantum: boolean;
  readonly signature: AsyncSignatureScheme;
  readonly agreement: AsyncKeyAgreement | null;
  readonly kem: AsyncKem;
  readonly ratchetKem: AsyncKem | null;
  readonly aead: typeof CHACHA20_POLY1305;
}

/** Everything the protocol calls: the runtime's primitives and the constructions built over them. */
export interface CryptoProvider {
  readonly name: string;
  readonly primitives: CryptoPrimitives;
  /** Ed25519 with the context framing of DESIGN.md (the classical suite's signature). */
  readonly ed25519: AsyncSignatureScheme;
  readonly mlDsa65: AsyncSignatureScheme;
  readonly mlDsa65Ed25519: AsyncSignatureScheme;
  readonly x25519: AsyncKeyAgreement;
  readonly x25519Kem: AsyncKem;
  readonly mlKem768: AsyncKem;
  readonly xWing: AsyncKem;
  readonly suites: readonly ProviderSuite[];
  /** The suite with this wire id; `unknown_suite` otherwise. */
  suite(id: number): ProviderSuite;
}

/** Builds the constructions and suites over a runtime's primitives; the result is frozen. */
export function createProvider(primitives: CryptoPrimitives): CryptoProvider {
  const ed25519 = contextEd25519(primitives);
  const mlDsa65Ed25519 = compositeOver(primitives);
  const xWing = xWingOver(primitives);
  const x25519Kem = x25519KemOver(primitives);
  const { mlDsa65, mlKem768, x25519 } = primitives;
  const aead = CHACHA20_POLY1305;
  const suites: readonly ProviderSuite[] = Object.freeze([
    Object.freeze({
      id: SUITE_IDS.classical,
      name: "classical",
      rank: SUITE_RANKS.classical,
      postQuantum: false,
      signature: ed25519,
      agreement: x25519,
      kem: x25519Kem,
      ratchetKem: null,
      aead,
    }),
    Object.freeze({
      id: SUITE_IDS.hybrid,
      name: "hybrid",
      rank: SUITE_RANKS.hybrid,
      postQuantum: true,
      signature: mlDsa65Ed25519,
      agreement: x25519,
      kem: xWing,
      ratchetKem: mlKem768,
      aead,
    }),
    Object.freeze({
      id: SUITE_IDS.quantum,
      name: "quantum",
      rank: SUITE_RANKS.quantum,
      postQuantum: true,
      signature: mlDsa65,
      agreement: null,
      kem: mlKem768,
      ratchetKem: mlKem768,
      aead,
    }),
  ] as const);
  return Object.freeze({
    name: primitives.name,
    primitives,
    ed25519,
    mlDsa65,
    mlDsa65Ed25519,
    x25519,
    x25519Kem,
    mlKem768,
    xWing,
    suites,
    suite(id: number): ProviderSuite {
      const suite = suites.find((candidate) => candidate.id === id);
      if (suite === undefined) throw new NanoError("unknown_suite", `unknown suite id ${id}`);
      return suite;
    },
  });
}
