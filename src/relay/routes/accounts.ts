import type { FastifyInstance } from "fastify";
import { getSuite, toHex } from "../../crypto/index.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import { decodeIdentityRecordExact } from "../../protocol/identity-record.ts";
import { verifyAccountDeletion } from "../../protocol/username-claim.ts";
import {
  type AccountAnswer,
  AccountDeleteRequest,
  type ChallengeAnswer,
  ChallengeRequest,
  CLOSE,
  CLOSE_REASONS,
  type ClaimAnswer,
  ClaimRequest,
  type IdentityUpdateAnswer,
  IdentityUpdateRequest,
} from "../../wire/index.ts";
import { tombstoneKey } from "../audit-log-key.ts";
import type { ChallengePurpose } from "../auth.ts";
import type { RelayContext } from "../context.ts";
import { requireModeFloor } from "../mode-floor.ts";
import type { VerifiedIdentity } from "../protocol-verifier.ts";
import { normalizeUsername } from "../usernames.ts";
import {
  accountNameOrNone,
  authenticate,
  clientKey,
  decodeBase64,
  encodeBase64,
  parseBody,
  recordAuthFailure,
} from "./_http.ts";
import { transparencyFields } from "./transparency.ts";

async function verifyRecordFor(
  context: RelayContext,
  record: Uint8Array,
  username: string,
): Promise<VerifiedIdentity> {
  const identity = await context.verify.verifyIdentityRecord(record);
  let named: string;
  try {
    named = normalizeUsername(identity.username);
  } catch {
    throw new NanoError("identity_record_invalid", "the identity record names an invalid username");
  }
  if (named !== username) {
    throw new NanoError("identity_record_invalid", "the identity record names a different username");
  }
  // Before anything is stored: an account whose own mode the relay refuses could never upload a
  // bundle, yet its name would be gone (issue 14: a refused claim must leave nothing behind).
  requireModeFloor(
    "identities",
    getSuite(identity.preferred).name,
    context.config.security.minimum_crypto_mode,
  );
  return identity;
}

/**
 * docs/protocol.md §4.5: every signature key of the current record signs H(current) || H(next), and
 * the version must grow. The protocol reports these as `invalid_signature` / `certificate_mismatch`;
 * for an authenticated caller the relay answers `identity_update_unauthorized` (403), so a client does
 * not mistake a refused update for a bad token (401) or a malformed request (400).
 */
async function verifyUpdateAuthority(
  context: RelayContext,
  current: Uint8Array,
  next: Uint8Array,
  signature: Uint8Array,
): Promise<VerifiedIdentity> {
  try {
    return await context.verify.verifyIdentityUpdate({ current, next, signature });
  } catch (error) {
    if (
      NanoError.is(error) &&
      (error.code === "invalid_signature" || error.code === "certificate_mismatch")
    ) {
      throw new NanoError("identity_update_unauthorized", `identity update refused: ${error.message}`);
    }
    throw error;
  }
}

