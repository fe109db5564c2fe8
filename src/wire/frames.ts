import { z } from "zod";
import { MAX_ACK_IDS, MAX_ENVELOPE_BASE64, SUITE_ID_MAX, USERNAME_INPUT_MAX } from "./limits.ts";

/**
 * The WebSocket frames of `/v1/ws` (docs/api.md "WebSocket"): JSON text, one object per frame, told
 * apart by `type`. One zod schema per frame, used by the relay to read what clients send and by the
 * client to read what the relay sends, so the two cannot drift. Unknown fields are dropped, not
 * refused, on both sides: a newer peer may add fields.
 */
export const FRAME = Object.freeze({
  // client -> relay
  auth: "auth",
  send: "send",
  ack: "ack",
  // relay -> client
  ready: "ready",
  message: "message",
  sent: "sent",
  acked: "acked",
  error: "error",
  lowPrekeys: "low_prekeys",
});

/** A relay message id: the mailbox's row id, a positive safe integer. */
export const MessageId = z.int().positive();

/** One stored message as the relay hands it out, by push (`message` frame) or poll (GET /v1/messages). */
export const WireMessage = z.object({
  id: MessageId,
  from: z.string().max(USERNAME_INPUT_MAX),
  /** Exactly as the sender sent it (docs/protocol.md §9.2); nothing longer is a legal envelope. */
  envelope: z.string().max(MAX_ENVELOPE_BASE64),
  sent_at: z.int().nonnegative(),
});
export type WireMessage = z.infer<typeof WireMessage>;

// ---- client -> relay

export const AuthFrame = z.object({ type: z.literal(FRAME.auth), token: z.string() });
/** `id` is the client message id; its pattern is checked with the rest of the send, answered by id. */
export const SendFrame = z.object({
  type: z.literal(FRAME.send),
  id: z.string(),
  to: z.string(),
  envelope: z.string(),
});
export const AckFrame = z.object({
  type: z.literal(FRAME.ack),
  ids: z.array(MessageId).min(1).max(MAX_ACK_IDS),
  ref: z.string().optional(),
});
export const ClientFrame = z.discriminatedUnion("type", [AuthFrame, SendFrame, AckFrame]);
export type AuthFrame = z.infer<typeof AuthFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ClientFrame = z.infer<typeof ClientFrame>;

// ---- relay -> client

export const ReadyFrame = z.object({ type: z.literal(FRAME.ready), username: z.string() });
export const MessageFrame = WireMessage.extend({ type: z.literal(FRAME.message) });
/** The answer to a `send`, after the durable commit; `duplicate`: the id was already stored. */
export const SentFrame = z.object({
  type: z.literal(FRAME.sent),
  id: z.string(),
  server_id: MessageId,
  duplicate: z.boolean(),
});
/** The answer to an `ack`, after the durable delete; `ref` echoes the ack's. */
export const AckedFrame = z.object({
  type: z.literal(FRAME.acked),
  ids: z.array(MessageId).max(MAX_ACK_IDS),
  deleted: z.int().nonnegative(),
  ref: z.string().optional(),
});
/** A refused frame: `id` names the send (client message id) or ack (`ref`) it answers, if any. */
export const ErrorFrame = z.object({
  type: z.literal(FRAME.error),
  code: z.string(),
  message: z.string(),
  id: z.string().optional(),
});
/** The account's one-time prekeys of `suite` are down to `count`: upload more. */
export const LowPrekeysFrame = z.object({
  type: z.literal(FRAME.lowPrekeys),
  suite: z.int().min(0).max(SUITE_ID_MAX),
  count: z.int().nonnegative(),
});
export const RelayFrame = z.discriminatedUnion("type", [
  ReadyFrame,
  MessageFrame,
  SentFrame,
  AckedFrame,
  ErrorFrame,
  LowPrekeysFrame,
]);
export type ReadyFrame = z.infer<typeof ReadyFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type SentFrame = z.infer<typeof SentFrame>;
export type AckedFrame = z.infer<typeof AckedFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type LowPrekeysFrame = z.infer<typeof LowPrekeysFrame>;
export type RelayFrame = z.infer<typeof RelayFrame>;

export type FrameReading<T> =
  | { readonly ok: true; readonly frame: T }
  /** `value`: the JSON as parsed (undefined when it was not JSON), for answering what can be named. */
  | { readonly ok: false; readonly why: string; readonly value: unknown };

/**
 * Reads one text frame against `schema`. Never throws: each side turns a failure into its own typed
 * error (the relay: `malformed_request`; the client: `relay_answer_malformed`).
 */
export function readFrame<T>(schema: z.ZodType<T>, text: string): FrameReading<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, why: "the frame is not JSON", value: undefined };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data };
  return { ok: false, why: describeIssue(result.error), value };
}

/** The first issue, as `path: message` (a field name and what was wrong; never the value). */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  const path = issue.path.map(String).join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}
