import { argon2 } from "node:crypto";
import { copyBytes } from "./bytes.ts";
import { type Argon2idParameters, checkArgon2idInputs } from "./password-parameters.ts";

export {
  ARGON2ID_BOUNDS,
  ARGON2ID_SALT_LENGTH,
  type Argon2idParameters,
  checkArgon2idParameters,
  DEFAULT_ARGON2ID,
} from "./password-parameters.ts";

/** Derives `length` bytes from a passphrase; asynchronous so a CLI spinner or a server stays responsive. */
export function argon2id(
  passphrase: Uint8Array,
  salt: Uint8Array,
  parameters: Argon2idParameters,
  length = 32,
): Promise<Uint8Array> {
  checkArgon2idInputs(salt, parameters, length);
  return new Promise((resolve, reject) => {
    argon2(
      "argon2id",
      {
        message: passphrase,
        nonce: salt,
        memory: parameters.memoryKiB,
        passes: parameters.passes,
        parallelism: parameters.parallelism,
        tagLength: length,
      },
      (error, key) => (error ? reject(error) : resolve(copyBytes(key))),
    );
  });
}
