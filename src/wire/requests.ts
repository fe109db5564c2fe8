import { z } from "zod";
import { BASE64_MAX, CLIENT_MESSAGE_ID_MAX, MAX_ACK_IDS, USERNAME_INPUT_MAX } from "./limits.ts";

/**
 * JSON bodies of the relay's HTTP requests (docs/api.md), one zod schema each: the relay parses the
 * body with it before anything else, the client builds its requests by these types. Unknown fields
 * are refused (docs/api.md: "Unknown fields are rejected"). Binary fields are standard base64; the
 * relay decodes them strictly after this (src/relay/routes/_http.ts `decodeBase64`).
 */
const base64 = (max: number) => z.string().min(1).max(max);
const username = z.string().max(USERNAME_INPUT_MAX);

export const ChallengeRequest = z.strictObject({ purpose: z.enum(["claim", "auth"]), username });

export const ClaimRequest = z.strictObject({
  username,
  identity_record: base64(BASE64_MAX.identityRecord),
  challenge: base64(BASE64_MAX.challenge),
  signature: base64(BASE64_MAX.signature),
});

export const IdentityUpdateRequest = z.strictObject({
  identity_record: base64(BASE64_MAX.identityRecord),
  signature: base64(BASE64_MAX.signature),
});

export const AccountDeleteRequest = z.strictObject({
  challenge: base64(BASE64_MAX.challenge),
  signature: base64(BASE64_MAX.signature),
});

export const TokenRequest = z.strictObject({
  username,
  challenge: base64(BASE64_MAX.challenge),
  device_certificate: base64(BASE64_MAX.deviceCertificate),
  signature: base64(BASE64_MAX.signature),
});

/** `maxKeys`: the relay's `limits.max_prekeys_per_upload` (the schema is built once per relay). */
export function prekeyUploadRequest(maxKeys: number) {
  return z
    .strictObject({
      bundle: base64(BASE64_MAX.bundle).optional(),
      one_time_prekeys: z.array(base64(BASE64_MAX.oneTimePrekey)).max(maxKeys).optional(),
    })
    .refine((body) => body.bundle !== undefined || body.one_time_prekeys !== undefined, {
      message: "name a bundle, one-time prekeys or both",
    });
}
export type PrekeyUploadRequest = z.infer<ReturnType<typeof prekeyUploadRequest>>;

export const SendRequest = z.strictObject({
  to: username,
  client_message_id: z.string().max(CLIENT_MESSAGE_ID_MAX),
  envelope: z.string().min(1),
});

export const AckRequest = z.strictObject({
  ids: z.array(z.int().min(1)).min(1).max(MAX_ACK_IDS),
});

export type ChallengeRequest = z.infer<typeof ChallengeRequest>;
export type ClaimRequest = z.infer<typeof ClaimRequest>;
export type IdentityUpdateRequest = z.infer<typeof IdentityUpdateRequest>;
export type AccountDeleteRequest = z.infer<typeof AccountDeleteRequest>;
export type TokenRequest = z.infer<typeof TokenRequest>;
export type SendRequest = z.infer<typeof SendRequest>;
export type AckRequest = z.infer<typeof AckRequest>;
