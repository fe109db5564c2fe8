import type { Writable } from "node:stream";

/**
 * A one-line progress bar on stderr for large attachments. Only on a terminal (a script's stderr gets
 * no carriage-return noise) and only above `threshold` bytes; redrawn at most once per percent.
 */
export const PROGRESS_THRESHOLD = 1024 * 1024;

export function progressBar(
  stream: Writable & { isTTY?: boolean },
  label: string,
  threshold = PROGRESS_THRESHOLD,
): ((done: number, total: number) => void) | undefined {
  if (stream.isTTY !== true) return undefined;
  let last = -1;
  return (done, total) => {
    if (total < threshold) return;
    const percent = Math.min(100, Math.floor((done / total) * 100));
    if (percent === last) return;
    last = percent;
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    stream.write(
      `\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(percent).padStart(3)}% ${mib(done)}/${mib(total)} MiB`,
    );
    if (percent === 100) stream.write("\n");
  };
}
