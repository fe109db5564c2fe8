import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { NanoError } from "../errors/index.ts";
import { humanBytes } from "../text/human-bytes.ts";

/**
 * Can the store write right now? `/readyz` asks this, so a load balancer stops sending clients to a
 * relay whose every send would fail (docs/relay.md "Readiness"). A store that answers reads is not
 * enough: on a full disk SQLite still reads, and /readyz used to say ready while every write failed.
 *
 * Three signals, cheapest first:
 * 1. free space on the file systems of the database and the blobs, against `storage.min_free_bytes`
 *    (statfs, no I/O to the store). SQLite reuses WAL space, so small writes can still succeed on a
 *    full disk while a 64 KiB envelope fails: the reserve turns "nearly full" into "not ready" before
 *    writes start failing, instead of flapping with each write that happens to fit;
 * 2. the outcome of the relay's own writes (the group commit reports each batch): a storage failure
 *    makes the store not writable until a write succeeds again;
 * 3. a probe write (a durable write that changes nothing) when the last outcome was a failure, so a
 *    relay that nobody sends to (because it is not ready) still notices that space came back; and when
 *    no write happened for PROBE_IDLE_MS, so a disk that turned read-only while idle is noticed.
 * Probes run at most once per PROBE_SPACING_MS however often /readyz is asked.
 */
export interface StoreHealthReport {
  readonly writable: boolean;
  /** Why not, for /readyz and the log; never contains message data. */
  readonly problem?: string;
}

export interface StoreHealthOptions {
  /** The database file and the blob folder: their file systems are the ones that must have room. */
  readonly paths: readonly string[];
  readonly minFreeBytes: number;
  readonly probe: (() => Promise<void>) | undefined;
  readonly now: () => number;
  readonly log: Logger;
}

const PROBE_IDLE_MS = 10_000;
const PROBE_SPACING_MS = 1_000;

export class StoreHealth {
  readonly #options: StoreHealthOptions;
  #failure: string | null = null;
  #lastWriteAt: number;
  #lastProbeAt = Number.NEGATIVE_INFINITY;
  #probing: Promise<void> | null = null;
  #reported: string | null = null;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
    this.#lastWriteAt = options.now();
  }

  /** The group commit's report of one batch (GroupCommit.onOutcome). */
  noteOutcome(failure: NanoError | null): void {
    this.#lastWriteAt = this.#options.now();
    this.#failure = failure === null ? null : failure.message;
  }

  async #lowSpace(): Promise<string | null> {
    const { paths, minFreeBytes } = this.#options;
    if (minFreeBytes === 0) return null;
    for (const path of paths) {
      // The folder holding the path: the database file may not exist yet, the blob folder may.
      for (const candidate of [path, dirname(path)]) {
        let free: number;
        try {
          const stats = await statfs(candidate);
          free = Number(stats.bavail) * Number(stats.bsize);
        } catch {
          continue;
        }
        if (free < minFreeBytes)
          return `only ${humanBytes(free)} free for ${path} (storage.min_free_bytes is ${humanBytes(minFreeBytes)})`;
        break;
      }
    }
    return null;
  }

  async #probeIfDue(): Promise<void> {
    const { probe, now } = this.#options;
    if (probe === undefined) return;
    const due =
      this.#failure !== null
        ? now() - this.#lastProbeAt >= PROBE_SPACING_MS
        : now() - this.#lastWriteAt >= PROBE_IDLE_MS;
    if (!due) return;
    this.#probing ??= (async () => {
      this.#lastProbeAt = now();
      try {
        await probe();
        this.noteOutcome(null);
      } catch (error) {
        this.#lastWriteAt = now();
        this.#failure = (error as Error).message;
      } finally {
        this.#probing = null;
      }
    })();
    await this.#probing;
  }

  async check(): Promise<StoreHealthReport> {
    const lowSpace = await this.#lowSpace();
    if (lowSpace === null) await this.#probeIfDue();
    const problem = lowSpace ?? this.#failure;
    this.#log(problem);
    return problem === null ? { writable: true } : { writable: false, problem };
  }

  /** One log line per change, not one per probe: an operator sees when it broke and when it healed. */
  #log(problem: string | null): void {
    if (problem === this.#reported) return;
    if (problem === null) this.#options.log.info("store writable again");
    else this.#options.log.error({ problem }, "store cannot write: not ready");
    this.#reported = problem;
  }
}
