import { AsyncLocalStorage } from "node:async_hooks";
import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * How an operation may share a commit:
 * - `transaction`: its writes commit durably (synchronous = FULL) and atomically, or not at all;
 * - `relaxed`: committed without waiting for the disk when it runs without a transaction beside it;
 * - `read`: one operation in autocommit mode (it may write through single statements);
 * - `checkpoint`: like a read, but never joins a batch (a WAL checkpoint inside a transaction does
 *   nothing useful): it runs alone when it reaches the head.
 */
export type OperationKind = "transaction" | "relaxed" | "read" | "checkpoint";

/** Counters of the batching itself, for tests and benchmarks (never for behaviour). */
export interface CommitStats {
  /** Transactions committed by the queue (durable and relaxed batches), each holding one or more works. */
  readonly commits: number;
  /** Works those transactions held, failed works (rolled back to their savepoint) included. */
  readonly works: number;
  /** The most works one commit held. */
  readonly largestBatch: number;
}

/**
 * At most this many works share one commit: the bound on how long the first caller of a batch waits for
 * the others, and on the WAL written by one commit (a work writes at most a session, a 64 KiB envelope
 * and a few small rows, so a full batch stays in the low megabytes). No byte or time bound beyond it:
 * works run back to back without waiting for anything but themselves.
 */
export const MAX_BATCH = 64;

/**
 * What the tables keep in memory for the length of one batch (batch-sessions.ts), told where the batch
 * and each work begin and end. `flush` writes what was held back, inside the transaction, right before
 * COMMIT; if it throws, the batch is lost like a failed COMMIT (every work rejects).
 */
export interface BatchHooks {
  /** The batch's transaction began. */
  begin(): void;
  /** A work is about to run in its savepoint. */
  savepoint(): void;
  /** That work failed and was rolled back to its savepoint. */
  rollback(): void;
  /** Write what the batch held back (only when at least one work succeeded). */
  flush(): void;
  /** The batch's COMMIT returned: what `flush` wrote is on disk. */
  committed(): void;
  /** The batch's transaction ended, committed or not. */
  end(): void;
}

const NO_HOOKS: BatchHooks = {
  begin() {},
  savepoint() {},
  rollback() {},
  flush() {},
  committed() {},
  end() {},
};

interface Operation {
  readonly kind: OperationKind;
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** True while `work` runs: a store call made from inside it would queue behind itself forever. */
  running: boolean;
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

function settle(operation: Operation, outcome: Outcome): void {
  if (outcome.ok) operation.resolve(outcome.value);
  else operation.reject(outcome.error);
}

/**
 * The one FIFO queue of a LocalStore's connection, with group commit. Operations run one at a time in
 * call order. A transaction that reaches the head opens `BEGIN IMMEDIATE` and takes the operations queued
 * right behind it (and those queued while it runs) into the same transaction, each work in its own
 * SAVEPOINT, up to MAX_BATCH; all of them settle only after the one COMMIT returned, so one fsync makes
 * many callers durable. A work that throws is rolled back to its savepoint before the next work starts
 * (no sibling ever sees its writes) and rejects with its own error; if COMMIT fails, every work rejects.
 *
 * Reads queued inside a durable batch join it: they see the writes of the works before them, exactly
 * what they would have seen after those works' own commits, and settle after the COMMIT (so nothing
 * they saw can be undone by a failed COMMIT after they returned it). A relaxed op at the head opens a
 * relaxed batch (synchronous = NORMAL, which SQLite lets a connection change only between
 * transactions) that only further relaxed ops join; anything else ends it.
 */
export class LocalCommitQueue {
  readonly #db: DatabaseSync;
  readonly #maxBatch: number;
  readonly #hooks: BatchHooks;
  readonly #operations: Operation[] = [];
  /** Which operation's work the current async context belongs to: detects nested use. */
  readonly #inside = new AsyncLocalStorage<Operation>();
  #draining = false;
  #closed = false;
  #commits = 0;
  #works = 0;
  #largestBatch = 0;
  /** Prepared once: they run for every work. */
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;

  constructor(db: DatabaseSync, maxBatch = MAX_BATCH, hooks: BatchHooks = NO_HOOKS) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError("maxBatch must be a positive integer");
    this.#db = db;
    this.#maxBatch = maxBatch;
    this.#hooks = hooks;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#savepoint = db.prepare("SAVEPOINT work");
    this.#release = db.prepare("RELEASE work");
    this.#rollbackTo = db.prepare("ROLLBACK TO work");
  }

