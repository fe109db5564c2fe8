import { NanoError } from "../../errors/index.ts";
import type { UnlockedHome } from "../unlocked-home.ts";
import { relayNotWired } from "./_not-wired.ts";

/** Usernames as the CLI accepts them; the relay's rules may be stricter and have the last word. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,31}$/;

export function checkUsername(username: string): string {
  if (!USERNAME_PATTERN.test(username)) {
    throw new NanoError(
      "invalid_argument",
      `username "${username}" must be 2-32 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return username;
}

export interface ClaimUsernameResult {
  readonly username: string;
  readonly relay: string;
}

/**
 * COORDINATOR: build the protocol's identity record from `home.seeds`, sign the claim under
 * `nano/v1/sig/username-claim` over the relay's challenge, register the device key, then record the
 * username in config.json (writeConfig).
 */
export async function claimUsername(home: UnlockedHome, username: string): Promise<ClaimUsernameResult> {
  checkUsername(username);
  if (home.config.relay === null) {
    throw new NanoError("invalid_argument", "no relay configured: pass --relay URL");
  }
  return relayNotWired("claim-username");
}
