import { NanoError } from "../../errors/index.ts";
import type { ClientContext } from "../context.ts";
import type { QuarantinedMessage } from "../local-store/local-records.ts";
import { type IncomingMessage, processEnvelope } from "./receive.ts";

/**
 * The local quarantine (issue 13, loss 4): messages that could not be opened are kept, envelope and
 * all, instead of being dropped when they are acknowledged. A lost or mismatched local.db put right
 * (restored from a backup), `retry` opens them; `discard` drops them on purpose.
 */
export interface QuarantineEntry {
  readonly messageId: string;
  readonly from: string;
  readonly code: string;
  readonly message: string;
  readonly firstContact: boolean;
  readonly quarantinedAt: number;
  readonly envelopeBytes: number;
}

export interface RetryResult {
  /** Opened, committed and handed to `onMessage` (then removed from the quarantine). */
  readonly opened: number;
  /** Still failing, with their current code (kept). */
  readonly failed: readonly { readonly messageId: string; readonly code: string }[];
}

function entryOf(message: QuarantinedMessage): QuarantineEntry {
  const { envelope, ...rest } = message;
  return { ...rest, envelopeBytes: envelope.length };
}

export async function listQuarantine(context: ClientContext): Promise<QuarantineEntry[]> {
  return (await context.home.quarantine.read((tables) => tables.listQuarantine())).map(entryOf);
}

/** Discards one quarantined message, or every one with `all`; returns how many were dropped. */
export async function discardQuarantined(context: ClientContext, which: string | "all"): Promise<number> {
  const dropped = await context.home.quarantine.transaction((tables) => {
    const ids = which === "all" ? tables.listQuarantine().map((m) => m.messageId) : [which];
    return ids.filter((id) => tables.removeQuarantined(id)).length;
  });
  if (dropped === 0 && which !== "all")
    throw new NanoError(
      "invalid_argument",
      `no quarantined message ${which}; see nano-client quarantine list`,
    );
  return dropped;
}

/**
 * Tries every quarantined message (or one) again, as if it had just arrived: opened ones are
 * committed, handed to `onMessage`, marked shown and removed from the quarantine.
 */
export async function retryQuarantined(
  context: ClientContext,
  options: {
    readonly messageId?: string;
    readonly saveDir?: string | null;
    readonly onMessage: (message: IncomingMessage) => void | Promise<void>;
  },
): Promise<RetryResult> {
  const link = await context.link();
  const sink = await context.attachmentSink(options.saveDir ?? null);
  const all = await context.home.quarantine.read((tables) => tables.listQuarantine());
  const chosen = options.messageId === undefined ? all : all.filter((m) => m.messageId === options.messageId);
  if (options.messageId !== undefined && chosen.length === 0)
    throw new NanoError(
      "invalid_argument",
      `no quarantined message ${options.messageId}; see nano-client quarantine list`,
    );
  let opened = 0;
  const failed: { messageId: string; code: string }[] = [];
  for (const quarantined of chosen) {
    const outcome = await processEnvelope(
      context,
      link,
      {
        id: Number(quarantined.messageId),
        from: quarantined.from,
        envelope: quarantined.envelope,
        sentAt: quarantined.quarantinedAt,
      },
      { sink },
    );
    if (outcome.kind === "message") {
      await options.onMessage(outcome.message);
      await context.store.relaxed((tables) => tables.markShown(outcome.message.messageId, false));
      // Committed in local.db first: a crash before this removal finds it received next time (skip).
      await context.home.quarantine.transaction((tables) => tables.removeQuarantined(quarantined.messageId));
      opened += 1;
    } else if (outcome.kind === "skip" || outcome.kind === "receipt" || outcome.kind === "expired") {
      // Opened before (a retry killed before its removal), a receipt, or a message whose timer ran
      // out meanwhile: nothing left to keep.
      await context.home.quarantine.transaction((tables) => tables.removeQuarantined(quarantined.messageId));
      if (outcome.kind === "receipt") opened += 1;
    } else {
      const code =
        outcome.kind === "rejected"
          ? outcome.rejected.code
          : outcome.kind === "blocked"
            ? "sender_blocked"
            : outcome.timeFailure !== undefined
              ? outcome.timeFailure.code
              : "contact_identity_changed";
      failed.push({ messageId: quarantined.messageId, code });
    }
  }
  return { opened, failed };
}
