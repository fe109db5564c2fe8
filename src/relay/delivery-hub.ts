/**
 * Who is online: the set of push connections per username. A stored message only *notifies* the
 * recipient's connections; each connection then reads its mailbox from the store in id order. The
 * store, not the notification, is the source of truth, so a notification lost to a race or a restart
 * can delay a message but never lose or reorder it.
 */
export interface PushTarget {
  /** Called after new messages for this user were committed. Must not throw. */
  notify(): void;
  /** Closes the connection with a WebSocket close code. */
  close(code: number, reason: string): void;
  /** Stops reading, answers what was received, then closes (shutdown). */
  drain(code: number, reason: string): Promise<void>;
  /** Resolves once every request received on this connection has been answered. */
  idle(): Promise<void>;
  /** The owner's one-time prekeys of `suite` are down to `count`: it should refill. Must not throw. */
  lowPrekeys(suite: number, count: number): void;
}

/** What authenticated a connection: it must end when this does (docs/api.md, close code 4401). */
export interface PushSession {
  readonly tokenId: string;
  readonly expiresAt: number;
  /**
   * When the connection authenticated (relay clock). A session older than its username's account was
   * opened by an earlier holder of the name (src/relay/erasure-watch.ts).
   */
  readonly authenticatedAt?: number;
}

export class DeliveryHub {
  readonly #online = new Map<string, Set<PushTarget>>();
  readonly #sessions = new Map<PushTarget, PushSession & { readonly username: string }>();
  /** Every open connection, authenticated or not, so shutdown reaches them all. */
  readonly #all = new Set<PushTarget>();
  /**
   * Told when a user gets a first connection here (true) and loses the last (false): a cluster
   * subscribes to that user's wake-up channel only while it is needed (src/relay/cluster).
   */
  onPresence: ((username: string, present: boolean) => void) | null = null;

  attach(target: PushTarget): void {
    this.#all.add(target);
  }

  detach(target: PushTarget): void {
    this.#all.delete(target);
  }

  add(username: string, target: PushTarget, session?: PushSession): void {
    if (session !== undefined) this.#sessions.set(target, { ...session, username });
    let set = this.#online.get(username);
    if (set === undefined) {
      set = new Set();
      this.#online.set(username, set);
      this.onPresence?.(username, true);
    }
    set.add(target);
  }

  remove(username: string, target: PushTarget): void {
    this.#sessions.delete(target);
    const set = this.#online.get(username);
    if (set === undefined) return;
    set.delete(target);
    if (set.size === 0) {
      this.#online.delete(username);
      this.onPresence?.(username, false);
    }
  }

  notify(username: string): void {
    const set = this.#online.get(username);
    if (set === undefined) return;
    for (const target of set) target.notify();
  }

  /** Every connection re-reads its mailbox (safety poll, and after a lost wake-up channel returns). */
  notifyAll(): void {
    for (const set of this.#online.values()) for (const target of set) target.notify();
  }

  /** Tells every connection of `username` that its one-time prekeys of `suite` run low. */
  lowPrekeys(username: string, suite: number, count: number): void {
    const set = this.#online.get(username);
    if (set === undefined) return;
    for (const target of set) target.lowPrekeys(suite, count);
  }

  get connections(): number {
    let total = 0;
    for (const set of this.#online.values()) total += set.size;
    return total;
  }

  /** Waits until every connection has answered what it received (used while draining). */
  async idle(): Promise<void> {
    await Promise.all([...this.#all].map((target) => target.idle()));
  }

  /**
   * Keeps at most `keep` connections of `username`, closing the oldest beyond that (a Set iterates in
   * insertion order). The per-account cap: one account's sockets cannot take the relay's memory.
   */
  trim(username: string, keep: number, code: number, reason: string): number {
    const set = this.#online.get(username);
    if (set === undefined || set.size <= keep) return 0;
    const oldest = [...set].slice(0, set.size - keep);
    for (const target of oldest) target.close(code, reason);
    return oldest.length;
  }

  /** Closes the connections a revoked token authenticated. Returns how many. */
  closeToken(tokenId: string, code: number, reason: string): number {
    return this.#closeWhere((session) => session.tokenId === tokenId, code, reason);
  }

  /** The usernames with an authenticated connection here. */
  onlineUsers(): string[] {
    return [...new Set([...this.#sessions.values()].map((session) => session.username))];
  }

  /** Closes every connection of a user (their identity record changed). Returns how many. */
  closeUser(username: string, code: number, reason: string): number {
    return this.#closeWhere((session) => session.username === username, code, reason);
  }

  /**
   * The authenticated connections of `username` here (of every user when null) with their token ids: a
   * cluster checks them against the shared token table when another relay revoked tokens
   * (src/relay/cluster/cluster-link.ts).
   */
  sessionsOf(
    username: string | null,
  ): { target: PushTarget; tokenId: string; authenticatedAt: number | undefined }[] {
    return [...this.#sessions]
      .filter(([, session]) => username === null || session.username === username)
      .map(([target, session]) => ({
        target,
        tokenId: session.tokenId,
        authenticatedAt: session.authenticatedAt,
      }));
  }

  /** Closes the connections whose token has expired by `now`. Returns how many. */
  closeExpired(now: number, code: number, reason: string): number {
    return this.#closeWhere((session) => session.expiresAt <= now, code, reason);
  }

  #closeWhere(
    matches: (session: PushSession & { readonly username: string }) => boolean,
    code: number,
    reason: string,
  ): number {
    const targets = [...this.#sessions].filter(([, session]) => matches(session)).map(([target]) => target);
    for (const target of targets) target.close(code, reason);
    return targets.length;
  }

  /**
   * Drains every connection in `batches` groups, the first at once and the last `periodMs` later: a
   * relay that restarts must not send all its clients to the other relays in the same instant.
   * Connections that close by themselves meanwhile are skipped.
   */
  async drainAll(code: number, reason: string, periodMs: number, batches: number): Promise<void> {
    const targets = [...this.#all];
    const size = Math.max(1, Math.ceil(targets.length / batches));
    const count = Math.ceil(targets.length / size);
    const drains: Promise<void>[] = [];
    for (let batch = 0; batch < count; batch++) {
      if (batch > 0) await new Promise((resolve) => setTimeout(resolve, periodMs / Math.max(1, count - 1)));
      for (const target of targets.slice(batch * size, (batch + 1) * size))
        if (this.#all.has(target)) drains.push(target.drain(code, reason));
    }
    await Promise.all(drains);
  }

  closeAll(code: number, reason: string): void {
    for (const target of [...this.#all]) target.close(code, reason);
  }
}
