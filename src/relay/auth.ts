import { blake2b, randomBytes, toHex } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import type { AccountStore } from "../store/types.ts";
import type { Clock } from "./clock.ts";

export type ChallengePurpose = "claim" | "auth";

interface IssuedChallenge {
  readonly purpose: ChallengePurpose;
  readonly username: string;
  readonly expiresAt: number;
}

/** Bound on outstanding challenges: issuing is cheap for a client, so memory must not be. */
const MAX_OUTSTANDING = 100_000;
export const CHALLENGE_BYTES = 32;
const TOKEN_BYTES = 32;

/**
 * Where challenges live: in memory on one relay (ChallengeBook), in PostgreSQL for a cluster
 * (src/relay/cluster/postgres-challenges.ts). Callers await every call.
 */
export interface ChallengeKeeper {
  issue(
    purpose: ChallengePurpose,
    username: string,
  ): { challenge: Uint8Array; expiresAt: number } | Promise<{ challenge: Uint8Array; expiresAt: number }>;
  /** Consumes a challenge; throws challenge_invalid if unknown, used, expired or issued for something else. */
  take(challenge: Uint8Array, purpose: ChallengePurpose, username: string): void | Promise<void>;
  sweep(): number | Promise<number>;
}

/**
 * Single-use relay challenges. Each is bound to a purpose and a username, so a challenge issued for
 * logging in as bob cannot be replayed to claim a name or to log in as alice; it is deleted on first
 * use whether or not the answer verifies, so a captured answer can never be replayed.
 */
export class ChallengeBook implements ChallengeKeeper {
  readonly #issued = new Map<string, IssuedChallenge>();
  readonly #clock: Clock;
  readonly #lifetimeMs: number;

  constructor(clock: Clock, lifetimeSeconds: number) {
    this.#clock = clock;
    this.#lifetimeMs = lifetimeSeconds * 1000;
  }

