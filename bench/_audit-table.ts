// Small table printer and JSON writer for bench/audit.ts (a shared bench harness does not exist yet).
import { mkdirSync, writeFileSync } from "node:fs";

export interface BenchRow {
  readonly operation: string;
  readonly store: string;
  /** Log size the operation ran at; 0 when not size-dependent. */
  readonly size: number;
  readonly opsPerSecond: number;
  /** Cost of one operation in baseline operations (SHA-256 node hashes) measured in the same run. */
  readonly baselineRatio: number;
}

/** Runs `op` repeatedly for at least `minMs` (and at least `minOps` times); returns operations per second. */
export async function measure(op: () => unknown, minMs = 400, minOps = 5): Promise<number> {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs || ops < minOps) {
    const result = op();
    if (result instanceof Promise) await result;
    ops++;
    elapsed = performance.now() - start;
  }
  return (ops * 1000) / elapsed;
}

function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k/s`;
  return `${rate.toFixed(1)} /s`;
}

export function printTable(title: string, rows: readonly BenchRow[]): void {
  const header = ["operation", "store", "size", "rate", "cost in node hashes"];
  const body = rows.map((row) => [
    row.operation,
    row.store,
    row.size === 0 ? "-" : row.size.toLocaleString("en-US"),
    formatRate(row.opsPerSecond),
    row.baselineRatio.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(" | ")} |`;
  process.stdout.write(`\n${title}\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n`);
  for (const cells of body) process.stdout.write(`${line(cells)}\n`);
}

export function writeResults(name: string, data: unknown): string {
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}-latest.json`, dir);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file.pathname;
}
