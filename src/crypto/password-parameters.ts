import { NanoError } from "../errors/index.ts";

/**
 * argon2id (RFC 9106) for keystore passphrases. Parameters travel in the keystore header, so they are
 * checked on read: too weak is refused (a tampered header must not downgrade the work factor), too
 * large is refused (a hostile file must not exhaust memory).
 */
export interface Argon2idParameters {
  /** Memory in KiB. */
  readonly memoryKiB: number;
  readonly passes: number;
  readonly parallelism: number;
}

/** RFC 9106's second recommended option (64 MiB, 3 passes), with 1 lane: well under a second here. */
export const DEFAULT_ARGON2ID: Argon2idParameters = Object.freeze({
  memoryKiB: 65536,
  passes: 3,
  parallelism: 1,
});

export const ARGON2ID_BOUNDS = Object.freeze({
  memoryKiB: { min: 19456, max: 1048576 },
  passes: { min: 2, max: 10 },
  parallelism: { min: 1, max: 4 },
});

export const ARGON2ID_SALT_LENGTH = 16;

export function checkArgon2idParameters(parameters: Argon2idParameters): void {
  for (const name of ["memoryKiB", "passes", "parallelism"] as const) {
    const value = parameters[name];
    const { min, max } = ARGON2ID_BOUNDS[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new NanoError(
        "kdf_parameters_out_of_range",
        `argon2id ${name} must be in ${min}..${max}, got ${value}`,
      );
    }
  }
}

/** The checks of one derivation's inputs, shared by every runtime's argon2id. */
export function checkArgon2idInputs(salt: Uint8Array, parameters: Argon2idParameters, length: number): void {
  checkArgon2idParameters(parameters);
  // RFC 9106 section 3.1: the tag is 4..2^32-1 bytes; node would otherwise reject the promise with ERR_*.
  if (!Number.isInteger(length) || length < 4 || length > 0xffffffff) {
    throw new RangeError(`argon2id output length must be 4..2^32-1 bytes, got ${length}`);
  }
  if (salt.length < ARGON2ID_SALT_LENGTH) {
    throw new NanoError("invalid_length", `argon2id salt must be at least ${ARGON2ID_SALT_LENGTH} bytes`);
  }
}