  get stats(): CommitStats {
    return { commits: this.#commits, works: this.#works, largestBatch: this.#largestBatch };
  }

  submit<T>(kind: OperationKind, work: () => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("local store is closed"));
    if (this.#inside.getStore()?.running === true) {
      // Without this check the outer work would wait forever for an operation queued behind it.
      return Promise.reject(
        new Error(
          "a local store operation was started inside another one's work; use the tables it was given",
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#operations.push({
        kind,
        work,
        resolve: resolve as (value: unknown) => void,
        reject,
        running: false,
      });
      if (!this.#draining) {
        this.#draining = true;
        // A microtask, not now: the work never runs inside its caller's stack.
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  /** Refuses new operations and resolves once those already queued have settled. */
  async close(): Promise<void> {
    const drained = this.submit("read", () => {});
    this.#closed = true;
    await drained;
  }

  async #drain(): Promise<void> {
    try {
      for (let head = this.#operations.shift(); head !== undefined; head = this.#operations.shift()) {
        if (head.kind === "read" || head.kind === "checkpoint") {
          settle(head, await this.#run(head));
          continue;
        }
        if (head.kind === "transaction" && this.#operations.length === 0) {
          // Alone at the head: wait one turn of the event loop (outside any transaction, so no lock is
          // held across it) for callers whose I/O completed in the same poll phase, as the relay does.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await this.#batch(head);
      }
    } finally {
      // Nothing above throws by design; if a bug made it, the next submit starts a fresh drain.
      this.#draining = false;
    }
  }

  /** Runs one work in its own async context, never throwing. */
  async #run(operation: Operation): Promise<Outcome> {
    operation.running = true;
    try {
      return { ok: true, value: await this.#inside.run(operation, operation.work) };
    } catch (error) {
      return { ok: false, error };
    } finally {
      operation.running = false;
    }
  }

  /** The next queued operation that may join a batch opened by `head`, taken off the queue. */
  #nextMember(durable: boolean, size: number): Operation | undefined {
    if (size >= this.#maxBatch) return undefined;
    const next = this.#operations[0];
    if (next === undefined || next.kind === "checkpoint") return undefined;
    if (!durable && next.kind !== "relaxed") return undefined;
    return this.#operations.shift();
  }

  async #batch(head: Operation): Promise<void> {
    const durable = head.kind === "transaction";
    if (!durable) {
      try {
        this.#db.exec("PRAGMA synchronous = NORMAL");
      } catch (error) {
        head.reject(error);
        return;
      }
    }
    try {
      await this.#batchAt(head, durable);
    } finally {
      // Fails only if the connection is unusable, which the next operation reports.
      if (!durable) this.#restoreFull();
    }
  }

  #restoreFull(): void {
    try {
      this.#db.exec("PRAGMA synchronous = FULL");
    } catch {
      // See #batch.
    }
  }

  async #batchAt(head: Operation, durable: boolean): Promise<void> {
    try {
      this.#begin.run();
    } catch (error) {
      head.reject(error);
      return;
    }
    this.#hooks.begin();
    try {
      await this.#membersOf(head, durable);
    } finally {
      this.#hooks.end();
    }
  }

  /** Runs the batch's works and commits them; the transaction is open. */
  async #membersOf(head: Operation, durable: boolean): Promise<void> {
    const members: Operation[] = [];
    const outcomes: Outcome[] = [];
    for (let member: Operation | undefined = head; member !== undefined; ) {
      members.push(member);
      let outcome: Outcome | undefined;
      try {
        this.#savepoint.run();
        this.#hooks.savepoint();
        outcome = await this.#run(member);
        if (!outcome.ok) {
          this.#rollbackTo.run();
          this.#hooks.rollback();
        }
        this.#release.run();
      } catch (error) {
        // A savepoint statement failed: SQLite already rolled the whole transaction back (a full disk,
        // an I/O error during the work), so the earlier works' writes are gone too.
        outcomes.push(outcome ?? { ok: false, error });
        this.#abandon(members, outcomes, error);
        return;
      }
      outcomes.push(outcome);
      member = this.#nextMember(durable, members.length);
    }
    try {
      if (outcomes.some((outcome) => outcome.ok)) {
        this.#hooks.flush();
        this.#commit.run();
        this.#hooks.committed();
      } else this.#db.exec("ROLLBACK");
    } catch (error) {
      this.#abandon(members, outcomes, error);
      return;
    }
    this.#commits += 1;
    this.#works += members.length;
    this.#largestBatch = Math.max(this.#largestBatch, members.length);
    members.forEach((member, index) => {
      settle(member, outcomes[index]!);
    });
  }

  /** The batch's transaction is lost: every work rejects, a failed one with its own error. */
  #abandon(members: readonly Operation[], outcomes: readonly Outcome[], cause: unknown): void {
    try {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // Nothing more to undo: the transaction is gone.
    }
    members.forEach((member, index) => {
      const outcome = outcomes[index];
      member.reject(outcome === undefined || outcome.ok ? cause : outcome.error);
    });
  }
}
