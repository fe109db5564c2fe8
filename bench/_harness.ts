// Shared benchmark helpers: measure operations per second of a sync or async function, print an aligned
// table, write JSON under bench/results/, describe the machine. Shared machines are noisy, so every
// measurement is several timed samples after a warm-up and we report the median sample and the spread;
// benchmarks compare operations measured in the same run rather than against numbers from another day.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, freemem, loadavg, totalmem } from "node:os";
import { performance } from "node:perf_hooks";

export interface MeasureOptions {
  /** Time spent running the operation before timing starts (JIT, caches, lazy OpenSSL init). */
  readonly warmupMs: number;
  /** Wall-clock length of one timed sample. */
  readonly sampleMs: number;
  readonly samples: number;
  /** At least this many operations per sample, even if that overruns `sampleMs` (slow operations). */
  readonly minOpsPerSample: number;
}

export const FULL: MeasureOptions = Object.freeze({
  warmupMs: 200,
  sampleMs: 300,
  samples: 5,
  minOpsPerSample: 1,
});
export const QUICK: MeasureOptions = Object.freeze({
  warmupMs: 30,
  sampleMs: 80,
  samples: 3,
  minOpsPerSample: 1,
});

export interface Measurement {
  readonly group: string;
  readonly name: string;
  /** Median of the samples' rates. */
  readonly opsPerSec: number;
  readonly microsPerOp: number;
  /** Bytes processed by one operation, when throughput is the point (AEAD, hashing). */
  readonly bytesPerOp: number | null;
  readonly megabytesPerSec: number | null;
  /** (max - min) / median of the sample rates, in percent: how far to trust the number. */
  readonly spreadPercent: number;
  readonly totalOps: number;
  /** Ratio of this rate to a baseline measured in the same run (e.g. the classical suite), if any. */
  ratio: number | null;
  ratioTo: string | null;
}

type Operation = () => unknown;
type AsyncOperation = () => Promise<unknown>;

/** Keeps results observable so no engine can discard the work; never read. */
let sink: unknown;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summarize(
  group: string,
  name: string,
  rates: readonly number[],
  totalOps: number,
  bytesPerOp: number | null,
): Measurement {
  const opsPerSec = median(rates);
  const spread = rates.length > 1 ? ((Math.max(...rates) - Math.min(...rates)) / opsPerSec) * 100 : 0;
  return {
    group,
    name,
    opsPerSec,
    microsPerOp: 1e6 / opsPerSec,
    bytesPerOp,
    megabytesPerSec: bytesPerOp === null ? null : (opsPerSec * bytesPerOp) / 1e6,
    spreadPercent: spread,
    totalOps,
    ratio: null,
    ratioTo: null,
  };
}

function runSample(operation: Operation, sampleMs: number, minOps: number): { ops: number; rate: number } {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < sampleMs || ops < minOps) {
    sink = operation();
    ops++;
    now = performance.now();
  }
  return { ops, rate: (ops * 1000) / (now - start) };
}

function warmUp(operation: Operation, warmupMs: number): void {
  const warmupEnd = performance.now() + warmupMs;
  do sink = operation();
  while (performance.now() < warmupEnd);
}

/** Measures a synchronous operation. `bytesPerOp` adds a MB/s column (10^6 bytes). */
export function measure(
  group: string,
  name: string,
  operation: Operation,
  options: MeasureOptions,
  bytesPerOp: number | null = null,
): Measurement {
  return measureInterleaved([{ group, name, operation, bytesPerOp }], options)[0]!;
}

export interface Candidate {
  readonly group: string;
  readonly name: string;
  readonly operation: Operation;
  readonly bytesPerOp: number | null;
}

/**
 * Measures several operations with their samples taken in turn (A1 B1 C1 A2 B2 C2 ...), so a burst of
 * load from another process lands on all of them rather than on one: ratios between them stay
 * meaningful on a shared machine even when the absolute numbers drift.
 */
