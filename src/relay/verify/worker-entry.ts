// The body of a verification worker thread (worker-verifier.ts): runs the protocol's relayVerifier on
// what the relay thread posts, and posts back the result or the typed error. No I/O, no state.
import { parentPort } from "node:worker_threads";
import { NanoError } from "../../errors/index.ts";
import { relayVerifier } from "../protocol-verifier.ts";
import type { ExpensiveMethod } from "./verification.ts";

export interface VerifyTask {
  readonly id: number;
  readonly method: ExpensiveMethod;
  readonly args: readonly unknown[];
}

export type VerifyAnswer =
  | { readonly id: number; readonly ok: unknown }
  | { readonly id: number; readonly error: { readonly code: string; readonly message: string } };

const port = parentPort;
if (port !== null) {
  port.on("message", async (task: VerifyTask) => {
    let answer: VerifyAnswer;
    try {
      // The method name comes from the relay thread's own code, never from a client.
      const method = relayVerifier[task.method] as (...args: unknown[]) => Promise<unknown>;
      answer = { id: task.id, ok: await method.apply(relayVerifier, [...task.args]) };
    } catch (error) {
      // Hostile input gets typed errors (ProtocolVerifier's contract); anything else is a bug, reported
      // without its message (it could quote input).
      answer = NanoError.is(error)
        ? { id: task.id, error: { code: error.code, message: error.message } }
        : { id: task.id, error: { code: "internal_error", message: "signature verification failed" } };
    }
    port.postMessage(answer);
  });
}
