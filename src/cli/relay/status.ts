import { NanoError } from "../../errors/index.ts";

/** Parsed Prometheus text: metric name (with labels stripped) -> summed value. */
export function parseMetrics(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + value);
  }
  return totals;
}

interface Sample {
  readonly at: number;
  readonly alive: boolean;
  readonly ready: boolean;
  readonly draining: boolean;
  readonly metrics: Map<string, number>;
}

async function sample(base: string): Promise<Sample> {
  const get = async (path: string) => {
    const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(5000) });
    return { ok: response.ok, text: await response.text() };
  };
  try {
    const [health, ready, metrics] = await Promise.all([get("/healthz"), get("/readyz"), get("/metrics")]);
    const readiness = JSON.parse(ready.text) as { ready?: boolean; draining?: boolean };
    return {
      at: Date.now(),
      alive: health.ok,
      ready: readiness.ready === true,
      draining: readiness.draining === true,
      metrics: parseMetrics(metrics.text),
    };
  } catch (error) {
    throw new NanoError(
      "store_unavailable",
      `cannot reach the relay at ${base}: ${(error as Error).message}`,
    );
  }
}

const RATES: readonly [string, string][] = [
  ["requests/s", "nano_http_requests_total"],
  ["stored/s", "nano_messages_stored_total"],
  ["delivered/s", "nano_messages_delivered_total"],
  ["acknowledged/s", "nano_messages_acknowledged_total"],
  ["expired/s", "nano_messages_expired_total"],
  ["rate-limited/s", "nano_rate_limit_hits_total"],
  ["auth failures/s", "nano_auth_failures_total"],
];

export interface StatusReport {
  readonly url: string;
  readonly alive: boolean;
  readonly ready: boolean;
  readonly draining: boolean;
  readonly websocket_connections: number;
  readonly queue: { readonly messages: number; readonly bytes: number; readonly mailboxes: number };
  readonly pending_writes: number;
  readonly rates: Record<string, number>;
}

export function buildReport(url: string, previous: Sample, current: Sample): StatusReport {
  const seconds = Math.max(0.001, (current.at - previous.at) / 1000);
  const m = current.metrics;
  const rates: Record<string, number> = {};
  for (const [label, name] of RATES) {
    const delta = (m.get(name) ?? 0) - (previous.metrics.get(name) ?? 0);
    rates[label] = Math.max(0, Math.round((delta / seconds) * 10) / 10);
  }
  return {
    url,
    alive: current.alive,
    ready: current.ready,
    draining: current.draining,
    websocket_connections: m.get("nano_websocket_connections") ?? 0,
    queue: {
      messages: m.get("nano_queue_messages") ?? 0,
      bytes: m.get("nano_queue_bytes") ?? 0,
      mailboxes: m.get("nano_queue_mailboxes") ?? 0,
    },
    pending_writes: m.get("nano_group_commit_pending") ?? 0,
    rates,
  };
}

export function renderReport(report: StatusReport): string {
  const state = report.draining
    ? "draining"
    : report.ready
      ? "ready"
      : report.alive
        ? "alive, not ready"
        : "down";
  const lines = [
    `nano-relay ${report.url}: ${state}`,
    `  websocket connections  ${report.websocket_connections}`,
    `  queued messages        ${report.queue.messages} in ${report.queue.mailboxes} mailbox(es), ${report.queue.bytes} bytes`,
    `  pending writes         ${report.pending_writes}`,
    ...Object.entries(report.rates).map(([label, value]) => `  ${label.padEnd(22)} ${value}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** `nano-relay status [--url URL] [--watch]`: one report, or a report redrawn in place. */
export async function statusCommand(options: {
  url: string;
  watch: boolean;
  interval: string;
  json: boolean;
}): Promise<void> {
  const interval = Math.max(0.5, Number(options.interval) || 2) * 1000;
  let previous = await sample(options.url);
  const show = (report: StatusReport, redraw: boolean) => {
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    // Cursor home + clear screen: refresh in place on a terminal.
    if (redraw && process.stdout.isTTY) process.stdout.write("\x1b[H\x1b[2J");
    process.stdout.write(renderReport(report));
  };
  await new Promise((done) => setTimeout(done, options.watch ? interval : 1000));
  for (;;) {
    const current = await sample(options.url);
    show(buildReport(options.url, previous, current), options.watch);
    if (!options.watch) {
      if (!current.ready) process.exitCode = 1;
      return;
    }
    previous = current;
    await new Promise((done) => setTimeout(done, interval));
  }
}
