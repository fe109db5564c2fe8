import type { SuiteName } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import type { UnlockedHome } from "../unlocked-home.ts";
import { relayNotWired } from "./_not-wired.ts";
import { checkUsername } from "./claim-username.ts";

/** Text bodies above this size belong in an attachment (envelopes are at most 64 KiB). */
export const MAX_TEXT_BYTES = 48 * 1024;
/** Attachments are read into memory whole in v1. */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;

export interface SendRequest {
  readonly recipient: string;
  readonly text: string | null;
  readonly file: { readonly name: string; readonly bytes: Uint8Array } | null;
  /** Exactly this suite or an error; null means the negotiated choice (DESIGN.md "Modes"). */
  readonly cryptoMode: SuiteName | null;
}

export interface SendResult {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly suite: SuiteName;
  /** False when the relay acknowledged at once; true when it waits in the outbox for a retry. */
  readonly queued: boolean;
}

export function checkSendRequest(request: SendRequest): void {
  checkUsername(request.recipient);
  if ((request.text === null || request.text === "") && request.file === null) {
    throw new NanoError(
      "invalid_argument",
      "nothing to send: give TEXT, pipe it on stdin, or pass --file PATH",
    );
  }
  if (request.text !== null && Buffer.byteLength(request.text) > MAX_TEXT_BYTES) {
    throw new NanoError(
      "invalid_argument",
      `text is longer than ${MAX_TEXT_BYTES} bytes; send it with --file`,
    );
  }
  if (request.file !== null && request.file.bytes.length > MAX_FILE_BYTES) {
    throw new NanoError("invalid_argument", `file is larger than ${MAX_FILE_BYTES} bytes`);
  }
}

/**
 * COORDINATOR: choose the suite (the peer's IR, the pin, our floor), encrypt with the session protocol,
 * `new Outbox(home.store).enqueue({recipient, envelope})`, then `outbox.flush(relayTransport)`.
 */
export async function send(home: UnlockedHome, request: SendRequest): Promise<SendResult> {
  checkSendRequest(request);
  const contact = await home.store.getContact(request.recipient);
  if (contact?.identityChanged) {
    throw new NanoError(
      "contact_identity_changed",
      `${request.recipient}'s identity changed; nothing is sent until you verify or trust it`,
    );
  }
  return relayNotWired("send");
}
