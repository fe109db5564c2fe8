import { NanoError } from "../../errors/index.ts";

/** `relay_busy` (503) with the Retry-After the HTTP boundary sends: a resource bound, not a fault. */
export class RelayBusyError extends NanoError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super("relay_busy", message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