export function measureInterleaved(candidates: readonly Candidate[], options: MeasureOptions): Measurement[] {
  for (const candidate of candidates) warmUp(candidate.operation, options.warmupMs);
  const rates = candidates.map((): number[] => []);
  const totals = candidates.map(() => 0);
  for (let sample = 0; sample < options.samples; sample++) {
    for (const [index, candidate] of candidates.entries()) {
      const { ops, rate } = runSample(candidate.operation, options.sampleMs, options.minOpsPerSample);
      rates[index]!.push(rate);
      totals[index]! += ops;
    }
  }
  return candidates.map((candidate, index) =>
    summarize(candidate.group, candidate.name, rates[index]!, totals[index]!, candidate.bytesPerOp),
  );
}

/** Measures an asynchronous operation, one call in flight at a time (latency-bound, like a CLI). */
export async function measureAsync(
  group: string,
  name: string,
  operation: AsyncOperation,
  options: MeasureOptions,
  bytesPerOp: number | null = null,
): Promise<Measurement> {
  const warmupEnd = performance.now() + options.warmupMs;
  do sink = await operation();
  while (performance.now() < warmupEnd);
  const rates: number[] = [];
  let totalOps = 0;
  for (let sample = 0; sample < options.samples; sample++) {
    let ops = 0;
    const start = performance.now();
    let now = start;
    while (now - start < options.sampleMs || ops < options.minOpsPerSample) {
      sink = await operation();
      ops++;
      now = performance.now();
    }
    rates.push((ops * 1000) / (now - start));
    totalOps += ops;
  }
  return summarize(group, name, rates, totalOps, bytesPerOp);
}

/** Sets `ratio` on each measurement to its rate divided by the baseline's (same run). */
export function relateTo(measurement: Measurement, baseline: Measurement | undefined, label: string): void {
  if (baseline === undefined) return;
  measurement.ratio = measurement.opsPerSec / baseline.opsPerSec;
  measurement.ratioTo = label;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly loadAverage1m: number;
  readonly totalMemoryMiB: number;
  readonly freeMemoryMiB: number;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly openssl: string;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    loadAverage1m: loadavg()[0] ?? 0,
    totalMemoryMiB: Math.round(totalmem() / 2 ** 20),
    freeMemoryMiB: Math.round(freemem() / 2 ** 20),
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    openssl: process.versions.openssl,
  };
}

export function printMachine(info: MachineInfo): void {
  process.stdout.write(
    `machine: ${info.cpuModel}, ${info.cores} cores, load ${info.loadAverage1m.toFixed(2)}, ` +
      `${info.freeMemoryMiB}/${info.totalMemoryMiB} MiB free; ${info.platform}/${info.arch}; ` +
      `node ${info.node}, openssl ${info.openssl}\n`,
  );
}

function formatRate(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 1) return value.toFixed(1);
  return value.toFixed(3);
}

/** Renders rows with the columns aligned: text left, numbers right. */
export function formatTable(measurements: readonly Measurement[]): string {
  const header = ["group", "operation", "ops/s", "µs/op", "MB/s", "±%", "ratio"];
  const rows = measurements.map((m) => [
    m.group,
    m.name,
    formatRate(m.opsPerSec),
    formatRate(m.microsPerOp),
    m.megabytesPerSec === null ? "" : formatRate(m.megabytesPerSec),
    m.spreadPercent.toFixed(0),
    m.ratio === null ? "" : `${m.ratio.toFixed(2)}× ${m.ratioTo ?? ""}`.trim(),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const leftAligned = new Set([0, 1, 6]);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        leftAligned.has(column) ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** Writes `<name>-<timestamp>.json` and `<name>-latest.json` under bench/results/; returns the first path. */
export function writeResults(
  name: string,
  machine: MachineInfo,
  options: MeasureOptions & { readonly quick: boolean },
  measurements: readonly Measurement[],
): string {
  const directory = new URL("./results/", import.meta.url);
  mkdirSync(directory, { recursive: true });
  const date = new Date();
  const stamp = date
    .toISOString()
    .replaceAll(":", "-")
    .replace(/\.\d+Z$/, "Z");
  const body = `${JSON.stringify({ benchmark: name, date: date.toISOString(), machine, options, measurements }, null, 2)}\n`;
  const stamped = new URL(`${name}-${stamp}.json`, directory);
  writeFileSync(stamped, body);
  writeFileSync(new URL(`${name}-latest.json`, directory), body);
  return stamped.pathname;
}

/** Prevents the sink from being flagged as unused; it exists only to keep results alive. */
export function sinkValue(): unknown {
  return sink;
}
