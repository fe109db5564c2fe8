import type { UnlockedHome } from "../unlocked-home.ts";
import { relayNotWired } from "./_not-wired.ts";

export interface VerifyResult {
  readonly username: string;
  /** 60 digits in groups of five (DESIGN.md "Safety numbers"). */
  readonly safetyNumber: string;
  readonly verified: boolean;
}

/**
 * COORDINATOR: compute the safety number from our identity record and the contact's (protocol), show
 * it; with `confirm`, store verified = true, safetyNumberConfirmedAt = now, identityChanged = false.
 */
export async function verifyContact(
  home: UnlockedHome,
  username: string,
  _confirm: boolean,
): Promise<VerifyResult> {
  await home.store.read((tables) => tables.requireContact(username));
  return relayNotWired("verify");
}