export function accountRoutes(app: FastifyInstance, context: RelayContext): void {
  app.post("/v1/challenges", { config: { public: true } }, async (request): Promise<ChallengeAnswer> => {
    const body = parseBody(ChallengeRequest, request.body);
    const purpose: ChallengePurpose = body.purpose;
    await context.limits.consume(purpose === "claim" ? "claim" : "auth", clientKey(request));
    const username =
      purpose === "claim"
        ? context.usernames.checkClaimable(body.username).username
        : normalizeUsername(body.username);
    const { challenge, expiresAt } = await context.challenges.issue(purpose, username);
    return { challenge: encodeBase64(challenge), expires_at: expiresAt };
  });

  app.post(
    "/v1/accounts",
    {
      config: { public: true },
      // An address that failed too often is refused before its body is read or verified.
      onRequest: async (request) => context.limits.check("failed_auth", clientKey(request)),
    },
    async (request, reply) => {
      const body = parseBody(ClaimRequest, request.body);
      const { username, skeleton } = context.usernames.checkClaimable(body.username);
      const record = decodeBase64(body.identity_record, "identity_record");
      const challenge = decodeBase64(body.challenge, "challenge");
      const signature = decodeBase64(body.signature, "signature");
      try {
        // Consumed before verifying: a failed answer burns the challenge, so guesses cannot be retried.
        await context.challenges.take(challenge, "claim", username);
        const identity = await verifyRecordFor(context, record, username);
        const proof = { identity, identityRecord: record, username, challenge, signature };
        if (!(await context.verify.verifyUsernameClaim(proof))) {
          throw new NanoError("signature_invalid", "the claim signature does not verify");
        }
        const now = context.clock.now();
        const { outcome, account } = await context.store.accounts.claim(
          {
            username,
            skeleton,
            identityHash: identity.identityHash,
            identityRecord: record,
            createdAt: now,
            updatedAt: now,
          },
          {
            correlationId: request.id,
            recordVersion: identity.version,
            ...(context.transparency === undefined
              ? {}
              : { tombstoneKey: tombstoneKey(context.transparency.key, skeleton) }),
          },
        );
        if (outcome === "cooling_off")
          throw new NanoError(
            "username_cooling_off",
            "this username belonged to an erased account and cannot be claimed yet",
          );
        if (outcome === "taken") {
          const message =
            account.username === username
              ? "this username is taken"
              : "this username is too similar to an existing one";
          throw new NanoError("username_taken", message);
        }
        if (outcome === "created") {
          context.audit.record({
            type: "account_claimed",
            username,
            at: now,
            identityHash: toHex(identity.identityHash),
          });
        }
        return reply.status(outcome === "created" ? 201 : 200).send({
          username,
          identity_hash: toHex(account.identityHash),
          created: outcome === "created",
        } satisfies ClaimAnswer);
      } catch (error) {
        recordAuthFailure(context, error, await accountNameOrNone(context, username), request);
        throw error;
      }
    },
  );

  app.get<{ Params: { username: string } }>(
    "/v1/accounts/:username",
    async (request): Promise<AccountAnswer> => {
      const requester = await authenticate(context, request);
      // Enumeration of usernames costs a lookup each, per requesting account.
      await context.limits.consume("lookup", requester);
      const account = await context.store.accounts.get(normalizeUsername(request.params.username));
      if (account === null) throw new NanoError("account_not_found", "no account has this username");
      return {
        username: account.username,
        identity_record: encodeBase64(account.identityRecord),
        identity_hash: toHex(account.identityHash),
        updated_at: account.updatedAt,
        transparency: await transparencyFields(context, account.username),
      };
    },
  );

  app.put<{ Params: { username: string } }>(
    "/v1/accounts/:username/identity",
    {
      // Each update's signatures are verified: limited per account before the body is read.
      onRequest: async (request) => {
        if (request.nanoUsername !== null)
          await context.limits.consume("identity_update", request.nanoUsername);
      },
    },
    async (request): Promise<IdentityUpdateAnswer> => {
      const body = parseBody(IdentityUpdateRequest, request.body);
      const caller = await authenticate(context, request);
      const username = normalizeUsername(request.params.username);
      if (caller !== username)
        throw new NanoError("identity_update_unauthorized", "you can only update your own record");
      const current = await context.store.accounts.get(username);
      if (current === null) throw new NanoError("account_not_found", "no account has this username");
      const next = decodeBase64(body.identity_record, "identity_record");
      const signature = decodeBase64(body.signature, "signature");
      // The new record is checked on its own first, so its defects keep their protocol codes; after
      // that, a failure of the update itself means "not authorized by the current keys".
      await verifyRecordFor(context, next, username);
      const identity = await verifyUpdateAuthority(context, current.identityRecord, next, signature);
      const now = context.clock.now();
      const swapped = await context.store.accounts.replaceIdentity(
        username,
        current.identityHash,
        { identityHash: identity.identityHash, identityRecord: next },
        now,
        { correlationId: request.id, recordVersion: identity.version },
      );
      if (!swapped) {
        throw new NanoError(
          "identity_update_unauthorized",
          "the record changed concurrently; sign against the newest",
        );
      }
      // The store deleted every token of the account with the swap (a replacement is what a user does
      // after a suspected key compromise): end the push sessions those tokens opened, too. Clients log
      // in again with a device certified by the new record.
      context.hub.closeUser(username, CLOSE.UNAUTHENTICATED, CLOSE_REASONS.identityUpdated);
      context.cluster?.announceSessionsEnded(username, CLOSE_REASONS.identityUpdated);
      context.audit.record({
        type: "identity_updated",
        username,
        at: now,
        identityHash: toHex(identity.identityHash),
      });
      return { username, identity_hash: toHex(identity.identityHash) };
    },
  );

  // The owner deletes its own account (docs/api.md, docs/compliance.md "Erasure"): a valid token of the
  // account AND every identity key's signature over a fresh auth challenge, so a stolen token alone
  // cannot delete anyone. The same erasure as `nano-relay compliance erase`, holds included.
  app.delete<{ Params: { username: string } }>(
    "/v1/accounts/:username",
    { onRequest: async (request) => context.limits.check("failed_auth", clientKey(request)) },
    async (request, reply) => {
      const body = parseBody(AccountDeleteRequest, request.body);
      const caller = await authenticate(context, request);
      const username = normalizeUsername(request.params.username);
      try {
        if (caller !== username)
          throw new NanoError("account_delete_unauthorized", "you can only delete your own account");
        const challenge = decodeBase64(body.challenge, "challenge");
        const signature = decodeBase64(body.signature, "signature");
        await context.challenges.take(challenge, "auth", username);
        const account = await context.store.accounts.get(username);
        if (account === null) throw new NanoError("account_not_found", "no account has this username");
        if (
          !(await verifyAccountDeletion(
            await decodeIdentityRecordExact(nodeProvider, account.identityRecord),
            username,
            challenge,
            signature,
          ))
        )
          throw new NanoError(
            "account_delete_unauthorized",
            "the deletion is not signed by your identity keys",
          );
        // Only a relay built without its logs (route tests) has no erasure to offer.
        if (context.compliance === undefined || context.transparency === undefined)
          throw new NanoError("store_unavailable", "this relay cannot erase accounts");
        const now = context.clock.now();
        const erased = await context.compliance.erase(
          username,
          tombstoneKey(context.transparency.key, account.skeleton),
          now,
          context.config.compliance.erasure_cooling_off_days * 86_400_000,
          (result) => ({
            type: "account_deleted",
            outcome: "success",
            time: now,
            correlationId: request.id,
            pseudonymOf: username,
            details: { attachments: result.attachments, messages: result.messages, tokens: result.tokens },
          }),
        );
        for (const hash of erased.blobs) await context.blobs.remove(hash);
        context.cluster?.announceInvalidation(username);
        context.hub.closeUser(username, CLOSE.UNAUTHENTICATED, CLOSE_REASONS.accountDeleted);
        return reply.status(204).send();
      } catch (error) {
        recordAuthFailure(context, error, await accountNameOrNone(context, username), request);
        throw error;
      }
    },
  );
}
