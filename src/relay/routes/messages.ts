import type { FastifyInstance } from "fastify";
import type { RelayContext } from "../context.ts";
import { acknowledgeMessages, sendMessage, toWire } from "../mailbox-service.ts";
import { normalizeUsername } from "../usernames.ts";
import { authenticate, decodeBase64, maxSendBytes } from "./_http.ts";

interface SendBody {
  to: string;
  client_message_id: string;
  envelope: string;
}

const MAX_ACK_IDS = 1000;
const MAX_FETCH = 500;
/** A poll answer carries at most about this many envelope bytes (at least one message). */
const POLL_BUDGET_BYTES = 8 * 1024 * 1024;

export function messageRoutes(app: FastifyInstance, context: RelayContext): void {
  const maxEnvelope = context.config.limits.max_envelope_bytes;
  app.post<{ Body: SendBody }>(
    "/v1/messages",
    {
      // Room for any legal envelope, so the typed envelope_too_large answers one over the limit.
      bodyLimit: maxSendBytes(maxEnvelope),
      schema: {
        body: {
          type: "object",
          required: ["to", "client_message_id", "envelope"],
          additionalProperties: false,
          properties: {
            to: { type: "string", maxLength: 128 },
            client_message_id: { type: "string", maxLength: 64 },
            envelope: { type: "string", minLength: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const sender = await authenticate(context, request);
      const receipt = await sendMessage(context, sender, {
        to: normalizeUsername(request.body.to),
        clientMessageId: request.body.client_message_id,
        envelope: decodeBase64(request.body.envelope, "envelope"),
      });
      // 201 for a new message, 200 for a retry that found it already stored.
      return reply
        .status(receipt.duplicate ? 200 : 201)
        .send({ server_id: receipt.serverId, duplicate: receipt.duplicate });
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
            limit: { type: "integer", minimum: 1, maximum: MAX_FETCH, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const recipient = await authenticate(context, request);
      const budget = Math.max(1, Math.floor(POLL_BUDGET_BYTES / maxEnvelope));
      const messages = await context.store.mailboxes.fetch(
        recipient,
        request.query.after ?? 0,
        Math.min(request.query.limit ?? 100, budget),
        context.clock.now(),
      );
      context.metrics.messagesDelivered.inc({ via: "poll" }, messages.length);
      return { messages: messages.map(toWire) };
    },
  );

  app.post<{ Body: { ids: number[] } }>(
    "/v1/messages/ack",
    {
      schema: {
        body: {
          type: "object",
          required: ["ids"],
          additionalProperties: false,
          properties: {
            ids: {
              type: "array",
              minItems: 1,
              maxItems: MAX_ACK_IDS,
              items: { type: "integer", minimum: 1 },
            },
          },
        },
      },
    },
    async (request) => {
      const recipient = await authenticate(context, request);
      return { deleted: await acknowledgeMessages(context, recipient, request.body.ids) };
    },
  );
}
