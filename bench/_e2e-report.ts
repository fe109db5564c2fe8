// Statistics, the console tables and the SVG chart of `npm run bench -- e2e`. The SVG is written by
// hand (bars and polylines, no dependencies) so the benchmark itself produces the figure that
// docs/performance.md embeds.
import type { SuiteName } from "../src/crypto/index.ts";

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface PhaseResult {
  readonly mode: SuiteName;
  readonly sizeLabel: string;
  readonly bytes: number;
  /** "max" (closed loop, as fast as the senders go), "half" (open loop at half of max), or "rtt N ms". */
  readonly load: string;
  readonly addedRttMs: number;
  readonly sent: number;
  readonly delivered: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly offeredPerSecond: number | null;
  readonly relayCpuPerMessageMs: number | null;
  readonly clientCpuPerMessageMs: number;
  readonly senderCpuPerMessageMs: number;
  readonly receiverCpuPerMessageMs: number;
  readonly latency: LatencySummary;
  /** Sorted latencies, thinned to at most 200 points, for the CDF. */
  readonly cdf: readonly number[];
  readonly failures: readonly string[];
  /** +RTT phases: HTTP requests through the proxy per delivered message, by route; null otherwise. */
  readonly requestsPerMessage: Readonly<Record<string, number>> | null;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export function thin(values: readonly number[], points = 200): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length <= points) return sorted;
  return Array.from(
    { length: points },
    (_, i) => sorted[Math.floor((i * (sorted.length - 1)) / (points - 1))]!,
  );
}

/** The product's published figures: a comparison column, never an input. */
export const PUBLISHED: Record<SuiteName, { kib: number; mib: number; latencyMs: number }> = {
  classical: { kib: 8500, mib: 850, latencyMs: 2 },
  hybrid: { kib: 3200, mib: 320, latencyMs: 4 },
  quantum: { kib: 1800, mib: 180, latencyMs: 8 },
};

const fmt = (value: number | null, digits = 1): string =>
  value === null || !Number.isFinite(value)
    ? "-"
    : value >= 100
      ? Math.round(value).toLocaleString("en-US")
      : value.toFixed(digits);

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const MODES: readonly SuiteName[] = ["classical", "hybrid", "quantum"];

