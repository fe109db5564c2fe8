/**
 * WebSocket close codes of `/v1/ws` (docs/api.md "WebSocket"), one definition for the relay that
 * closes with them and the clients that react to them. 1000-1013 are RFC 6455 §7.4.1 codes; 44xx are
 * private-use codes (4000-4999) shaped like the HTTP status they mirror.
 */
export const CLOSE = Object.freeze({
  /** The client ended the connection (it closes for good; no reconnect). */
  NORMAL: 1000,
  /** The rest of a drain that ran out of grace: reconnect with backoff. */
  GOING_AWAY: 1001,
  /** Never sent: what a runtime reports for a connection that ended without a close frame. */
  ABNORMAL: 1006,
  /** Policy: a malformed frame before authentication, or too many after it. */
  PROTOCOL: 1008,
  /** A frame over the receiver's limit (`ws` closes with it on either side; the browser's socket too). */
  MESSAGE_TOO_BIG: 1009,
  /** The relay could not do what was asked (a send's store failed): reconnect and resend in order. */
  INTERNAL_ERROR: 1011,
  /** The relay drains for a restart: everything sent before was answered; reconnect at once, jittered. */
  SERVICE_RESTART: 1012,
  /** Too many unauthenticated connections from the address, memory budget, or connect rate. */
  TRY_AGAIN_LATER: 1013,
  /** Authentication failed or ended; the reason names why (CLOSE_REASONS, or the auth error code). */
  UNAUTHENTICATED: 4401,
  /** A newer connection of the account took over (`connection_limit`, `session_replaced`). */
  REPLACED: 4409,
});

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** Close reasons the relay gives with 4401 / 4409 when a session ends for a reason of its own. */
export const CLOSE_REASONS = Object.freeze({
  tokenExpired: "token_expired",
  tokenRevoked: "token_revoked",
  tokenIdle: "token_idle",
  identityUpdated: "identity_updated",
  accountDeleted: "account_deleted",
  connectionLimit: "connection_limit",
  sessionReplaced: "session_replaced",
});
