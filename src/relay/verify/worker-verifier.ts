import { Worker } from "node:worker_threads";
import { type ErrorCode, NanoError } from "../../errors/index.ts";
import { RelayBusyError } from "../limits/busy.ts";
import type { ProtocolVerifier } from "../protocol-verifier.ts";
import { type AsyncVerifier, type ExpensiveMethod, inspectInSlices } from "./verification.ts";
import type { VerifyAnswer, VerifyTask } from "./worker-entry.ts";

const ENTRY = new URL("./worker-entry.ts", import.meta.url);
/** One-time prekeys per task: ~10-40 ms of a worker, so other accounts' checks interleave. */
const SLICE = 16;

interface Queued {
  readonly task: VerifyTask;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  busy: Queued | null;
}

/**
 * A bounded pool of worker threads running the protocol's relayVerifier (issue 12, finding 1).
 * - Bounded: at most `workers` threads (started when first needed), and at most `queue` verifications
 *   admitted at once; one more gets relay_busy (503, Retry-After) instead of a growing backlog.
 * - Fair: a verification's tasks are queued one at a time (an upload's slices one after another), and
 *   tasks are served first in, first out, so a big upload holds no worker for long and cannot starve
 *   a login that arrives behind it. (One upload per account at a time is the route's rule.)
 * - Robust: a worker that dies fails only the task it held (internal_error) and is replaced.
 */
export class WorkerVerifier implements AsyncVerifier {
  readonly #workers: number;
  readonly #queueLimit: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: Queued[] = [];
  #nextId = 0;
  #pending = 0;
  #closed = false;

  constructor(options: { workers: number; queue: number }) {
    this.#workers = options.workers;
    this.#queueLimit = options.queue;
  }

  get pending(): number {
    return this.#pending;
  }

  /** Admits one verification (bounded), which may run several tasks. */
  async #admit<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new NanoError("relay_draining", "the relay is shutting down");
    if (this.#pending >= this.#queueLimit) throw new RelayBusyError("too many signature checks are waiting");
    this.#pending++;
    try {
      return await work();
    } finally {
      this.#pending--;
    }
  }

  #task<M extends ExpensiveMethod>(
    method: M,
    args: Parameters<ProtocolVerifier[M]>,
  ): Promise<Awaited<ReturnType<ProtocolVerifier[M]>>> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new NanoError("relay_draining", "the relay is shutting down"));
        return;
      }
      const task: VerifyTask = { id: this.#nextId++, method, args };
      this.#waiting.push({ task, resolve: resolve as (value: unknown) => void, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      let slot = this.#slots.find((candidate) => candidate.busy === null);
      if (slot === undefined) {
        if (this.#slots.length >= this.#workers) return;
        slot = this.#spawn();
      }
      const next = this.#waiting.shift()!;
      slot.busy = next;
      slot.worker.postMessage(next.task);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(ENTRY);
    // An idle pool never keeps the process alive (the listeners do that).
    worker.unref();
    const slot: Slot = { worker, busy: null };
    worker.on("message", (answer: VerifyAnswer) => {
      const held = slot.busy;
      slot.busy = null;
      if (held !== null && held.task.id === answer.id) {
        if ("ok" in answer) held.resolve(answer.ok);
        else held.reject(new NanoError(answer.error.code as ErrorCode, answer.error.message));
      }
      this.#dispatch();
    });
    const lost = () => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.busy?.reject(new NanoError("internal_error", "a verification worker stopped"));
      slot.busy = null;
      if (!this.#closed) this.#dispatch();
    };
    worker.on("error", lost);
    worker.on("exit", lost);
    this.#slots.push(slot);
    return slot;
  }

  verifyIdentityRecord(...args: Parameters<ProtocolVerifier["verifyIdentityRecord"]>) {
    return this.#admit(() => this.#task("verifyIdentityRecord", args));
  }

  verifyUsernameClaim(...args: Parameters<ProtocolVerifier["verifyUsernameClaim"]>) {
    return this.#admit(() => this.#task("verifyUsernameClaim", args));
  }

  verifyIdentityUpdate(...args: Parameters<ProtocolVerifier["verifyIdentityUpdate"]>) {
    return this.#admit(() => this.#task("verifyIdentityUpdate", args));
  }

  verifyDeviceCertificate(...args: Parameters<ProtocolVerifier["verifyDeviceCertificate"]>) {
    return this.#admit(() => this.#task("verifyDeviceCertificate", args));
  }

  verifyChallengeResponse(...args: Parameters<ProtocolVerifier["verifyChallengeResponse"]>) {
    return this.#admit(() => this.#task("verifyChallengeResponse", args));
  }

  inspectPrekeyUpload(input: Parameters<ProtocolVerifier["inspectPrekeyUpload"]>[0]) {
    return this.#admit(() =>
      inspectInSlices(input, SLICE, (slice) => this.#task("inspectPrekeyUpload", [slice])),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const queued of this.#waiting.splice(0)) {
      queued.reject(new NanoError("relay_draining", "the relay is shutting down"));
    }
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }
}
