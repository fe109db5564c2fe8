import { blake2b, getSuite } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import type { EnqueueResult, StoredMessage } from "../store/types.ts";
import { CLIENT_MESSAGE_ID, type WireMessage } from "../wire/index.ts";
import type { CryptoMode } from "./config/schema.ts";
import type { RelayContext } from "./context.ts";
import { requireModeFloor } from "./mode-floor.ts";
import { encodeBase64 } from "./routes/_http.ts";

const DAY_MS = 86_400_000;

export interface SendRequest {
  readonly to: string;
  readonly clientMessageId: string;
  readonly envelope: Uint8Array;
}

export interface SendReceipt {
  readonly serverId: number;
  readonly duplicate: boolean;
}

/** Boxed so that awaiting the submission does not also await the commit. */
export interface SubmittedSend {
  readonly committed: Promise<SendReceipt>;
}

/** Checks a send and stores it; resolves once the message is durable. */
export async function sendMessage(
  context: RelayContext,
  sender: string,
  request: SendRequest,
): Promise<SendReceipt> {
  return (await submitMessage(context, sender, request)).committed;
}

/**
 * Runs every check (cheapest first; nothing is stored unless all pass) and hands the message to the
 * group commit. Resolves as soon as it is queued, so a connection that awaits each submission in turn
 * keeps its sends in order while they still share transactions.
 */
export async function submitMessage(
  context: RelayContext,
  sender: string,
  request: SendRequest,
  inOrder: () => void = () => {},
): Promise<SubmittedSend> {
  const { metrics } = context;
  try {
    const { committed } = await checkAndEnqueue(context, sender, request, inOrder);
    return {
      committed: committed.catch((error: unknown) => {
        if (NanoError.is(error)) metrics.messagesRejected.inc({ code: error.code });
        throw error;
      }),
    };
  } catch (error) {
    if (NanoError.is(error)) metrics.messagesRejected.inc({ code: error.code });
    throw error;
  }
}

/**
 * `inOrder` runs right before the message is handed to the store and throws if it must not be: a
 * connection whose earlier send failed refuses the later ones, even those already past their checks.
 */
async function checkAndEnqueue(
  context: RelayContext,
  sender: string,
  request: SendRequest,
  inOrder: () => void,
): Promise<SubmittedSend> {
  const { config, store, verifier, clock } = context;
  if (!CLIENT_MESSAGE_ID.test(request.clientMessageId)) {
    throw new NanoError("malformed_request", "client_message_id must be 1-64 characters of A-Z a-z 0-9 _ -");
  }
  if (request.envelope.length > config.limits.max_envelope_bytes) {
    throw new NanoError(
      "envelope_too_large",
      `envelope is ${request.envelope.length} bytes; the limit is ${config.limits.max_envelope_bytes}`,
    );
  }
  const header = verifier.inspectEnvelope(request.envelope);
  let mode: CryptoMode;
  try {
    mode = getSuite(header.suite).name;
  } catch {
    throw new NanoError("envelope_invalid", `unknown suite ${header.suite} in the envelope header`);
  }
  requireModeFloor("envelopes", mode, config.security.minimum_crypto_mode);
  await context.limits.consume("send", sender);
  const recipient = await store.accounts.get(request.to);
  if (recipient === null) throw new NanoError("account_not_found", "no account has this username");
  const now = clock.now();
  inOrder();
  const pending = store.mailboxes.enqueue(
    [
      {
        sender,
        recipient: recipient.username,
        clientMessageId: request.clientMessageId,
        envelope: request.envelope,
        envelopeHash: blake2b(request.envelope),
        createdAt: now,
        expiresAt: now + config.limits.message_ttl_days * DAY_MS,
      },
    ],
    { maxMessages: config.limits.mailbox_max_messages, maxBytes: config.limits.mailbox_max_bytes },
  );
  return { committed: finishSend(context, recipient.username, pending, performance.now()) };
}

async function finishSend(
  context: RelayContext,
  recipient: string,
  pending: Promise<EnqueueResult[]>,
  enqueuedAt: number,
): Promise<SendReceipt> {
  const [result] = (await pending) as [EnqueueResult];
  const committedAt = context.stages.observe("commit", enqueuedAt);
  if (!result.ok) {
    throw new NanoError(
      result.code,
      result.code === "mailbox_full"
        ? "the recipient's mailbox is full; the message was not stored"
        : "this client_message_id was already used for a different message",
    );
  }
  if (!result.duplicate) {
    context.stages.committed(result.serverId, committedAt);
    context.metrics.messagesStored.inc();
    context.hub.notify(recipient);
    // After COMMIT (this runs once the store resolved): a relay that wakes up reads a committed row.
    context.cluster?.announceMessage(recipient);
    context.siblings?.announceMessage(recipient);
  }
  return { serverId: result.serverId, duplicate: result.duplicate };
}

export function toWire(message: StoredMessage): WireMessage {
  return {
    id: message.id,
    from: message.sender,
    // A view, not Buffer.from(bytes), which copies the envelope once more per push.
    envelope: encodeBase64(message.envelope),
    sent_at: message.createdAt,
  };
}

export async function acknowledgeMessages(
  context: RelayContext,
  recipient: string,
  ids: readonly number[],
): Promise<number> {
  const deleted = await context.store.mailboxes.acknowledge(recipient, ids);
  context.metrics.messagesAcknowledged.inc(deleted);
  return deleted;
}
