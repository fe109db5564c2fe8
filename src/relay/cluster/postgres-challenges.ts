/**
 * Relay challenges in PostgreSQL, so a cluster's relays share them: the same rules as ChallengeBook
 * (src/relay/auth.ts): single use, bound to a purpose and a username, deleted on first use whether or
 * not the answer verifies, expired after the configured lifetime. Taking is one DELETE ... RETURNING:
 * two relays presented the same answer at once cannot both accept it.
 */
import { blake2b, randomBytes } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { type Pool, query } from "../../store/postgres/connection.ts";
import { CHALLENGE_BYTES, type ChallengeKeeper, type ChallengePurpose } from "../auth.ts";
import type { Clock } from "../clock.ts";

export class PostgresChallenges implements ChallengeKeeper {
  readonly #pool: Pool;
  readonly #clock: Clock;
  readonly #lifetimeMs: number;

  constructor(pool: Pool, clock: Clock, lifetimeSeconds: number) {
    this.#pool = pool;
    this.#clock = clock;
    this.#lifetimeMs = lifetimeSeconds * 1000;
  }

  async issue(
    purpose: ChallengePurpose,
    username: string,
  ): Promise<{ challenge: Uint8Array; expiresAt: number }> {
    const challenge = randomBytes(CHALLENGE_BYTES);
    const expiresAt = this.#clock.now() + this.#lifetimeMs;
    await query(
      this.#pool,
      "INSERT INTO challenges (challenge_hash, purpose, username, expires_at) VALUES ($1, $2, $3, $4)",
      [blake2b(challenge), purpose, username, expiresAt],
    );
    return { challenge, expiresAt };
  }

  async take(challenge: Uint8Array, purpose: ChallengePurpose, username: string): Promise<void> {
    const [issued] = await query(
      this.#pool,
      "DELETE FROM challenges WHERE challenge_hash = $1 RETURNING purpose, username, expires_at",
      [blake2b(challenge)],
    );
    if (
      issued === undefined ||
      issued.purpose !== purpose ||
      issued.username !== username ||
      Number(issued.expires_at) <= this.#clock.now()
    )
      throw new NanoError(
        "challenge_invalid",
        "the challenge is unknown, used, expired or for another purpose",
      );
  }

  async sweep(): Promise<number> {
    return (
      await query(this.#pool, "DELETE FROM challenges WHERE expires_at <= $1 RETURNING 1", [
        this.#clock.now(),
      ])
    ).length;
  }
}
