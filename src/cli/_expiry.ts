import { NanoError } from "../errors/index.ts";
import { MAX_EXPIRE_SECONDS } from "../protocol/content.ts";

/**
 * `--expire` of `send` and `conversations set` (docs/client.md "Disappearing messages"): a duration
 * in one unit (`30s`, `10m`, `1h`, `7d`, `2w`) from 1 second to 365 days, or `off`.
 */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** The timer in ms (what the SDK takes), or null for `off`. */
export function parseExpire(text: string): number | null {
  if (text === "off") return null;
  const match = /^(\d{1,9})([smhdw])$/.exec(text);
  const seconds = match === null ? Number.NaN : Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  if (!(seconds >= 1 && seconds <= MAX_EXPIRE_SECONDS))
    throw new NanoError(
      "invalid_argument",
      `--expire "${text}" is not a timer from 1s to 365d (30s, 10m, 1h, 7d, 2w) or off`,
    );
  return seconds * 1000;
}

/** A timer as `--expire` takes it: the largest unit that divides it (`3600` -> `1h`, `90` -> `90s`). */
export function formatExpire(seconds: number): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
