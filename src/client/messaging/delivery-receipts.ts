import { NanoError } from "../../errors/index.ts";
import {
  CONTENT_TYPES,
  encodeContent,
  MAX_RECEIPT_IDS,
  MESSAGE_ID_BYTES,
  RECEIPT_KINDS,
  sendMessage,
  wipeConsumed,
} from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import { newClientMessageId } from "../outbox/outbox.ts";
import { flushOutbox } from "../outbox/outbox-flush.ts";

/**
 * Delivery receipts (docs/client.md "Delivery receipts"). After a text or attachment message is
 * committed locally, the receiving client queues an encrypted receipt (protocol.md §9.4, content type 3,
 * kind "delivered") naming its content id, and sends one receipt per sender for everything delivered
 * within a short window. Receipts are ordinary ratchet messages on the existing session, so they also:
 * - end the sender's first-contact phase: until the initiator receives any message of a session, every
 *   message it sends repeats the handshake (a fresh seal, the initiator signature; protocol.md §7.6),
 *   which costs both sides a KEM and a signature per message;
 * - let a one-sided conversation step the ratchet, so the KEM step and post-compromise healing happen
 *   without waiting for the user to reply (protocol.md §8.3).
 * A receipt never answers a receipt, and never starts a session.
 */

/**
 * While watching, how long received messages wait for company before their receipt goes out. A
 * first-contact message (the sender still repeats the handshake with every message, paying a KEM and a
 * signature each time) is confirmed quickly; others are confirmed in batches, so that under load a
 * receipt covers many messages instead of doubling the traffic.
 */
export const RECEIPT_DELAY_MS = Object.freeze({ firstContact: 25, batched: 250 });

export interface DeliveryReceipt {
  /** The sender of the receipt: the peer who got the messages. */
  readonly from: string;
  readonly kind: "delivered" | "read";
  /** Content ids (hex) of the messages it covers, as `SendResult.contentId` reported them. */
  readonly contentIds: readonly string[];
  /** The peer's clock: display only. */
  readonly sentAt: number;
}

export function receiptKindName(kind: number): DeliveryReceipt["kind"] {
  return kind === RECEIPT_KINDS.read ? "read" : "delivered";
}

/**
 * Encrypts a receipt for `peer` on the session that is open with it and commits it to the outbox
 * together with the advanced session state (one transaction, as `send`). Returns false, committing
 * nothing, when there is no session or the contact is blocked by a changed identity.
 */
export async function queueReceipt(
  context: ClientContext,
  peer: string,
  contentIds: readonly Uint8Array[],
  now = Date.now(),
): Promise<boolean> {
  if (contentIds.length < 1 || contentIds.length > MAX_RECEIPT_IDS)
    throw new RangeError(`a receipt names 1..${MAX_RECEIPT_IDS} messages`);
  const link = await context.link();
  try {
    const consumed = await context.store.transaction(async (tables) => {
      const contact = tables.getContact(peer);
      if (contact === null || contact.identityChanged || tables.getSessions(peer).length === 0) return null;
      const body = encodeContent({
        type: CONTENT_TYPES.receipt,
        kind: RECEIPT_KINDS.delivered,
        ids: contentIds,
        messageId: context.provider.primitives.randomBytes(MESSAGE_ID_BYTES),
        sentAt: now,
      });
      const stores = new LocalProtocolStores(tables, link.own, now, {
        records: context.records,
        provider: context.provider,
      });
      const sent = await sendMessage(stores.provider, stores, { peer, content: body }, { now });
      // A session that cannot send (blocked, below the pin, exhausted) sends no receipt.
      if (sent.kind !== "sent") return null;
      await stores.apply(sent.writes);
      tables.insertOutbox({
        clientMessageId: newClientMessageId(context.provider.primitives.randomBytes),
        recipient: peer,
        envelope: sent.envelope,
        createdAt: now,
      });
      // Posted by the batcher's flush (an outbox round), not at once: a send to this peer that comes
      // in between must not pass it (outbox-dispatch.ts "backlog").
      context.outbox.addToBacklog(peer);
      return sent.consumed;
    });
    if (consumed === null) return false;
    wipeConsumed({ consumed });
    return true;
  } catch (error) {
    // A session that cannot send (blocked, exhausted) sends no receipt; the messages were delivered.
    if (NanoError.is(error)) return false;
    throw error;
  }
}

/**
 * Per `receive` call: collects the content ids of delivered messages per sender and sends one receipt
 * per sender (up to 256 ids each) when `flush` is called — at the end of a one-shot receive, so
 * everything it fetched is confirmed together — or, while watching (`timed`), RECEIPT_DELAY_MS after
 * the first message of a batch arrived. Failures never reach the message path: a receipt that could
 * not be committed is dropped (it carries no user content); a committed one waits in the outbox.
 */
export class ReceiptBatcher {
  readonly #context: ClientContext;
  readonly #pending = new Map<string, Uint8Array[]>();
  #timer: NodeJS.Timeout | null = null;
  #timerDue = Number.POSITIVE_INFINITY;
  #running: Promise<void> = Promise.resolve();
  #timed = false;

  constructor(context: ClientContext) {
    this.#context = context;
  }

  /** From now on, pending receipts go out after RECEIPT_DELAY_MS (a watch). */
  startTimed(): void {
    this.#timed = true;
    if (this.#pending.size > 0) this.#schedule(RECEIPT_DELAY_MS.batched);
  }

  /** Flushes within `delayMs` from now, keeping an earlier deadline already set. */
  #schedule(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.#timer !== null && this.#timerDue <= due) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerDue = Number.POSITIVE_INFINITY;
      void this.flush();
    }, delayMs);
  }

  /**
   * Notes a delivered message; its receipt goes out with the next flush. `firstContact`: it came as a
   * first-contact envelope, i.e. its sender is still repeating the handshake and waits for any reply.
   */
  add(peer: string, contentId: Uint8Array, firstContact: boolean): void {
    const ids = this.#pending.get(peer);
    if (ids === undefined) this.#pending.set(peer, [contentId]);
    else ids.push(contentId);
    if (this.#timed) this.#schedule(firstContact ? RECEIPT_DELAY_MS.firstContact : RECEIPT_DELAY_MS.batched);
  }

  /** Sends what is pending now (one receipt per sender) and resolves when every flush so far is done. */
  flush(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerDue = Number.POSITIVE_INFINITY;
    }
    const batch = [...this.#pending];
    this.#pending.clear();
    this.#running = this.#running.then(() => this.#send(batch));
    return this.#running;
  }

  async #send(batch: readonly (readonly [string, Uint8Array[]])[]): Promise<void> {
    let queued = 0;
    for (const [peer, ids] of batch) {
      for (let start = 0; start < ids.length; start += MAX_RECEIPT_IDS) {
        try {
          if (await queueReceipt(this.#context, peer, ids.slice(start, start + MAX_RECEIPT_IDS))) queued++;
        } catch {
          // Not a NanoError: a closed store at shutdown. The receipt is dropped, nothing else is lost.
        }
      }
    }
    if (queued === 0) return;
    try {
      await flushOutbox(this.#context, await this.#context.link());
    } catch {
      // Left in the outbox: the next send, receive or reconnect delivers it.
    }
  }
}
