import { z } from "zod";
import { MessageId, WireMessage } from "./frames.ts";
import {
  ATTACHMENT_HASH,
  BASE64_MAX,
  MAX_CHECKPOINT_CHARS,
  MAX_PROOF_HASHES,
  MESSAGE_PAGE,
  SUITE_ID_MAX,
  TOKEN,
} from "./limits.ts";

/**
 * JSON answers of the relay's HTTP API (docs/api.md), one zod schema each: the relay's handlers
 * return these types, the client parses every answer with them (src/client/transport/relay-http.ts),
 * so a malformed answer is a typed `relay_answer_malformed`, never an `undefined` deep in the client.
 * Unknown fields are dropped, not refused: relays add fields over time (docs/api.md keeps old ones).
 * Proofs the client verifies itself (`transparency`) stay `unknown` here: their checker parses them.
 */
const suiteId = z.int().min(0).max(SUITE_ID_MAX);
const count = z.int().nonnegative();
const time = z.number().nonnegative();

/**
 * The `transparency` object of bundle and account answers (docs/api.md "Transparency"): the proof that
 * a username's newest identity binding is in the key-transparency log. Answers carry it as `unknown`:
 * the KT checker (src/audit/kt-verifier.ts) parses it with this schema and reports its own
 * `kt_proof_missing`, which the client treats as a trust failure rather than a transport one.
 */
export const TransparencyProof = z
  .object({
    log_index: count,
    leaf: z.string(),
    username_salt: z.string(),
    inclusion_proof: z.array(z.string()).max(MAX_PROOF_HASHES),
    tree_size: count,
    checkpoint: z.string().max(MAX_CHECKPOINT_CHARS),
  })
  .refine((proof) => proof.tree_size > proof.log_index, {
    message: "tree_size does not cover log_index",
    path: ["tree_size"],
  });
export type TransparencyProof = z.infer<typeof TransparencyProof>;

/** The challenge is signed by the client: bounded like the requests that carry it back. */
export const ChallengeAnswer = z.object({
  challenge: z.string().min(1).max(BASE64_MAX.challenge),
  expires_at: time,
});

export const ClaimAnswer = z.object({
  username: z.string(),
  identity_hash: z.string(),
  created: z.boolean(),
});

export const TokenAnswer = z.object({ token: z.string().regex(TOKEN), expires_at: time });

export const IdentityUpdateAnswer = z.object({ username: z.string(), identity_hash: z.string() });

export const AccountAnswer = z.object({
  username: z.string(),
  identity_record: z.string(),
  identity_hash: z.string(),
  updated_at: time,
  transparency: z.unknown(),
});

export const PrekeyUploadAnswer = z.object({
  one_time_count: count,
  one_time_counts: z.record(z.string(), count).optional(),
});

const SuitePrekeyCount = z.object({
  suite: suiteId,
  one_time_count: count,
  signed_prekey_age_days: z.number().nullable().optional(),
  rotation_due: z.boolean(),
});
export const PrekeyCountAnswer = z.object({
  has_bundle: z.boolean(),
  suite: suiteId.nullable().optional(),
  one_time_count: count,
  signed_prekey_age_days: z.number().nullable().optional(),
  rotation_due: z.boolean(),
  /** One per bundle the owner holds; absent from relays older than per-suite bundles. */
  suites: z
    .array(SuitePrekeyCount)
    .max(SUITE_ID_MAX + 1)
    .optional(),
});

export const BundleAnswer = z.object({
  username: z.string(),
  suite: suiteId,
  bundle: z.string(),
  one_time_prekey: z.string().nullable(),
  last_resort_prekey: z.string(),
  transparency: z.unknown(),
});

/** One log's signed-note verifier keys: Ed25519 and ML-DSA-65, in that order. */
const LogKeys = z.object({ origin: z.string(), verifier_keys: z.tuple([z.string(), z.string()]) });
export const LogKeysAnswer = z.object({ audit: LogKeys.optional(), kt: LogKeys.optional() });

export const ConsistencyAnswer = z.object({
  log: z.string(),
  from: count,
  to: count,
  proof: z.array(z.string()).max(MAX_PROOF_HASHES),
});

export const SendAnswer = z.object({ server_id: MessageId, duplicate: z.boolean() });

export const MessagesAnswer = z.object({ messages: z.array(WireMessage).max(MESSAGE_PAGE.max) });

export const AckAnswer = z.object({ deleted: count });

/** `PUT /v1/attachments/:hash` (201): the blob is stored under `hash` (the address asked for). */
export const AttachmentUploadAnswer = z.object({ hash: z.string().regex(ATTACHMENT_HASH), size: count });

/** `GET /healthz`: the process runs. */
export const HealthAnswer = z.object({ status: z.literal("alive"), uptime_seconds: count });

/** `GET /readyz` (200 ready, 503 not, same shape); the cluster fields only on a relay of a cluster. */
export const ReadinessAnswer = z.object({
  ready: z.boolean(),
  store: z.enum(["writable", "cannot write", "unreachable"]),
  store_problem: z.string().optional(),
  draining: z.boolean(),
  websocket_connections: count,
  redis: z.string().optional(),
  node: z.string().optional(),
  degraded: z.boolean().optional(),
});

/** A 204 answer: no body. */
export const NoContent = z.null();

/** Every refusal: `{"error": {"code", "message"}}` with the status of docs/errors.md. */
export const ErrorAnswer = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export type ChallengeAnswer = z.infer<typeof ChallengeAnswer>;
export type ClaimAnswer = z.infer<typeof ClaimAnswer>;
export type TokenAnswer = z.infer<typeof TokenAnswer>;
export type IdentityUpdateAnswer = z.infer<typeof IdentityUpdateAnswer>;
export type AccountAnswer = z.infer<typeof AccountAnswer>;
export type PrekeyUploadAnswer = z.infer<typeof PrekeyUploadAnswer>;
export type PrekeyCountAnswer = z.infer<typeof PrekeyCountAnswer>;
export type BundleAnswer = z.infer<typeof BundleAnswer>;
export type LogKeysAnswer = z.infer<typeof LogKeysAnswer>;
export type ConsistencyAnswer = z.infer<typeof ConsistencyAnswer>;
export type SendAnswer = z.infer<typeof SendAnswer>;
export type MessagesAnswer = z.infer<typeof MessagesAnswer>;
export type AckAnswer = z.infer<typeof AckAnswer>;
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;
export type AttachmentUploadAnswer = z.infer<typeof AttachmentUploadAnswer>;
export type HealthAnswer = z.infer<typeof HealthAnswer>;
export type ReadinessAnswer = z.infer<typeof ReadinessAnswer>;
