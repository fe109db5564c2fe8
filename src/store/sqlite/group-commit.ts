import type { DatabaseSync, StatementSync } from "node:sqlite";
import { NanoError } from "../../errors/index.ts";
import { sqliteFault } from "./sqlite-errors.ts";

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** How committed transactions reach the disk. */
export interface Durability {
  /** Resolves once everything committed before the call is on disk (wal-sync.ts). */
  sync(): Promise<void>;
  /** The same, blocking, for close(). */
  syncNow(): void;
}

/**
 * Group commit over one SQLite connection: writes submitted during one turn of the event loop share a
 * transaction and therefore one fsync, which is what makes durable acks cheap. Each write runs in its
 * own SAVEPOINT: one failing write is rolled back alone and cannot take its batch-mates with it.
 *
 * Without `durability` the connection runs with synchronous = FULL: COMMIT fsyncs before it returns,
 * holding the event loop for the disk, and a write's promise settles right after it. With it
 * (synchronous = NORMAL, the relay's store), COMMIT only writes the WAL and the fsync runs off the
 * event loop; a write's promise settles only after a sync that began after its COMMIT returned, so
 * "resolved" still means "on disk". While one sync runs, the relay goes on reading, checking and
 * pushing; the writes submitted meanwhile commit as one transaction when it ends and share the next
 * sync, so the batches grow with the disk's latency instead of the event loop waiting for it. A
 * committed transaction is visible to readers before its sync ends: `barrier()` is how a reader makes
 * what it read durable before handing it out.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #maxBatch: number;
  readonly #durability: Durability | null;
  /** Batches committed and waiting for the next sync, settled by it in commit order. */
  #unsynced: ((failure: NanoError | null) => void)[] = [];
  #syncing: Promise<void> | null = null;
  #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;
  /**
   * Set by the first failed sync, for good: see `#synced`. Every later write and barrier is refused
   * with it, so nothing committed after the failure is reported stored or handed out.
   */
  #broken: NanoError | null = null;
  /** Prepared once: these run for every write, and re-parsing them showed up in profiles. */
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  /** Number of transactions and writes committed, for metrics and tests of the batching itself. */
  commits = 0;
  writes = 0;
  /**
   * Observer for the batch metrics; called after each durable COMMIT with the number of writes and the
   * seconds from BEGIN to COMMIT's return (all of it synchronous: the event loop was held that long).
   */
  onCommit: ((writes: number, seconds: number) => void) | null = null;
  /**
   * Observer for the store's write health (src/relay/store-health.ts): called once per batch with null
   * when it committed cleanly, or with the storage failure (a full disk, an I/O error, a damaged
   * page) that failed the batch or one of its writes. A write refused by its own logic is not one.
   */
  onOutcome: ((failure: NanoError | null) => void) | null = null;

  constructor(db: DatabaseSync, maxBatch: number, durability: Durability | null = null) {
    this.#db = db;
    this.#maxBatch = maxBatch;
    this.#durability = durability;
    this.#savepoint = db.prepare("SAVEPOINT w");
    this.#release = db.prepare("RELEASE w");
    this.#rollbackTo = db.prepare("ROLLBACK TO w");
  }

  get pending(): number {
    return this.#queue.length;
  }

  submit<T>(work: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new NanoError("store_unavailable", "the store is closed"));
    if (this.#broken !== null) {
      this.onOutcome?.(this.#broken);
      return Promise.reject(this.#broken);
    }
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
      // While a sync runs, writes wait for it to end and then commit together: committed now they
      // would wait for the next sync anyway, so one transaction per sync costs them nothing and saves
      // rewriting the same hot pages (the mailbox's last leaf, its indexes, the quota row) into the
      // WAL once per transaction, and the checkpoints that many WAL pages cause on the event loop.
      if (this.#syncing === null) this.flush();
    });
  }

  /** Commits everything queued now, in batches of at most maxBatch. Synchronous: no write interleaves. */
  flush(): void {
    if (this.#broken !== null && this.#queue.length > 0) {
      for (const item of this.#queue.splice(0)) item.reject(this.#broken);
      this.onOutcome?.(this.#broken);
    }
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      const outcomes: { ok: boolean; value: unknown }[] = [];
      const began = performance.now();
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
      this.onCommit?.(batch.length, (performance.now() - began) / 1000);
      const settle = (syncFailure: NanoError | null) => {
        this.onOutcome?.(syncFailure ?? storageFailure);
        batch.forEach((item, index) => {
          const outcome = outcomes[index]!;
          // Not known to be on disk: no write of the batch may be reported as stored (nor any later
          // one: `#synced` breaks the writer).
          if (syncFailure !== null) item.reject(syncFailure);
          else if (outcome.ok) item.resolve(outcome.value);
          else item.reject(outcome.value);
        });
      };
      if (this.#durability === null) settle(null);
      else {
        this.#unsynced.push(settle);
        this.#startSync();
      }
    }
  }

  /**
   * Resolves once everything committed before the call (by this connection or any other) is on disk:
   * a reader calls it after reading rows it may not hand out before they are durable. Immediate
   * without `durability`, where COMMIT itself fsyncs.
   */
  barrier(): Promise<void> {
    if (this.#durability === null) return Promise.resolve();
    if (this.#broken !== null) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#unsynced.push((failure) => (failure === null ? resolve() : reject(failure)));
      this.#startSync();
    });
  }

  /** One sync at a time; what committed while it ran waits for the next, which starts when it ends. */
  #startSync(): void {
    if (this.#syncing !== null || this.#unsynced.length === 0) return;
    const waiting = this.#unsynced.splice(0);
    this.#syncing = this.#durability!.sync().then(
      () => this.#synced(waiting, null),
      (error: unknown) => this.#synced(waiting, storeError(error)),
    );
  }

  #synced(waiting: readonly ((failure: NanoError | null) => void)[], failure: NanoError | null): void {
    this.#syncing = null;
    // A failed fsync is not retried, and no later one is trusted (PostgreSQL's "fsyncgate" lesson):
    // Linux may drop the dirty pages it could not write and mark them clean, so the next fdatasync
    // succeeds without them. The WAL's frames are checksummed in a chain, and recovery after a power
    // cut stops at the first frame that is not intact: every transaction after the lost one would be
    // gone too, though its own sync "succeeded". So the writer refuses everything from here on;
    // /readyz says not ready (store-health.ts) and the operator restarts the relay (docs/relay.md).
    if (failure !== null && this.#broken === null)
      this.#broken = new NanoError(
        "store_unavailable",
        "a sync of the write-ahead log failed: the store refuses writes until the relay restarts",
        { cause: failure },
      );
    for (const settle of waiting) settle(failure);
    // The writes that arrived during the sync: committed now, and the next sync (started by flush, or
    // below for barriers alone) covers them.
    if (!this.#closed) this.flush();
    this.#startSync();
  }

  /** Resolves when no committed write is waiting for its sync (close() waits for it). */
  async settled(): Promise<void> {
    while (this.#syncing !== null) await this.#syncing;
  }

  /**
   * Flushes what is queued, makes it durable and refuses further writes. A sync already running
   * settles its own batches; `settled()` waits for it.
   */
  close(): void {
    this.flush();
    this.#closed = true;
    const waiting = this.#unsynced.splice(0);
    if (waiting.length === 0) return;
    let failure: NanoError | null = this.#broken;
    if (failure === null)
      try {
        this.#durability!.syncNow();
      } catch (error) {
        failure = storeError(error);
      }
    for (const settle of waiting) settle(failure);
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
