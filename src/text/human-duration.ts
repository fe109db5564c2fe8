/**
 * Spans of time for people ("1 day", "3 hours", "12 minutes"), in the largest unit the span reaches
 * once rounded to the next smaller unit: a clock measured a second short of a day ahead (a Date header
 * has whole seconds, a request takes time) is "1 day", not "24 hours". An error about a wrong clock
 * needs the size of the error, not its milliseconds.
 */
const UNITS = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
] as const;

export function humanDuration(milliseconds: number): string {
  const span = Math.abs(milliseconds);
  for (const [index, [name, size]] of UNITS.entries()) {
    const smaller = UNITS[index + 1]?.[1] ?? 1;
    if (Math.round(span / smaller) * smaller >= size || name === "second") {
      const count = Math.max(1, Math.round(span / size));
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${span} ms`;
}
