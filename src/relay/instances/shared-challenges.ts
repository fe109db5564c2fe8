import { NanoError } from "../../errors/index.ts";
import type { ChallengeKeeper, ChallengePurpose } from "../auth.ts";
import { type FromWorker, type ToWorker, toWorker } from "./_ipc.ts";

/** An answer from the supervisor later than this is treated as none (the supervisor is stuck). */
const ANSWER_MS = 10_000;

type Answer = Extract<ToWorker, { type: "challenge" }>;

/**
 * The challenges of `nano-relay serve`'s workers, kept by the supervisor (one ChallengeBook for every
 * worker): a client that gets a challenge from one worker answers it over a new connection, which the
 * kernel may hand to another. The supervisor takes each challenge once, so an answer is accepted once
 * whichever worker it reaches. (On PostgreSQL the relays share challenges in the database instead.)
 */
export class SupervisorChallenges implements ChallengeKeeper {
  readonly #pending = new Map<number, (answer: Answer | null) => void>();
  #ref = 0;

  constructor() {
    process.on("message", (raw: unknown) => {
      const message = toWorker(raw);
      if (message?.type !== "challenge") return;
      this.#pending.get(message.ref)?.(message);
      this.#pending.delete(message.ref);
    });
  }

  #ask(message: FromWorker & { ref: number }): Promise<Answer | null> {
    if (process.send === undefined || !process.connected) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(message.ref);
        resolve(null);
      }, ANSWER_MS);
      this.#pending.set(message.ref, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      process.send?.(message);
    });
  }

  async issue(
    purpose: ChallengePurpose,
    username: string,
  ): Promise<{ challenge: Uint8Array; expiresAt: number }> {
    const answer = await this.#ask({ type: "challenge.issue", ref: ++this.#ref, purpose, username });
    if (answer === null || !answer.ok || answer.challenge === undefined || answer.expires_at === undefined)
      throw new NanoError("relay_draining", "the relay is restarting; retry shortly");
    return {
      challenge: new Uint8Array(Buffer.from(answer.challenge, "base64")),
      expiresAt: answer.expires_at,
    };
  }

  async take(challenge: Uint8Array, purpose: ChallengePurpose, username: string): Promise<void> {
    const answer = await this.#ask({
      type: "challenge.take",
      ref: ++this.#ref,
      challenge: Buffer.from(challenge).toString("base64"),
      purpose,
      username,
    });
    if (answer === null) throw new NanoError("relay_draining", "the relay is restarting; retry shortly");
    if (!answer.ok)
      throw new NanoError(
        "challenge_invalid",
        "the challenge is unknown, used, expired or for another purpose",
      );
  }

  /** The supervisor sweeps its own book. */
  sweep(): number {
    return 0;
  }
}
