/**
 * `nano-relay compliance report` and `compliance transparency-report` (docs/compliance.md, "Reports"):
 * facts read from the audit log and the database, judged by src/relay/compliance/report.ts.
 */
import { type AuditEventLeaf, decodeAuditEvent } from "../../audit/audit-event.ts";
import {
  type ControlRow,
  evaluate,
  type Framework,
  type ReportFacts,
  renderMarkdown,
} from "../../relay/compliance/report.ts";
import type { TransparencyService } from "../../relay/transparency.ts";
import { type ComplianceOptions, openCompliance } from "./compliance.ts";

const BATCH = 1024;

async function forEachAuditEvent(
  transparency: TransparencyService,
  visit: (event: AuditEventLeaf) => void,
): Promise<number> {
  const store = transparency.stores.audit;
  const size = await store.size();
  for (let start = 0; start < size; start += BATCH)
    for (const { data } of await store.entries(start, Math.min(size, start + BATCH)))
      visit(decodeAuditEvent(data));
  return size;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function reportCommand(
  options: ComplianceOptions & { framework: Framework; format: "md" | "json" },
): Promise<void> {
  await openCompliance(options, "report", async ({ config, transparency, compliance }) => {
    const actions: Record<string, number> = {};
    let lastStart: ReportFacts["lastStart"] = null;
    const auditEntries = await forEachAuditEvent(transparency, (event) => {
      if (event.type === "admin_action" && event.outcome === "success") {
        const action = String(event.details.action ?? "");
        actions[action] = (actions[action] ?? 0) + 1;
      }
      if (event.type === "config_loaded" && event.outcome === "success")
        lastStart = {
          time: iso(event.time),
          weakened: String(event.details.weakened ?? ""),
          approvedBy: String(event.details.approved_by ?? ""),
        };
    });
    const checkpoint = await transparency.latestCheckpoint("audit");
    const facts: ReportFacts = {
      auditEntries,
      ktEntries: await transparency.stores.kt.size(),
      auditCheckpoint:
        checkpoint === undefined ? null : { size: checkpoint.size, issuedAt: iso(checkpoint.issuedAt) },
      actions,
      ...(await compliance.counts(Date.now())),
      lastStart,
    };
    const rows: ControlRow[] = evaluate(options.framework, config, facts);
    const generatedAt = iso(Date.now());
    if (options.format === "json")
      process.stdout.write(
        `${JSON.stringify({ framework: options.framework, relay: config.compliance.log_origin, generated_at: generatedAt, controls: rows })}\n`,
      );
    else
      process.stdout.write(
        renderMarkdown(options.framework, config.compliance.log_origin, generatedAt, rows),
      );
  });
}

/** What a transparency report counts, by the audit event that records it. */
const COUNTED: readonly { key: string; label: string; match: (event: AuditEventLeaf) => boolean }[] = [
  {
    key: "exports",
    label: "account exports (GDPR Art. 15/20)",
    match: (e) => e.details.action === "compliance_export",
  },
  {
    key: "erasures",
    label: "account erasures (Art. 17)",
    match: (e) => e.details.action === "compliance_erase" && e.outcome === "success",
  },
  {
    key: "erasures_refused",
    label: "erasures refused (legal hold)",
    match: (e) => e.details.action === "compliance_erase" && e.outcome === "failure",
  },
  {
    key: "holds_placed",
    label: "legal holds placed",
    match: (e) => e.details.action === "compliance_hold" && e.details.changed === true,
  },
  {
    key: "holds_released",
    label: "legal holds released",
    match: (e) => e.details.action === "compliance_release" && e.details.changed === true,
  },
  {
    key: "access_log_reads",
    label: "access-log reads",
    match: (e) => e.details.action === "compliance_access_log",
  },
  { key: "backups", label: "database backups", match: (e) => e.details.action === "backup" },
  { key: "restores", label: "database restores", match: (e) => e.details.action === "restore" },
  {
    key: "config_approvals",
    label: "configuration approvals",
    match: (e) => e.details.action === "config_approve",
  },
  {
    key: "starts_refused",
    label: "starts refused for an unapproved change",
    match: (e) => e.type === "config_loaded" && e.outcome === "failure",
  },
];

export async function transparencyReportCommand(
  options: ComplianceOptions & { since: number; format: "md" | "json" },
): Promise<void> {
  await openCompliance(options, "transparency-report", async ({ config, transparency }) => {
    const counts: Record<string, number> = Object.fromEntries(COUNTED.map((c) => [c.key, 0]));
    const until = Date.now();
    await forEachAuditEvent(transparency, (event) => {
      if (event.time < options.since || event.time > until) return;
      for (const counted of COUNTED) if (counted.match(event)) counts[counted.key]! += 1;
    });
    if (options.format === "json") {
      process.stdout.write(
        `${JSON.stringify({ relay: config.compliance.log_origin, since: iso(options.since), until: iso(until), counts })}\n`,
      );
      return;
    }
    const lines = [
      `# Transparency report for ${config.compliance.log_origin}`,
      "",
      `From ${iso(options.since)} to ${iso(until)}, counted from the tamper-evident audit log. The relay never`,
      "holds message content, so no request can have disclosed any.",
      "",
      "| what | count |",
      "|---|---|",
      ...COUNTED.map((c) => `| ${c.label} | ${counts[c.key]} |`),
      "",
    ];
    process.stdout.write(lines.join("\n"));
  });
}
