/**
 * Spans of time for people ("1 day", "3 hours", "12 minutes"), rounded to the largest unit that
 * fits: an error about a wrong clock needs the size of the error, not its milliseconds.
 */
const UNITS = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
] as const;

export function humanDuration(milliseconds: number): string {
  const span = Math.abs(milliseconds);
  for (const [name, size] of UNITS) {
    if (span >= size || name === "second") {
      const count = Math.round(span / size);
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${span} ms`;
}
