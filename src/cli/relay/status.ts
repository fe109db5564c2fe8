import { readFile } from "node:fs/promises";
import { endpointFromUrl, type RelayEndpoint, requestRaw } from "../../client/transport/relay-http.ts";
import { NanoError } from "../../errors/index.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import { describeIssue, ReadinessAnswer } from "../../wire/index.ts";
import { type Feedback, silentFeedback } from "../_spinner.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";

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
  /** What /readyz says of the store ("writable", "cannot write", ...). */
  readonly store: string;
  readonly storeProblem?: string;
  readonly metrics: Map<string, number>;
}

/**
 * One scrape of /healthz, /readyz and /metrics. Over the client's transport (TLS 1.3, `--ca` trusted
 * for this connection only); a relay that cannot be reached is `relay_unreachable` (exit 69), as in
 * nano-client.
 */
async function sample(endpoint: RelayEndpoint): Promise<Sample> {
  const get = async (path: string) => {
    const { status, body } = await requestRaw(endpoint, { method: "GET", path });
    return { ok: status >= 200 && status < 300, text: new TextDecoder().decode(body) };
  };
  const [health, ready, metrics] = await Promise.all([get("/healthz"), get("/readyz"), get("/metrics")]);
  let json: unknown;
  try {
    json = JSON.parse(ready.text);
  } catch {
    throw new NanoError(
      "relay_rejected",
      `${endpoint.base.origin}/readyz did not answer JSON: is this a nano-relay?`,
    );
  }
  const parsed = ReadinessAnswer.safeParse(json);
  if (!parsed.success)
    throw new NanoError(
      "relay_answer_malformed",
      `${endpoint.base.origin}/readyz answered a malformed body (${describeIssue(parsed.error)})`,
    );
  const readiness = parsed.data;
  return {
    at: Date.now(),
    alive: health.ok,
    ready: readiness.ready,
    draining: readiness.draining,
    store: readiness.store,
    ...(readiness.store_problem === undefined ? {} : { storeProblem: readiness.store_problem }),
    metrics: parseMetrics(metrics.ok ? metrics.text : ""),
  };
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
  readonly store: string;
  readonly store_problem?: string;
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
    store: current.store,
    ...(current.storeProblem === undefined ? {} : { store_problem: current.storeProblem }),
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
    `  store                  ${report.store}${report.store_problem === undefined ? "" : `: ${report.store_problem}`}`,
    `  websocket connections  ${report.websocket_connections}`,
    `  queued messages        ${report.queue.messages} in ${report.queue.mailboxes} mailbox(es), ${humanBytes(report.queue.bytes)}`,
    `  pending writes         ${report.pending_writes}`,
    ...Object.entries(report.rates).map(([label, value]) => `  ${label.padEnd(22)} ${value}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** `nano-relay status [--url URL] [--watch]`: one report, or a report redrawn in place. */
export async function statusCommand(
  options: {
    url: string;
    ca?: string;
    watch: boolean;
    interval: string;
    json: boolean;
  },
  feedback: Feedback = silentFeedback,
): Promise<void> {
  const interval = Math.max(0.5, Number(options.interval) || 2) * 1000;
  let ca: string | null = null;
  if (options.ca !== undefined) {
    try {
      ca = await readFile(options.ca, "utf8");
    } catch (error) {
      throw new CommandFailure(
        `cannot read the CA certificate ${options.ca}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
        RELAY_EXIT.noInput,
        "--ca names the PEM file of the CA that signed the relay's certificate",
      );
    }
  }
  let endpoint: RelayEndpoint;
  try {
    endpoint = endpointFromUrl(options.url, ca);
  } catch {
    throw new CommandFailure(
      `--url ${options.url} is not a URL`,
      RELAY_EXIT.usage,
      "e.g. --url https://relay.example:8080",
    );
  }
  // Rates need two scrapes a moment apart: about a second before the first report.
  feedback.update(`asking ${endpoint.base.origin}`);
  let previous: Sample;
  try {
    previous = await sample(endpoint);
  } catch (error) {
    feedback.stop();
    throw error;
  }
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
    const current = await sample(endpoint).finally(() => feedback.stop());
    show(buildReport(options.url, previous, current), options.watch);
    if (!options.watch) {
      if (!current.ready) process.exitCode = RELAY_EXIT.notReady;
      return;
    }
    previous = current;
    await new Promise((done) => setTimeout(done, interval));
  }
}
