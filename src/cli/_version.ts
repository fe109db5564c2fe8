import { readFileSync } from "node:fs";

/**
 * `--version` of both CLIs: the package version and what it runs on. The Node and OpenSSL versions
 * are part of the answer because they decide what works (ML-KEM, ML-DSA and the X25519MLKEM768 TLS
 * group need Node 24 with OpenSSL 3.5), so a bug report that quotes this line says everything needed.
 */
export function versionText(tool: string): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `${tool} ${manifest.version} (Node ${process.versions.node}, OpenSSL ${process.versions.openssl})`;
}
