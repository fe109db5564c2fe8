/** The crypto provider interface and the constructions built over any runtime's primitives (docs/web.md). */
export { type CryptoProvider, createProvider, type ProviderSuite } from "./provider.ts";
export {
  type AsyncAead,
  type AsyncKem,
  type AsyncKeyAgreement,
  type AsyncSignatureScheme,
  type CryptoPrimitives,
  type Implementation,
  PRIMITIVE_NAMES,
  type PrimitiveName,
  type RawSignatureScheme,
} from "./types.ts";
