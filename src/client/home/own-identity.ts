import type { DeviceCertificate, IdentityKeys, IdentityRecord } from "../../protocol/index.ts";

/**
 * The owner's protocol identity. The keystore holds the identity seeds from `init`; the identity
 * record names a username, so it is created (and signed by every identity key) when the username is
 * claimed, together with the device key the relay authenticates (DESIGN.md: an identity key that
 * signs relay challenges would be a signing oracle). Record, certificate and device seed live in one
 * sealed `meta` row of the local store: the device seed is secret, so it is never in the clear. A type
 * of its own, so the runtime-free client code (the protocol stores) names it without the Node home.
 */
export interface OwnIdentity {
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
  readonly certificate: DeviceCertificate;
  readonly deviceSeed: Uint8Array;
}
