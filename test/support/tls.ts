/**
 * Throwaway TLS material for tests of the relay's TLS listener. node:crypto cannot issue X.509
 * certificates, so the openssl CLI makes them. Where it is missing the TLS tests are skipped loudly,
 * except under CI, where a skip would hide the post-quantum transport from the suite: there it fails.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { isCi } from "./vectors.ts";

const opensslPresent = spawnSync("openssl", ["version"]).status === 0;

/** `false` to run, or the reason to skip; throws under CI when openssl is missing. */
export function tlsSkipReason(): string | false {
  if (opensslPresent) return false;
  if (isCi())
    throw new Error("the openssl CLI is required for the TLS tests under CI (apt-get install openssl)");
  process.stderr.write("OPENSSL MISSING: skipping the TLS tests (apt-get install openssl)\n");
  return "openssl is not on PATH";
}

/** A self-signed P-256 certificate for localhost and 127.0.0.1, valid one day; the key file is 0600. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, "relay-cert.pem");
  const key = join(dir, "relay-key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  chmodSync(key, 0o600);
  return { cert, key };
}