  issue(purpose: ChallengePurpose, username: string): { challenge: Uint8Array; expiresAt: number } {
    if (this.#issued.size >= MAX_OUTSTANDING) this.sweep();
    if (this.#issued.size >= MAX_OUTSTANDING) {
      // Oldest first: Map iteration is insertion order.
      const oldest = this.#issued.keys().next().value;
      if (oldest !== undefined) this.#issued.delete(oldest);
    }
    const challenge = randomBytes(CHALLENGE_BYTES);
    const expiresAt = this.#clock.now() + this.#lifetimeMs;
    this.#issued.set(toHex(challenge), { purpose, username, expiresAt });
    return { challenge, expiresAt };
  }

  /** Consumes a challenge; throws challenge_invalid if unknown, used, expired or issued for something else. */
  take(challenge: Uint8Array, purpose: ChallengePurpose, username: string): void {
    const key = toHex(challenge);
    const issued = this.#issued.get(key);
    this.#issued.delete(key);
    if (
      issued === undefined ||
      issued.purpose !== purpose ||
      issued.username !== username ||
      issued.expiresAt <= this.#clock.now()
    ) {
      throw new NanoError(
        "challenge_invalid",
        "the challenge is unknown, used, expired or for another purpose",
      );
    }
  }

  sweep(): number {
    const now = this.#clock.now();
    let removed = 0;
    for (const [key, issued] of this.#issued) {
      if (issued.expiresAt <= now) {
        this.#issued.delete(key);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.#issued.size;
  }
}

export interface TokenSession {
  readonly username: string;
  readonly expiresAt: number;
  readonly tokenId: string;
}

/**
 * Where the relays of a cluster note each token's uses for the idle timeout (Redis: cluster-link.ts).
 * A relay sees only the requests that reach it, so before logging a token off as idle it asks whether
 * any relay used it within the timeout.
 */
export interface TokenUseLedger {
  /** Notes a use of `tokenId` now, kept for `idleMs`. Best effort, never throws. */
  record(tokenId: string, idleMs: number): void;
  /** Whether any relay noted a use within the timeout; null when it cannot tell (Redis down). */
  usedRecently(tokenId: string): Promise<boolean | null>;
}

/** A token's uses are noted in the ledger at most this often per relay (and at least 10 times per timeout). */
const LEDGER_EVERY_MS = 30_000;

/**
 * Bearer tokens: 256 random bits, handed to the client once and stored only as BLAKE2b-512, so the
 * database (or a backup of it) cannot be used to log in.
 */
export class TokenService {
  readonly #accounts: AccountStore;
  readonly #clock: Clock;
  readonly #lifetimeMs: number;
  readonly #idleMs: number;
  /**
   * Token id -> last use here, for the idle timeout. A token first seen here (after a restart, or on
   * another relay of a cluster) starts its idle time at that use; in a cluster the ledger has the final
   * word before a token is logged off.
   */
  readonly #lastUse = new Map<string, number>();
  /** The cluster's ledger of uses, and when this relay last noted each token there. */
  #ledger: TokenUseLedger | null = null;
  readonly #notedAt = new Map<string, number>();

  constructor(accounts: AccountStore, clock: Clock, lifetimeSeconds: number, idleTimeoutSeconds = 0) {
    this.#accounts = accounts;
    this.#clock = clock;
    this.#lifetimeMs = lifetimeSeconds * 1000;
    this.#idleMs = idleTimeoutSeconds * 1000;
  }

  /**
   * Mints a token bound to the device certificate that earned it: `identityHash` is the record the
   * certificate was verified against (the token is refused if that record was replaced meanwhile, and
   * deleted when it is replaced later), `notAfter` the certificate's expiry, which caps the lifetime.
   */
  async issue(
    username: string,
    identityHash: Uint8Array,
    notAfter = Number.POSITIVE_INFINITY,
  ): Promise<{ token: string; expiresAt: number }> {
    const raw = randomBytes(TOKEN_BYTES);
    const expiresAt = Math.min(this.#clock.now() + this.#lifetimeMs, notAfter);
    if (!(await this.#accounts.putToken(blake2b(raw), { username, expiresAt }, identityHash))) {
      throw new NanoError(
        "certificate_mismatch",
        "the identity record changed during the login; log in with a device of the current record",
      );
    }
    return { token: Buffer.from(raw).toString("base64url"), expiresAt };
  }

  /** Shares token uses with the other relays of a cluster (server.ts, when Redis is configured). */
  shareUses(ledger: TokenUseLedger): void {
    this.#ledger = ledger;
  }

  #used(tokenId: string, now: number): void {
    this.#lastUse.set(tokenId, now);
    const ledger = this.#ledger;
    if (ledger === null) return;
    const noted = this.#notedAt.get(tokenId);
    if (noted !== undefined && now - noted < Math.min(LEDGER_EVERY_MS, this.#idleMs / 10)) return;
    this.#notedAt.set(tokenId, now);
    ledger.record(tokenId, this.#idleMs);
  }

  /**
   * Idle here: is it idle everywhere? Without a ledger, yes. With one, a use on another relay keeps
   * the token (and restarts its idle time here), and so does not knowing (Redis down): logging off a
   * user who is active elsewhere is the worse mistake; the next sweep asks again.
   */
  async #idleEverywhere(tokenId: string, now: number): Promise<boolean> {
    if (this.#ledger === null) return true;
    const recent = await this.#ledger.usedRecently(tokenId);
    if (recent === false) return true;
    if (recent === true) this.#lastUse.set(tokenId, now);
    return false;
  }

  /** Returns the username a token belongs to, or throws unauthenticated / token_expired. */
  async verify(token: string): Promise<string> {
    return (await this.session(token)).username;
  }

  /**
   * As `verify`, with what a long-lived session needs to end when its token does: the expiry and an
   * id of the token (hex of its stored hash, never the token) so a revocation can find the session.
   */
  async session(token: string): Promise<TokenSession> {
    const raw = decodeToken(token);
    const tokenHash = blake2b(raw);
    const record = await this.#accounts.getToken(tokenHash);
    if (record === null) throw new NanoError("unauthenticated", "unknown token; log in again");
    const now = this.#clock.now();
    if (record.expiresAt <= now) throw new NanoError("token_expired", "the token has expired");
    const tokenId = toHex(tokenHash);
    if (this.#idleMs > 0) {
      const last = this.#lastUse.get(tokenId);
      if (last !== undefined && now - last >= this.#idleMs && (await this.#idleEverywhere(tokenId, now))) {
        this.#forget(tokenId);
        await this.#accounts.deleteToken(tokenHash);
        throw new NanoError(
          "token_expired",
          "the token was unused longer than the idle timeout; log in again",
        );
      }
      this.#used(tokenId, now);
    }
    return { username: record.username, expiresAt: record.expiresAt, tokenId };
  }

  /** A frame from a WebSocket session counts as use of its token (idle timeout). */
  touch(tokenId: string): void {
    if (this.#idleMs > 0 && this.#lastUse.has(tokenId)) this.#used(tokenId, this.#clock.now());
  }

  /**
   * Deletes the tokens idle for the timeout (and forgets entries older than any token can live) and
   * returns their ids, so the caller can close their sessions. The sweeper calls it.
   */
  async expireIdle(): Promise<string[]> {
    if (this.#idleMs === 0) return [];
    const now = this.#clock.now();
    const idle: string[] = [];
    for (const [tokenId, last] of [...this.#lastUse])
      if (now - last >= this.#idleMs && (await this.#idleEverywhere(tokenId, now))) {
        this.#forget(tokenId);
        idle.push(tokenId);
      }
    for (const tokenId of idle) await this.#accounts.deleteToken(new Uint8Array(Buffer.from(tokenId, "hex")));
    return idle;
  }

  #forget(tokenId: string): void {
    this.#lastUse.delete(tokenId);
    this.#notedAt.delete(tokenId);
  }

  /** Token id (see `session`) of a presented token, for closing the sessions it authenticated. */
  tokenId(token: string): string {
    return toHex(blake2b(decodeToken(token)));
  }

  async revoke(token: string): Promise<void> {
    await this.#accounts.deleteToken(blake2b(decodeToken(token)));
  }
}

function decodeToken(token: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new NanoError("unauthenticated", "malformed token");
  return new Uint8Array(Buffer.from(token, "base64url"));
}

/** Extracts the token from `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined) throw new NanoError("unauthenticated", "missing Authorization: Bearer token");
  const match = /^Bearer ([^\s]+)$/i.exec(header);
  if (match === null) throw new NanoError("unauthenticated", "Authorization must be `Bearer <token>`");
  return match[1]!;
}
