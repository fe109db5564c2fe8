/**
 * One session start per peer at a time, per open client (ClientContext.sessionStarts): concurrent
 * first sends to a new contact would otherwise each fetch a bundle (using up a one-time prekey each)
 * and each start a session, every one replacing the one before. The others wait for the first to
 * commit, then send on the session it opened.
 */
export class SessionStarts {
  /** peer -> the chain of sends starting a session with that peer. */
  readonly #chains = new Map<string, Promise<void>>();

  /** Waits until no other send of this client is starting a session with `peer`; returns the release. */
  async acquire(peer: string): Promise<() => void> {
    const previous = this.#chains.get(peer) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chain = previous.then(() => mine);
    this.#chains.set(peer, chain);
    await previous;
    return () => {
      release();
      if (this.#chains.get(peer) === chain) this.#chains.delete(peer);
    };
  }
}
