import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_subjectAltName,
  id_kp_serverAuth,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";

/**
 * `nano-relay init-config --tls-self-signed DIR`: a throwaway TLS certificate for trying a production
 * configuration out, named so nobody mistakes it for a real one: the files say "throwaway", the
 * subject says "NOT FOR PRODUCTION", and it expires after THROWAWAY_DAYS. ECDSA P-256 with SHA-256
 * (what every TLS 1.3 client accepts), for localhost, 127.0.0.1 and ::1. The key pair and the
 * signature come from node:crypto; @peculiar/asn1-x509 only lays out the certificate's DER.
 * Clients trust it with `--ca DIR/throwaway-cert.pem` (a self-signed certificate is its own CA).
 */
export const THROWAWAY_DAYS = 30;
const CERT_FILE = "throwaway-cert.pem";
const KEY_FILE = "throwaway-key.pem";
const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const COMMON_NAME = "2.5.4.3";
const ORGANIZATION = "2.5.4.10";

export interface ThrowawayTls {
  readonly cert: string;
  readonly key: string;
  readonly notAfter: Date;
}

function name(commonName: string): Name {
  const attribute = (type: string, text: string) =>
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: text }) }),
    ]);
  return new Name([
    attribute(COMMON_NAME, commonName),
    attribute(ORGANIZATION, "nano-relay throwaway, NOT FOR PRODUCTION"),
  ]);
}

function extension(extnID: string, value: unknown, critical = false): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64");
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

export async function writeThrowawayTls(directory: string, now = new Date()): Promise<ThrowawayTls> {
  const dir = resolve(directory);
  const cert = join(dir, CERT_FILE);
  const key = join(dir, KEY_FILE);
  for (const file of [cert, key])
    if (existsSync(file))
      throw new CommandFailure(
        `${file} already exists`,
        RELAY_EXIT.cannotCreate,
        "name another folder, or remove the old throwaway pair first",
      );
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + THROWAWAY_DAYS * 86_400_000);
  const signature = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const subject = name("localhost");
  // A positive serial of 16 random bytes (RFC 5280 4.1.2.2: at most 20 octets, non-negative).
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature,
    issuer: subject,
    validity: new Validity({ notBefore, notAfter }),
    subject,
    subjectPublicKeyInfo: AsnConvert.parse(
      pair.publicKey.export({ type: "spki", format: "der" }),
      SubjectPublicKeyInfo,
    ),
    extensions: new Extensions([
      // A self-signed certificate clients pin with --ca is its own trust anchor.
      extension(id_ce_basicConstraints, new BasicConstraints({ cA: true }), true),
      extension(id_ce_extKeyUsage, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(
        id_ce_subjectAltName,
        new SubjectAlternativeName([
          new GeneralName({ dNSName: "localhost" }),
          new GeneralName({ iPAddress: "127.0.0.1" }),
          new GeneralName({ iPAddress: "::1" }),
        ]),
      ),
    ]),
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const signatureValue = sign("sha256", new Uint8Array(tbsDer), { key: pair.privateKey, dsaEncoding: "der" });
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: signature,
    signatureValue: new Uint8Array(signatureValue).buffer,
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(key, pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string, {
    mode: 0o600,
    flag: "wx",
  });
  // The mode given at creation passes through the umask; the key must be 0600 whatever the umask.
  await chmod(key, 0o600);
  await writeFile(cert, pem("CERTIFICATE", AsnConvert.serialize(certificate)), { mode: 0o644, flag: "wx" });
  return { cert, key, notAfter };
}
