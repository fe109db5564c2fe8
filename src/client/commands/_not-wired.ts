import { NanoError } from "../../errors/index.ts";

/**
 * COORDINATOR: every caller of this function is a seam to wire to src/protocol and src/relay once they
 * are merged. The signatures around it are final; only the bodies change.
 */
export function relayNotWired(command: string): never {
  throw new NanoError(
    "relay_not_wired",
    `${command} needs the session protocol and the relay, which this build does not connect yet`,
  );
}
