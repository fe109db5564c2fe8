import type { ChallengePurpose } from "../auth.ts";
import type { RelayConfig } from "../config/schema.ts";

/**
 * The messages between `nano-relay serve`'s supervisor and its workers (Node's IPC channel of a
 * forked child: JSON, ordered, gone when either process dies). One definition of each, used by both
 * sides.
 */

/** Supervisor -> worker. */
export type ToWorker =
  /** The first message: the validated configuration (ports already fixed) and who the worker is. */
  | {
      readonly type: "start";
      readonly config: RelayConfig;
      readonly worker: number;
      readonly generation: number;
    }
  /** A send committed on another worker: wake this recipient's connections here. */
  | { readonly type: "wake"; readonly recipient: string }
  /** What /readyz would answer; the answer carries the same ref. */
  | { readonly type: "health"; readonly ref: number }
  /** The answer to a challenge request: the issued challenge (base64), or whether a take succeeded. */
  | {
      readonly type: "challenge";
      readonly ref: number;
      readonly ok: boolean;
      readonly challenge?: string;
      readonly expires_at?: number;
    };

/** Worker -> supervisor. */
export type FromWorker =
  | {
      readonly type: "listening";
      readonly api_port: number;
      readonly websocket_port: number;
      readonly api_url: string;
      readonly websocket_url: string;
    }
  /** The relay could not start (the reason names what, e.g. an unreachable database). */
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "wake"; readonly recipient: string }
  | {
      readonly type: "health";
      readonly ref: number;
      readonly ready: boolean;
      readonly body: Record<string, unknown>;
    }
  /**
   * Challenges live in the supervisor: a client asks one worker for a challenge and answers through a
   * new connection, which the kernel may give to another worker.
   */
  | {
      readonly type: "challenge.issue";
      readonly ref: number;
      readonly purpose: ChallengePurpose;
      readonly username: string;
    }
  | {
      readonly type: "challenge.take";
      readonly ref: number;
      readonly challenge: string;
      readonly purpose: ChallengePurpose;
      readonly username: string;
    };

function isPurpose(value: unknown): value is ChallengePurpose {
  return value === "claim" || value === "auth";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Narrows an IPC message from a worker; anything else is ignored (never trusted blindly). */
export function fromWorker(value: unknown): FromWorker | null {
  if (!isObject(value)) return null;
  switch (value.type) {
    case "listening":
      return typeof value.api_port === "number" &&
        typeof value.websocket_port === "number" &&
        typeof value.api_url === "string" &&
        typeof value.websocket_url === "string"
        ? (value as FromWorker)
        : null;
    case "failed":
      return typeof value.message === "string" ? (value as FromWorker) : null;
    case "wake":
      return typeof value.recipient === "string" ? (value as FromWorker) : null;
    case "health":
      return typeof value.ref === "number" && typeof value.ready === "boolean" && isObject(value.body)
        ? (value as FromWorker)
        : null;
    case "challenge.issue":
      return typeof value.ref === "number" && isPurpose(value.purpose) && typeof value.username === "string"
        ? (value as FromWorker)
        : null;
    case "challenge.take":
      return typeof value.ref === "number" &&
        typeof value.challenge === "string" &&
        isPurpose(value.purpose) &&
        typeof value.username === "string"
        ? (value as FromWorker)
        : null;
    default:
      return null;
  }
}

export function toWorker(value: unknown): ToWorker | null {
  if (!isObject(value)) return null;
  switch (value.type) {
    case "start":
      return isObject(value.config) &&
        typeof value.worker === "number" &&
        typeof value.generation === "number"
        ? (value as ToWorker)
        : null;
    case "wake":
      return typeof value.recipient === "string" ? (value as ToWorker) : null;
    case "health":
      return typeof value.ref === "number" ? (value as ToWorker) : null;
    case "challenge":
      return typeof value.ref === "number" && typeof value.ok === "boolean" ? (value as ToWorker) : null;
    default:
      return null;
  }
}
