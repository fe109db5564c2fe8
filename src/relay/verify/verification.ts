import type { RelayConfig } from "../config/schema.ts";
import type { RelayMetrics } from "../metrics.ts";
import type { ProtocolVerifier } from "../protocol-verifier.ts";
import { relayVerifier } from "../protocol-verifier.ts";
import { InlineVerifier } from "./inline-verifier.ts";
import { WorkerVerifier } from "./worker-verifier.ts";

/** The signature-checking (asynchronous) methods of ProtocolVerifier: milliseconds each, hundreds per upload. */
export const EXPENSIVE_METHODS = [
  "verifyIdentityRecord",
  "verifyUsernameClaim",
  "verifyIdentityUpdate",
  "verifyDeviceCertificate",
  "verifyChallengeResponse",
  "inspectPrekeyUpload",
] as const;
export type ExpensiveMethod = (typeof EXPENSIVE_METHODS)[number];

/**
 * The expensive half of ProtocolVerifier, off the event loop (issue 12, finding 1: 200 one-time
 * prekeys verified synchronously took 0.2-0.46 s each upload, and four uploads in flight pushed
 * /healthz to 3.7 s). Same contract as ProtocolVerifier (same results, same typed errors), as
 * promises. `inspectEnvelope` stays synchronous on ProtocolVerifier: it reads a header, no signature.
 */
export type AsyncVerifier = {
  readonly [M in ExpensiveMethod]: (
    ...args: Parameters<ProtocolVerifier[M]>
  ) => ReturnType<ProtocolVerifier[M]>;
} & {
  /** Verifications admitted and not finished (for the metrics gauge). */
  readonly pending: number;
  /** Stops the workers; pending verifications fail with relay_draining. */
  close(): Promise<void>;
};

/**
 * `limits.verify_workers` > 0 and the protocol's own verifier: a bounded pool of worker threads
 * running it (a worker cannot be handed a function, so another injected verifier runs inline).
 * 0: on the main thread, in slices that yield to the event loop between one-time prekeys.
 */
export function createVerification(
  verifier: ProtocolVerifier,
  config: RelayConfig,
  metrics: RelayMetrics,
): AsyncVerifier {
  const { verify_workers: workers, verify_queue: queue } = config.limits;
  const verification =
    workers > 0 && verifier === relayVerifier
      ? new WorkerVerifier({ workers, queue })
      : new InlineVerifier(verifier, queue);
  metrics.attachVerification(() => verification.pending);
  return verification;
}

type UploadInput = Parameters<ProtocolVerifier["inspectPrekeyUpload"]>[0];
type UploadInspection = Awaited<ReturnType<ProtocolVerifier["inspectPrekeyUpload"]>>;

/**
 * An upload's keys checked a slice at a time (the bundle with the first slice), one slice after
 * another, so its work interleaves with everyone else's instead of holding a worker or the event loop
 * for the whole upload. The keys are independent (each is verified against the same record), so the
 * result, and the first error in key order, are those of one call over all of them.
 */
export async function inspectInSlices(
  input: UploadInput,
  sliceSize: number,
  run: (slice: UploadInput) => Promise<UploadInspection>,
): Promise<UploadInspection> {
  const keys = input.oneTimePrekeys;
  let bundle: UploadInspection["bundle"] = null;
  const oneTimePrekeys: UploadInspection["oneTimePrekeys"][number][] = [];
  let offset = 0;
  do {
    const slice = keys.slice(offset, offset + sliceSize);
    const inspected = await run({
      ...input,
      bundle: offset === 0 ? input.bundle : null,
      oneTimePrekeys: slice,
    });
    if (offset === 0) bundle = inspected.bundle;
    oneTimePrekeys.push(...inspected.oneTimePrekeys);
    offset += sliceSize;
  } while (offset < keys.length);
  return { bundle, oneTimePrekeys };
}
