import type { FastifyInstance } from "fastify";
import {
  type AckAnswer,
  AckRequest,
  MESSAGE_PAGE,
  type MessagesAnswer,
  type SendAnswer,
  SendRequest,
} from "../../wire/index.ts";
import type { RelayContext } from "../context.ts";
import { acknowledgeMessages, sendMessage, toWire } from "../mailbox-service.ts";
import { normalizeUsername } from "../usernames.ts";
import { authenticate, decodeBase64, maxSendBytes, parseBody } from "./_http.ts";

/** A poll answer carries at most about this many envelope bytes (at least one message). */
const POLL_BUDGET_BYTES = 8 * 1024 * 1024;

export function messageRoutes(app: FastifyInstance, context: RelayContext): void {
  const maxEnvelope = context.config.limits.max_envelope_bytes;
  app.post(
    "/v1/messages",
    // Room for any legal envelope, so the typed envelope_too_large answers one over the limit.
    { bodyLimit: maxSendBytes(maxEnvelope) },
    async (request, reply) => {
      const body = parseBody(SendRequest, request.body);
      const sender = await authenticate(context, request);
      const receipt = await sendMessage(context, sender, {
        to: normalizeUsername(body.to),
        clientMessageId: body.client_message_id,
        envelope: decodeBase64(body.envelope, "envelope"),
      });
      // 201 for a new message, 200 for a retry that found it already stored.
      return reply
        .status(receipt.duplicate ? 200 : 201)
        .send({ server_id: receipt.serverId, duplicate: receipt.duplicate } satisfies SendAnswer);
    },
  );

  app.get<{ Querystring: { after?: number; limit?: number } }>(
    "/v1/messages",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            after: { type: "integer", minimum: 0, default: 0 },
            limit: { type: "integer", minimum: 1, maximum: MESSAGE_PAGE.max, default: MESSAGE_PAGE.default },
          },
        },
      },
    },
    async (request): Promise<MessagesAnswer> => {
      const recipient = await authenticate(context, request);
      const budget = Math.max(1, Math.floor(POLL_BUDGET_BYTES / maxEnvelope));
      const messages = await context.store.mailboxes.fetch(
        recipient,
        request.query.after ?? 0,
        Math.min(request.query.limit ?? MESSAGE_PAGE.default, budget),
        context.clock.now(),
      );
      context.metrics.messagesDelivered.inc({ via: "poll" }, messages.length);
      return { messages: messages.map(toWire) };
    },
  );

  app.post("/v1/messages/ack", async (request): Promise<AckAnswer> => {
    const { ids } = parseBody(AckRequest, request.body);
    const recipient = await authenticate(context, request);
    return { deleted: await acknowledgeMessages(context, recipient, ids) };
  });
}