/** The published table's shape: mode, 1 KiB msgs/s, 1 MiB msgs/s, local latency — measured vs published. */
export function headlineTable(results: readonly PhaseResult[]): string {
  const find = (mode: SuiteName, size: string, load: string) =>
    results.find((r) => r.mode === mode && r.sizeLabel === size && r.load === load);
  const latency = (r: PhaseResult | undefined) =>
    r === undefined ? "-" : `${fmt(r.latency.p50, 2)} / ${fmt(r.latency.p99, 2)}`;
  const rows = MODES.filter((mode) => results.some((r) => r.mode === mode)).map((mode) => {
    const p = PUBLISHED[mode];
    return [
      mode,
      fmt(find(mode, "1 KiB", "max")?.messagesPerSecond ?? null),
      p.kib.toLocaleString("en-US"),
      fmt(find(mode, "1 MiB", "max")?.messagesPerSecond ?? null),
      String(p.mib),
      latency(find(mode, "1 KiB", "half")),
      latency(find(mode, "1 KiB", "rtt 1 ms")),
      String(p.latencyMs),
    ];
  });
  return renderTable(
    [
      "mode",
      "1 KiB msg/s",
      "published",
      "1 MiB msg/s",
      "published",
      "p50/p99 ms loopback, half load",
      "p50/p99 ms +1 ms RTT",
      "published ms",
    ],
    rows,
  );
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** The targets, evaluated on this run (null: the phases it needs were not run). */
export function checkTargets(results: readonly PhaseResult[]): TargetCheck[] {
  const find = (mode: SuiteName, load: string) =>
    results.find((r) => r.mode === mode && r.sizeLabel === "1 KiB" && r.load === load);
  const hybrid = find("hybrid", "max");
  const classical = find("classical", "max");
  const half = find("hybrid", "half");
  const global = find("hybrid", "rtt 100 ms");
  const goal = 3 * PUBLISHED.hybrid.kib;
  return [
    {
      target: `hybrid 1 KiB >= 3x published (${goal.toLocaleString("en-US")} msg/s)`,
      measured: hybrid === undefined ? "-" : `${fmt(hybrid.messagesPerSecond)} msg/s`,
      met: hybrid === undefined ? null : hybrid.messagesPerSecond >= goal,
    },
    {
      target: "hybrid 1 KiB within 15% of classical",
      measured:
        hybrid === undefined || classical === undefined
          ? "-"
          : `${((100 * hybrid.messagesPerSecond) / classical.messagesPerSecond).toFixed(0)}% of classical`,
      met:
        hybrid === undefined || classical === undefined
          ? null
          : hybrid.messagesPerSecond >= 0.85 * classical.messagesPerSecond,
    },
    {
      target: "hybrid p99 < 4 ms at loopback, half load",
      measured: half === undefined ? "-" : `${fmt(half.latency.p99, 2)} ms`,
      met: half === undefined ? null : half.latency.p99 < 4,
    },
    {
      target: "hybrid p99 < 100 ms at +100 ms RTT (published claim)",
      measured: global === undefined ? "-" : `${fmt(global.latency.p99, 1)} ms`,
      met: global === undefined ? null : global.latency.p99 < 100,
    },
  ];
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  return renderTable(
    ["target", "measured", "met"],
    checks.map((c) => [c.target, c.measured, c.met === null ? "not run" : c.met ? "yes" : "NO"]),
  );
}

export function detailTable(results: readonly PhaseResult[]): string {
  return renderTable(
    [
      "mode",
      "size",
      "load",
      "+RTT",
      "msgs",
      "msg/s",
      "MB/s",
      "relay CPU ms/msg",
      "client CPU ms/msg",
      "p50 ms",
      "p95 ms",
      "p99 ms",
    ],
    results.map((r) => [
      r.mode,
      r.sizeLabel,
      r.offeredPerSecond === null ? r.load : `${r.load} (${fmt(r.offeredPerSecond)}/s)`,
      `${r.addedRttMs}`,
      `${r.delivered}/${r.sent}`,
      fmt(r.messagesPerSecond),
      fmt(r.megabytesPerSecond, 2),
      fmt(r.relayCpuPerMessageMs, 3),
      `${fmt(r.clientCpuPerMessageMs, 3)} (s ${fmt(r.senderCpuPerMessageMs, 2)} + r ${fmt(r.receiverCpuPerMessageMs, 2)})`,
      fmt(r.latency.p50, 2),
      fmt(r.latency.p95, 2),
      fmt(r.latency.p99, 2),
    ]),
  );
}

export function rttTable(results: readonly PhaseResult[]): string {
  const rtts = [...new Set(results.filter((r) => r.load.startsWith("rtt")).map((r) => r.addedRttMs))].sort(
    (a, b) => a - b,
  );
  const rows = MODES.map((mode) => [
    mode,
    ...rtts.map((rtt) => {
      const r = results.find((x) => x.mode === mode && x.load.startsWith("rtt") && x.addedRttMs === rtt);
      return r === undefined
        ? "-"
        : `${fmt(r.latency.p50, 1)} / ${fmt(r.latency.p95, 1)} / ${fmt(r.latency.p99, 1)}`;
    }),
  ]).filter((row) => row.slice(1).some((cell) => cell !== "-"));
  return renderTable(["mode (1 KiB, p50/p95/p99 ms)", ...rtts.map((rtt) => `+${rtt} ms RTT`)], rows);
}

const COLORS: Record<SuiteName, string> = { classical: "#4c78a8", hybrid: "#f58518", quantum: "#54a24b" };
const esc = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;");

/** Two bar panels (1 KiB and 1 MiB msgs/s per mode, measured next to published) and a latency CDF. */
export function renderSvg(results: readonly PhaseResult[], title: string): string {
  const width = 960;
  const height = 360;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}: messages/s per mode and size (measured vs published), latency CDF per mode</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<text x="${width - 10}" y="18" text-anchor="end" fill="#555">bars: solid = measured, dashed = published</text>`,
  ];
  const panel = (x0: number, size: "1 KiB" | "1 MiB") => {
    const top = 50;
    const bottom = 310;
    const panelWidth = 260;
    const measured = MODES.map((mode) =>
      results.find((r) => r.mode === mode && r.sizeLabel === size && r.load === "max"),
    );
    const published = MODES.map((mode) => (size === "1 KiB" ? PUBLISHED[mode].kib : PUBLISHED[mode].mib));
    // Log scale: measured and published differ by orders of magnitude, and both must stay readable.
    const peak = Math.max(10, ...published, ...measured.map((m) => m?.messagesPerSecond ?? 0));
    const decades = Math.ceil(Math.log10(peak));
    const heightOf = (value: number) =>
      value <= 1 ? 0 : ((bottom - top) * Math.log10(value)) / Math.max(1, decades);
    parts.push(`<text x="${x0}" y="40" font-weight="bold">${size} messages/s (log scale)</text>`);
    for (let decade = 0; decade <= decades; decade++) {
      const y = bottom - heightOf(10 ** decade);
      parts.push(`<line x1="${x0 + 30}" y1="${y}" x2="${x0 + panelWidth}" y2="${y}" stroke="#eee"/>`);
      parts.push(
        `<text x="${x0 + 27}" y="${y + 4}" text-anchor="end" fill="#777">${fmt(10 ** decade)}</text>`,
      );
    }
    parts.push(`<line x1="${x0 + 30}" y1="${bottom}" x2="${x0 + panelWidth}" y2="${bottom}" stroke="#333"/>`);
    MODES.forEach((mode, i) => {
      const x = x0 + 36 + i * 76;
      const value = measured[i]?.messagesPerSecond ?? 0;
      const h = heightOf(value);
      const ph = heightOf(published[i]!);
      parts.push(`<rect x="${x}" y="${bottom - h}" width="32" height="${h}" fill="${COLORS[mode]}"/>`);
      parts.push(
        `<rect x="${x + 34}" y="${bottom - ph}" width="32" height="${ph}" fill="none" stroke="${COLORS[mode]}" stroke-dasharray="4 2"/>`,
      );
      parts.push(`<text x="${x + 16}" y="${bottom - h - 3}" text-anchor="middle">${fmt(value)}</text>`);
      parts.push(
        `<text x="${x + 50}" y="${bottom - ph - 3}" text-anchor="middle" fill="#777">${fmt(published[i]!)}</text>`,
      );
      parts.push(`<text x="${x + 33}" y="${bottom + 14}" text-anchor="middle">${mode}</text>`);
    });
  };
  panel(10, "1 KiB");
  panel(300, "1 MiB");
  // Latency CDF per mode (1 KiB, half load, loopback) on a log-scaled x axis.
  const x0 = 620;
  const plotWidth = 320;
  const top = 50;
  const bottom = 310;
  const curves = MODES.map((mode) => ({
    mode,
    result: results.find((r) => r.mode === mode && r.sizeLabel === "1 KiB" && r.load === "half"),
  })).filter((c) => c.result !== undefined && c.result.cdf.length > 0);
  const all = curves.flatMap((c) => c.result!.cdf);
  const lo = Math.max(0.05, Math.min(...all, 1));
  const hi = Math.max(...all, lo * 10);
  const logLo = Math.log10(lo);
  const logHi = Math.log10(hi);
  const xOf = (ms: number) => x0 + ((Math.log10(Math.max(ms, lo)) - logLo) / (logHi - logLo)) * plotWidth;
  parts.push(
    `<text x="${x0}" y="40" font-weight="bold">latency CDF, 1 KiB at half load (ms, log scale)</text>`,
  );
  parts.push(
    `<rect x="${x0}" y="${top}" width="${plotWidth}" height="${bottom - top}" fill="none" stroke="#333"/>`,
  );
  for (let decade = Math.ceil(logLo); decade <= Math.floor(logHi); decade++) {
    const x = xOf(10 ** decade);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${bottom + 14}" text-anchor="middle">${10 ** decade}</text>`);
  }
  for (const q of [0.5, 0.99]) {
    const y = bottom - q * (bottom - top);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotWidth}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 - 3}" y="${y + 4}" text-anchor="end">p${q * 100}</text>`);
  }
  curves.forEach(({ mode, result }, i) => {
    const cdf = result!.cdf;
    const points = cdf.map(
      (ms, k) => `${xOf(ms).toFixed(1)},${(bottom - ((k + 1) / cdf.length) * (bottom - top)).toFixed(1)}`,
    );
    parts.push(
      `<polyline fill="none" stroke="${COLORS[mode]}" stroke-width="2" points="${points.join(" ")}"/>`,
    );
    parts.push(`<text x="${x0 + 8}" y="${top + 14 + i * 14}" fill="${COLORS[mode]}">${mode}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
