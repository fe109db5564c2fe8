import { Transform } from "node:stream";
import type { FastifyInstance } from "fastify";
import { blake2bIncremental } from "../../crypto/hash.ts";
import { toHex } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { ATTACHMENT_HASH, type AttachmentUploadAnswer, MAX_ATTACHMENT_RECIPIENTS } from "../../wire/index.ts";
import { blobFile } from "../blob-files.ts";
import type { ReceivedBlob } from "../blobs/blob-store.ts";
import type { RelayContext } from "../context.ts";
import { normalizeUsername } from "../usernames.ts";
import { authenticate } from "./_http.ts";

const DAY_MS = 86_400_000;

function checkHash(hash: string): string {
  if (!ATTACHMENT_HASH.test(hash))
    throw new NanoError("malformed_request", "the address is the lowercase hex BLAKE2b-512 of the blob");
  return hash;
}

function notOwner(): NanoError {
  return new NanoError(
    "attachment_not_owner",
    "another account uploaded these bytes; only it can add recipients (encrypt the file afresh)",
  );
}

/** Where the filesystem blob store keeps a blob (tests look at the files). */
export function blobPath(context: RelayContext, hash: string): string {
  return blobFile(context.blobDir, hash);
}

/** Deletes a blob file; a missing file is fine (deletion is idempotent, metadata is the truth). */
/**
 * How long a blob stays after its last recipient downloaded it: the relay cannot see when the client
 * committed the message that references it, and a client that crashed in between fetches it again on
 * its next receive. The sweeper deletes it at the new expiry (or at the TTL, if that comes first).
 */
export const REFETCH_GRACE_MS = 24 * 3600 * 1000;

export async function removeBlob(context: RelayContext, hash: string): Promise<void> {
  await context.blobs.remove(hash);
}

/**
 * Encrypted attachments. Uploads stream to a temporary file while being hashed and counted, so a
 * 100 MiB blob never sits in memory; the file is fsynced once and renamed into place only after the
 * hash matches its address, the folder is fsynced so the rename is durable, and the metadata commit
 * (with the quota check) comes last, before the 201. A crash in between
 * leaves at most an orphan file without metadata (never served), never metadata pointing at a
 * missing or wrong blob.
 */
export function attachmentRoutes(app: FastifyInstance, context: RelayContext): void {
  const { limits } = context.config;
  app.register(async (scope) => {
    // Hand the raw stream to the route: Fastify's parsers would buffer the whole body.
    scope.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));

    scope.put<{ Params: { hash: string }; Querystring: { recipients?: string } }>(
      "/v1/attachments/:hash",
      {
        // Authenticated before the body is read (limits/http-guard.ts); only then the long timeout.
        config: { longBody: true },
        onRequest: async () => context.bounds.memory.admit("upload"),
      },
      async (request, reply) => {
        const owner = await authenticate(context, request);
        const hash = checkHash(request.params.hash);
        const recipients = [
          ...new Set((request.query.recipients ?? "").split(",").filter((name) => name.length > 0)),
        ].map(normalizeUsername);
        if (recipients.length === 0 || recipients.length > MAX_ATTACHMENT_RECIPIENTS) {
          throw new NanoError(
            "malformed_request",
            `name 1-${MAX_ATTACHMENT_RECIPIENTS} recipients in ?recipients=a,b`,
          );
        }
        for (const username of recipients) {
          if ((await context.store.accounts.get(username)) === null) {
            throw new NanoError("account_not_found", "a recipient has no account");
          }
        }
        const declared = Number(request.headers["content-length"] ?? Number.NaN);
        if (declared > limits.attachment_max_bytes) {
          throw new NanoError("attachment_too_large", `the limit is ${limits.attachment_max_bytes} bytes`);
        }
        const used = await context.store.attachments.usage(owner);
        if (Number.isFinite(declared) && used + declared > limits.attachment_quota_bytes) {
          throw new NanoError("attachment_quota_exceeded", "this upload would exceed your attachment quota");
        }
        const body = request.body;
        if (
          body === undefined ||
          body === null ||
          typeof (body as NodeJS.ReadableStream).pipe !== "function"
        ) {
          throw new NanoError("unsupported_media_type", "upload the blob as application/octet-stream");
        }
        // The blob address is BLAKE2b-512 of the bytes (docs/attachments.md), hashed as they stream in.
        const hasher = blake2bIncremental();
        let size = 0;
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            size += chunk.length;
            if (size > limits.attachment_max_bytes) {
              callback(
                new NanoError("attachment_too_large", `the limit is ${limits.attachment_max_bytes} bytes`),
              );
              return;
            }
            hasher.update(chunk);
            callback(null, chunk);
          },
        });
        let received: ReceivedBlob | null = null;
        try {
          received = await context.blobs.receive(body as NodeJS.ReadableStream, meter);
          if (toHex(hasher.digest()) !== hash) {
            throw new NanoError("blob_hash_mismatch", "the bytes do not hash to the address");
          }
          // Only the uploader may add recipients to an existing blob (checked again atomically in
          // put): this answer needs the exact ciphertext, so it tells a prober nothing a hash would.
          const existing = await context.store.attachments.get(hash);
          if (existing !== null && existing.owner !== owner) throw notOwner();
          // Durable under its address before the metadata commit below: a crash in between leaves an
          // unreferenced blob (swept at the TTL), never metadata naming a missing blob.
          await received.promote(hash);
          const now = context.clock.now();
          const stored = await context.store.attachments.put(
            { hash, owner, size, createdAt: now, expiresAt: now + limits.attachment_ttl_days * DAY_MS },
            recipients,
            limits.attachment_quota_bytes,
          );
          // The blob existed before (another owner's): keep its file, it has the same bytes.
          if (stored === "not_owner") throw notOwner();
          if (stored === "over_quota") {
            await removeBlob(context, hash);
            throw new NanoError(
              "attachment_quota_exceeded",
              "this upload would exceed your attachment quota",
            );
          }
          return reply.status(201).send({ hash, size } satisfies AttachmentUploadAnswer);
        } catch (error) {
          // Refused mid-stream (too large, interrupted): the rest of the body would only be read and
          // discarded, and a half-read connection held the drain open for the whole grace period.
          if (!(body as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) {
            reply.header("connection", "close");
          }
          if (NanoError.is(error)) throw error;
          throw new NanoError("malformed_request", "the upload was interrupted", { cause: error });
        } finally {
          await received?.discard();
        }
      },
    );
  });

  app.get<{ Params: { hash: string } }>("/v1/attachments/:hash", async (request, reply) => {
    const username = await authenticate(context, request);
    const hash = checkHash(request.params.hash);
    const record = await context.store.attachments.get(hash);
    // The same answer whether it does not exist or is not yours: hashes must not be probeable.
    const allowed =
      record !== null &&
      record.expiresAt > context.clock.now() &&
      (record.owner === username || (await context.store.attachments.isRecipient(hash, username)));
    if (!allowed) throw new NanoError("attachment_not_found", "no such attachment");
    const blob = await context.blobs.open(hash);
    if (blob === null) throw new NanoError("attachment_not_found", "no such attachment");
    reply.raw.on("finish", () => {
      if (username === record.owner) return;
      const now = context.clock.now();
      context.store.attachments
        .recordFetch(hash, username, now, now + REFETCH_GRACE_MS)
        .catch((error: unknown) => context.log.error({ err: error }, "attachment fetch bookkeeping failed"));
    });
    return reply
      .header("content-type", "application/octet-stream")
      .header("content-length", String(blob.size))
      .send(blob.stream);
  });
}
