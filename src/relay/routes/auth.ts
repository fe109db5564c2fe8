import type { FastifyInstance } from "fastify";
import { NanoError } from "../../errors/index.ts";
import { CLOSE, CLOSE_REASONS, type TokenAnswer, TokenRequest } from "../../wire/index.ts";
import { bearerToken } from "../auth.ts";
import type { RelayContext } from "../context.ts";
import { normalizeUsername } from "../usernames.ts";
import { accountNameOrNone, clientKey, decodeBase64, parseBody, recordAuthFailure } from "./_http.ts";

/**
 * Login by challenge-response with the device key (certified by the identity key), never the identity
 * key itself: an identity key that signs relay challenges would be a signing oracle for the relay.
 */
export function authRoutes(app: FastifyInstance, context: RelayContext): void {
  app.post(
    "/v1/auth/token",
    {
      config: { public: true },
      // An address that failed too often is refused before its body is read or verified.
      onRequest: async (request) => context.limits.check("failed_auth", clientKey(request)),
    },
    async (request): Promise<TokenAnswer> => {
      // Outside the try: a malformed body is not a failed login (it never counted as one).
      const body = parseBody(TokenRequest, request.body);
      try {
        const username = normalizeUsername(body.username);
        await context.limits.consume("auth", `${clientKey(request)}|${username}`);
        const challenge = decodeBase64(body.challenge, "challenge");
        const certificate = decodeBase64(body.device_certificate, "device_certificate");
        const signature = decodeBase64(body.signature, "signature");
        await context.challenges.take(challenge, "auth", username);
        const account = await context.store.accounts.get(username);
        // Same answer as a bad signature: a login attempt must not reveal which usernames exist.
        if (account === null) throw new NanoError("signature_invalid", "authentication failed");
        const now = context.clock.now();
        const device = await context.verify.verifyDeviceCertificate({
          certificate,
          identityRecord: account.identityRecord,
          username,
          now,
        });
        if (!(await context.verify.verifyChallengeResponse({ device, username, challenge, signature }))) {
          throw new NanoError("signature_invalid", "authentication failed");
        }
        const issued = await context.tokens.issue(username, account.identityHash, device.expiresAt);
        context.audit.record({ type: "login", username, at: now, correlationId: request.id });
        return { token: issued.token, expires_at: issued.expiresAt };
      } catch (error) {
        recordAuthFailure(context, error, await accountNameOrNone(context, body.username), request);
        throw error;
      }
    },
  );

  app.delete("/v1/auth/token", async (request, reply) => {
    const token = bearerToken(request.headers.authorization);
    const username = await context.tokens.verify(token);
    await context.tokens.revoke(token);
    // A push connection authenticated by this token ends with it (docs/api.md, close code 4401), on
    // this relay and on any other of a cluster.
    context.hub.closeToken(context.tokens.tokenId(token), CLOSE.UNAUTHENTICATED, CLOSE_REASONS.tokenRevoked);
    context.cluster?.announceSessionsEnded(username, CLOSE_REASONS.tokenRevoked);
    return reply.status(204).send();
  });
}
