/**
 * Group commit for sends on PostgreSQL. Sends submitted during one turn of the event loop become one
 * call of the `nano_enqueue` function: one statement, one transaction, one WAL flush and one round
 * trip for the whole batch. A send's promise settles only after that statement returned, i.e. after
 * COMMIT: "resolved" means "durable", and a connection lost before the answer rejects (no ack without
 * a committed row; the client retries with the same client message id and gets the same server id).
 *
 * At most one batch is in flight per relay process, and batches are sent in submission order: a
 * sender's sends on one connection are submitted in order, so their sequence numbers in a mailbox
 * are in that order too (a second batch racing the first on another connection could overtake it).
 */
import type { EnqueueResult, MailboxQuota, NewMessage } from "../types.ts";
import { isRetryable, type Pool, storeError } from "./connection.ts";

interface Pending {
  readonly message: NewMessage;
  readonly quota: MailboxQuota;
  readonly resolve: (result: EnqueueResult) => void;
  readonly reject: (error: unknown) => void;
}

const ATTEMPTS = 5;

export class EnqueueBatcher {
  readonly #pool: Pool;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;
  #scheduled = false;
  /** Batches and messages committed, for metrics and for tests of the batching itself. */
  commits = 0;
  writes = 0;
  /** Database round trips spent on sends (retries included), for the cluster benchmark. */
  roundTrips = 0;
  /** Called after each durable batch with its messages and the seconds its call took. */
  onCommit: ((writes: number, seconds: number) => void) | null = null;

  constructor(pool: Pool, maxBatch: number) {
    this.#pool = pool;
    this.#maxBatch = maxBatch;
  }

  get pending(): number {
    return this.#queue.length;
  }

  submit(message: NewMessage, quota: MailboxQuota): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, quota, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // setImmediate: sends whose bytes arrived in the same poll phase join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // One quota per call of the function: a batch never mixes quotas (the relay has one).
        const first = this.#queue[0]!;
        let take = 0;
        while (
          take < this.#queue.length &&
          take < this.#maxBatch &&
          this.#queue[take]!.quota.maxBytes === first.quota.maxBytes &&
          this.#queue[take]!.quota.maxMessages === first.quota.maxMessages
        )
          take++;
        const batch = this.#queue.splice(0, take);
        await this.#commit(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(batch: readonly Pending[]): Promise<void> {
    let results: EnqueueResult[];
    const began = performance.now();
    try {
      results = await this.#call(batch);
    } catch (error) {
      // Everything queued behind a failed batch fails with it: those sends were submitted after the
      // failed ones, and committing them now would put them ahead of the failed ones' retries (a
      // sender's order in the mailbox is its submission order).
      const behind = this.#queue.splice(0);
      for (const item of [...batch, ...behind])
        item.reject(storeError(error, "the message could not be stored"));
      return;
    }
    this.commits++;
    this.writes += batch.length;
    this.onCommit?.(batch.length, (performance.now() - began) / 1000);
    for (const [index, item] of batch.entries()) item.resolve(results[index]!);
  }

  async #call(batch: readonly Pending[]): Promise<EnqueueResult[]> {
    const m = batch.map((item) => item.message);
    const quota = batch[0]!.quota;
    const params = [
      m.map((x) => x.sender),
      m.map((x) => x.recipient),
      m.map((x) => x.clientMessageId),
      m.map((x) => Buffer.from(x.envelope.buffer, x.envelope.byteOffset, x.envelope.byteLength)),
      m.map((x) => Buffer.from(x.envelopeHash.buffer, x.envelopeHash.byteOffset, x.envelopeHash.byteLength)),
      m.map((x) => x.createdAt),
      m.map((x) => x.expiresAt),
      quota.maxMessages,
      quota.maxBytes,
    ];
    for (let attempt = 1; ; attempt++) {
      this.roundTrips++;
      try {
        // A single statement in autocommit: the function runs in its own transaction.
        const rows = await this.#pool.query(
          "SELECT ord, outcome, server_id FROM nano_enqueue($1, $2, $3, $4, $5, $6, $7, $8, $9) ORDER BY ord",
          params,
        );
        return rows.rows.map((row): EnqueueResult => {
          const outcome = String(row.outcome);
          if (outcome === "stored" || outcome === "duplicate")
            return { ok: true, serverId: Number(row.server_id), duplicate: outcome === "duplicate" };
          return { ok: false, code: outcome as "mailbox_full" | "client_message_id_conflict" };
        });
      } catch (error) {
        // Deadlock or serialization failure: the statement was rolled back whole, so running it again
        // cannot store anything twice.
        if (isRetryable(error) && attempt < ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** Resolves once everything queued so far has been committed or failed. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#running) await new Promise((done) => setImmediate(done));
  }
}
