import { toHex } from "../../crypto/bytes.ts";
import type { SessionRecord } from "./local-records.ts";

/**
 * The sessions of one group commit (local-commit-queue.ts), held in memory from the batch's first read
 * of a peer to its COMMIT, so a burst of sends and receives on one session reads its row once and
 * writes it once: every message used to open, decode, encode, seal and `UPDATE` the whole session row
 * (several kilobytes for a hybrid session, rewritten under secure_delete) and read and write the state
 * counter, the largest client-side cost per message after the commit itself (docs/performance.md).
 *
 * Why this keeps the guarantees (docs/client.md "Exactly once" and "Forward secrecy"): the works of a
 * batch commit together or not at all, so the database holds the session's state after the batch's
 * last successful work, together with every outbox entry and received row of the batch — the same
 * state the per-message writes left behind, without the intermediate ones (whose chain keys then
 * never reach the disk at all). A work that fails is undone to its savepoint in SQLite and here alike
 * (`savepoint`/`rollback`), so the next work reads exactly the state before the failed one. A batch
 * that does not commit (a failed COMMIT, a crash) leaves the rows as they were before it.
 *
 * Node-free (the browser store could hold its sessions the same way; it commits each work alone and
 * already seals a work's rows once, at its commit). Records handed out are copies, and every record
 * that leaves (superseded, rolled back, the batch ended) has its bytes zeroed.
 */
export class BatchSessions {
  /** Per peer: that peer's sessions by hex session id, as the batch sees them. Replaced, never mutated. */
  #peers = new Map<string, PeerSessions>();
  /** `#peers` as it was when the running work's savepoint was taken. */
  #saved: Map<string, PeerSessions> | null = null;
  #active = false;

  /** Whether a batch is open: outside one, session reads and writes go straight to the rows. */
  get active(): boolean {
    return this.#active;
  }

  /** A batch's transaction began. */
  begin(): void {
    this.#discard();
    this.#active = true;
  }

  /** A work is about to run in its savepoint. */
  savepoint(): void {
    this.#saved = new Map(this.#peers);
  }

  /** The running work failed and its rows were rolled back to its savepoint: so is what is held. */
  rollback(): void {
    const saved = this.#saved ?? new Map<string, PeerSessions>();
    const kept = new Set<SessionRecord>();
    for (const entry of saved.values()) for (const record of entry.sessions.values()) kept.add(record);
    for (const entry of this.#peers.values()) {
      for (const record of entry.sessions.values()) if (!kept.has(record)) wipe(record);
    }
    this.#peers = new Map(saved);
  }

  /** The peer's sessions as the batch sees them (copies), or undefined before its first read. */
  get(peer: string): SessionRecord[] | undefined {
    const entry = this.#peers.get(peer);
    return entry === undefined ? undefined : [...entry.sessions.values()].map(copyRecord);
  }

  /** What the rows hold for `peer` (read once per batch): what later reads start from. */
  loaded(peer: string, sessions: readonly SessionRecord[]): void {
    const map = new Map<string, SessionRecord>();
    for (const session of sessions) map.set(toHex(session.sessionId), copyRecord(session));
    this.#peers.set(peer, { sessions: map, dirty: new Set() });
  }

  /** A session write, held until `take`; the peer's rows must have been `loaded` first. */
  put(session: SessionRecord): void {
    const entry = this.#peers.get(session.peer);
    if (entry === undefined) throw new Error("a held session write before its peer was loaded");
    const key = toHex(session.sessionId);
    const sessions = new Map(entry.sessions);
    const previous = sessions.get(key);
    sessions.set(key, copyRecord(session));
    this.#peers.set(session.peer, { sessions, dirty: new Set(entry.dirty).add(key) });
    if (previous !== undefined && !this.#inSaved(session.peer, key, previous)) wipe(previous);
  }

  /** The session's row was deleted (the caller deletes it in the same transaction). */
  delete(sessionId: Uint8Array): void {
    const key = toHex(sessionId);
    for (const [peer, entry] of this.#peers) {
      const previous = entry.sessions.get(key);
      if (previous === undefined) continue;
      const sessions = new Map(entry.sessions);
      sessions.delete(key);
      const dirty = new Set(entry.dirty);
      dirty.delete(key);
      this.#peers.set(peer, { sessions, dirty });
      if (!this.#inSaved(peer, key, previous)) wipe(previous);
    }
  }

  /** The sessions written since the batch began, in the order first written, each once (its last state). */
  written(): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const entry of this.#peers.values())
      for (const key of entry.dirty) out.push(copyRecord(entry.sessions.get(key)!));
    return out;
  }

  /** The batch ended (committed or not): nothing is held any more. */
  end(): void {
    this.#discard();
    this.#active = false;
  }

  #inSaved(peer: string, key: string, record: SessionRecord): boolean {
    return this.#saved?.get(peer)?.sessions.get(key) === record;
  }

  #discard(): void {
    for (const map of [this.#peers, this.#saved ?? new Map<string, PeerSessions>()])
      for (const entry of map.values()) for (const record of entry.sessions.values()) wipe(record);
    this.#peers = new Map();
    this.#saved = null;
  }
}

interface PeerSessions {
  readonly sessions: ReadonlyMap<string, SessionRecord>;
  /** Session ids written in this batch (the rest are as the rows hold them). */
  readonly dirty: ReadonlySet<string>;
}

function copyRecord(session: SessionRecord): SessionRecord {
  return { ...session, sessionId: Uint8Array.from(session.sessionId), state: Uint8Array.from(session.state) };
}

/** The held copy's state holds chain keys: zeroed when it leaves, as the opened-row memory does. */
function wipe(session: SessionRecord): void {
  session.state.fill(0);
}
