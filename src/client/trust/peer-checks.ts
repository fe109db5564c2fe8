import { equalBytes } from "../../crypto/bytes.ts";

/**
 * How long an open client trusts its last check of a peer's record (the relay's current record equal
 * to the pinned one, with a valid key-transparency proof) before asking the relay again on a send.
 * Without it every send on an open session cost one request and one record verification; with it a
 * peer's identity replacement blocks this client's sends at most this long after it happened (its
 * messages are refused at once on receive, and the peer's client rejects stale-session messages).
 */
export const PEER_RECHECK_MS = 5 * 60_000;

/** Per open client (ClientContext.peerChecks), memory only: peer -> the pinned record last checked, and when. */
export class PeerChecks {
  readonly #checked = new Map<string, { record: Uint8Array; at: number }>();

  /** True when `pinned` is the record last checked for `peer`, less than PEER_RECHECK_MS ago. */
  recent(peer: string, pinned: Uint8Array, now: number): boolean {
    const entry = this.#checked.get(peer);
    // A different pinned record (trusted, replaced) was never checked: ask the relay.
    return (
      entry !== undefined &&
      now - entry.at < PEER_RECHECK_MS &&
      now >= entry.at &&
      equalBytes(entry.record, pinned)
    );
  }

  remember(peer: string, record: Uint8Array, now: number): void {
    this.#checked.set(peer, { record: Uint8Array.from(record), at: now });
  }

  forget(peer: string): void {
    this.#checked.delete(peer);
  }

  clear(): void {
    this.#checked.clear();
  }
}
