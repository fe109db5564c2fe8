import type { DatabaseSync, StatementSync } from "node:sqlite";
import { NanoError } from "../../errors/index.ts";
import { sqliteFault } from "./sqlite-errors.ts";

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit over one SQLite connection: writes submitted during one turn of the event loop share a
 * transaction and therefore one fsync (synchronous = FULL), which is what makes durable acks cheap. A
 * write's promise settles only after COMMIT returned, so "resolved" means "on disk". Each write runs in
 * its own SAVEPOINT: one failing write is rolled back alone and cannot take its batch-mates with it.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;
  /** Prepared once: these run for every write, and re-parsing them showed up in profiles. */
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  /** Number of transactions and writes committed, for metrics and tests of the batching itself. */
  commits = 0;
  writes = 0;
  /** Observer for the batch-size metric; called after each durable COMMIT with the number of writes. */
  onCommit: ((writes: number) => void) | null = null;
  /**
   * Observer for the store's write health (src/relay/store-health.ts): called once per batch with null
   * when it committed cleanly, or with the storage failure (a full disk, an I/O error, a damaged
   * page) that failed the batch or one of its writes. A write refused by its own logic is not one.
   */
  onOutcome: ((failure: NanoError | null) => void) | null = null;

  constructor(db: DatabaseSync, maxBatch: number) {
    this.#db = db;
    this.#maxBatch = maxBatch;
    this.#savepoint = db.prepare("SAVEPOINT w");
    this.#release = db.prepare("RELEASE w");
    this.#rollbackTo = db.prepare("ROLLBACK TO w");
  }

  get pending(): number {
    return this.#queue.length;
  }

  submit<T>(work: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new NanoError("store_unavailable", "the store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: requests whose bytes arrived in the same poll phase join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /** Commits everything queued now, in batches of at most maxBatch. Synchronous: no write interleaves. */
  flush(): void {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      const outcomes: { ok: boolean; value: unknown }[] = [];
      try {
        this.#db.exec("BEGIN IMMEDIATE");
      } catch (error) {
        const failure = storeError(error);
        for (const item of batch) item.reject(failure);
        this.onOutcome?.(failure);
        continue;
      }
      let storageFailure: NanoError | null = null;
      let abandoned = false;
      for (const item of batch) {
        try {
          this.#savepoint.run();
          outcomes.push({ ok: true, value: item.work() });
          this.#release.run();
        } catch (error) {
          // A write that failed because the disk or the file did (not its own logic) is reported as
          // what it is, store_unavailable, instead of a raw SQLite error that reads as a bug.
          const failure = sqliteFault(error) === null ? null : storeError(error);
          storageFailure ??= failure;
          try {
            this.#rollbackTo.run();
            this.#release.run();
          } catch {
            // SQLite already rolled the whole transaction back (it does on a full disk); COMMIT below
            // then fails and rejects the batch.
          }
          outcomes.push({ ok: false, value: failure ?? error });
          if (!this.#db.isTransaction) {
            // SQLite abandoned the whole transaction (it may, on a full disk or an I/O error): the
            // writes before this one are gone too, and the ones after must not run in autocommit.
            abandoned = true;
            storageFailure ??= storeError(error);
            break;
          }
        }
      }
      if (abandoned) {
        for (const item of batch) item.reject(storageFailure);
        this.onOutcome?.(storageFailure);
        continue;
      }
      try {
        this.#db.exec("COMMIT");
      } catch (error) {
        try {
          this.#db.exec("ROLLBACK");
        } catch {
          // The transaction is already gone; nothing more to undo.
        }
        const failure = storeError(error);
        for (const item of batch) item.reject(failure);
        this.onOutcome?.(failure);
        continue;
      }
      this.commits++;
      this.writes += batch.length;
      this.onCommit?.(batch.length);
      this.onOutcome?.(storageFailure);
      batch.forEach((item, index) => {
        const outcome = outcomes[index]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.value);
      });
    }
  }

  /** Flushes what is queued and refuses further writes. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}

function storeError(cause: unknown): NanoError {
  const fault = sqliteFault(cause);
  const reason =
    fault === "full"
      ? ": no space left on device"
      : fault === "damaged"
        ? ": the database file is damaged"
        : fault === "io"
          ? ": the disk refused the write"
          : "";
  return new NanoError("store_unavailable", `a write could not be committed${reason}`, { cause });
}
