/**
 * Sizes for people (`12.3 MiB`), wherever a command, an error or a health report states a size:
 * every layer speaks to people through its messages, so this sits below them all. Binary units,
 * because the limits sizes are compared with (64 KiB envelopes, 100 MiB attachments) are binary.
 */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  // Three significant digits at most, without a trailing ".0": 1 KiB, 1.5 KiB, 12.3 MiB, 100 MiB.
  const text = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  return `${trimmed} ${UNITS[unit]}`;
}
