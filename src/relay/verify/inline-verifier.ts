import { NanoError } from "../../errors/index.ts";
import { RelayBusyError } from "../limits/busy.ts";
import type { ProtocolVerifier } from "../protocol-verifier.ts";
import { type AsyncVerifier, inspectInSlices } from "./verification.ts";

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `limits.verify_workers = 0`: verification on the main thread, in slices — one one-time prekey per
 * turn of the event loop, so a request that arrives during an upload waits for one key (~1 ms), not
 * for the upload. docs/performance.md measures it against the worker pool.
 */
export class InlineVerifier implements AsyncVerifier {
  readonly #verifier: ProtocolVerifier;
  readonly #queue: number;
  #pending = 0;
  #closed = false;

  constructor(verifier: ProtocolVerifier, queue: number) {
    this.#verifier = verifier;
    this.#queue = queue;
  }

  get pending(): number {
    return this.#pending;
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new NanoError("relay_draining", "the relay is shutting down");
    if (this.#pending >= this.#queue) throw new RelayBusyError("too many signature checks are waiting");
    this.#pending++;
    try {
      await yieldToLoop();
      return await work();
    } finally {
      this.#pending--;
    }
  }

  verifyIdentityRecord(...args: Parameters<ProtocolVerifier["verifyIdentityRecord"]>) {
    return this.#run(async () => this.#verifier.verifyIdentityRecord(...args));
  }

  verifyUsernameClaim(...args: Parameters<ProtocolVerifier["verifyUsernameClaim"]>) {
    return this.#run(async () => this.#verifier.verifyUsernameClaim(...args));
  }

  verifyIdentityUpdate(...args: Parameters<ProtocolVerifier["verifyIdentityUpdate"]>) {
    return this.#run(async () => this.#verifier.verifyIdentityUpdate(...args));
  }

  verifyDeviceCertificate(...args: Parameters<ProtocolVerifier["verifyDeviceCertificate"]>) {
    return this.#run(async () => this.#verifier.verifyDeviceCertificate(...args));
  }

  verifyChallengeResponse(...args: Parameters<ProtocolVerifier["verifyChallengeResponse"]>) {
    return this.#run(async () => this.#verifier.verifyChallengeResponse(...args));
  }

  inspectPrekeyUpload(input: Parameters<ProtocolVerifier["inspectPrekeyUpload"]>[0]) {
    return this.#run(() =>
      inspectInSlices(input, 1, async (slice) => {
        await yieldToLoop();
        return this.#verifier.inspectPrekeyUpload(slice);
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
