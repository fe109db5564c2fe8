/**
 * `nano-relay compliance report --framework gdpr|hipaa|sox` (docs/compliance.md, "Reports"): one row per
 * control, judged from the configuration and facts read from the audit log. A row is `met` or `not_met`
 * only where the software itself decides it; what only the operator can do (a BAA, policies, a risk
 * analysis) is `operator`, and controls about content the relay never holds are `not_applicable`.
 * Pure: the command gathers the facts, this module judges them (tested without a relay).
 */
import { AUDIT_RETENTION_MINIMUM_DAYS, CRYPTO_MODE_RANK, type RelayConfig } from "../config/schema.ts";

export const FRAMEWORKS = ["gdpr", "hipaa", "sox"] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export type ControlStatus = "met" | "not_met" | "not_applicable" | "operator";

export interface ControlRow {
  readonly control: string;
  readonly title: string;
  readonly status: ControlStatus;
  readonly evidence: string;
  /** What the operator must still do outside the software, if anything. */
  readonly operator: string;
}

/** What the command read from the audit log and the database. */
export interface ReportFacts {
  readonly auditEntries: number;
  readonly ktEntries: number;
  /** The newest signed checkpoint of the audit log, or null. */
  readonly auditCheckpoint: { readonly size: number; readonly issuedAt: string } | null;
  /** Operator actions by `details.action` (compliance_export, compliance_erase, backup, ...). */
  readonly actions: Readonly<Record<string, number>>;
  readonly activeHolds: number;
  readonly liveTombstones: number;
  /** The last start's config_loaded details: weakened paths and approvals, if any. */
  readonly lastStart: {
    readonly time: string;
    readonly weakened: string;
    readonly approvedBy: string;
  } | null;
}

function row(
  control: string,
  title: string,
  status: ControlStatus,
  evidence: string,
  operator = "",
): ControlRow {
  return { control, title, status, evidence, operator };
}

const yes = (condition: boolean): ControlStatus => (condition ? "met" : "not_met");

function transport(config: RelayConfig): { status: ControlStatus; evidence: string } {
  if (config.server.tls.enabled)
    return { status: "met", evidence: "server.tls.enabled = true (TLS 1.3, X25519MLKEM768 first)" };
  if (config.server.behind_tls_proxy)
    return { status: "operator", evidence: "server.behind_tls_proxy = true: TLS ends at your proxy" };
  return { status: "not_met", evidence: "server.tls.enabled = false (plain HTTP)" };
}

function crypto(config: RelayConfig): { status: ControlStatus; evidence: string } {
  const { minimum_crypto_mode: mode, require_post_quantum: pq } = config.security;
  return {
    status: yes(pq && CRYPTO_MODE_RANK[mode] >= CRYPTO_MODE_RANK.quantum),
    evidence: `security.minimum_crypto_mode = "${mode}", require_post_quantum = ${pq}; end-to-end encryption, the relay holds no message key`,
  };
}

function auditLog(facts: ReportFacts): string {
  const checkpoint =
    facts.auditCheckpoint === null
      ? "no signed checkpoint yet"
      : `latest signed checkpoint: size ${facts.auditCheckpoint.size} at ${facts.auditCheckpoint.issuedAt}`;
  return `Merkle audit log, ${facts.auditEntries} entries, ${checkpoint}; run nano-relay audit verify`;
}

const count = (facts: ReportFacts, action: string) => facts.actions[action] ?? 0;

function gdpr(config: RelayConfig, facts: ReportFacts): ControlRow[] {
  const c = config.compliance;
  const tls = transport(config);
  const pq = crypto(config);
  return [
    row(
      "Art. 5(1)(e)",
      "storage limitation",
      "met",
      `messages ${config.limits.message_ttl_days} d, attachments ${config.limits.attachment_ttl_days} d, audit personal data ${c.retention_audit_days} d (sweeper)`,
      "set retention for backups and log shipping",
    ),
    row(
      "Art. 15",
      "right of access",
      "met",
      `nano-relay compliance export; ${count(facts, "compliance_export")} export(s) logged`,
    ),
    row(
      "Art. 16",
      "rectification",
      "met",
      "the user replaces their own identity record (signed identity update); usernames cannot change",
    ),
    row(
      "Art. 17",
      "erasure",
      "met",
      `nano-relay compliance erase; ${count(facts, "compliance_erase")} erasure(s) logged; cooling-off ${c.erasure_cooling_off_days} d; ${facts.liveTombstones} live tombstone(s)`,
      "expire backups made before an erasure",
    ),
    row(
      "Art. 18",
      "restriction (legal hold)",
      "met",
      `nano-relay compliance hold; ${facts.activeHolds} account(s) held now`,
    ),
    row("Art. 20", "portability", "met", "signed JSON export (nano-relay-compliance-export/v1)"),
    row(
      "Art. 25",
      "data protection by design",
      yes(!c.log_usernames),
      `log lines ${c.log_usernames ? "NAME users (compliance.log_usernames = true)" : "name no user"}; audit leaves hold salted commitments and pseudonyms only`,
    ),
    row("Art. 30", "records of processing", "operator", "", "keep your record of processing activities"),
    row(
      "Art. 32",
      "security of processing",
      tls.status === "met" && pq.status === "met"
        ? "met"
        : tls.status === "not_met" || pq.status === "not_met"
          ? "not_met"
          : "operator",
      `${tls.evidence}; ${pq.evidence}`,
    ),
    row(
      "Art. 33/34",
      "breach notification",
      "operator",
      auditLog(facts),
      "have a breach procedure; the audit log is its evidence",
    ),
    row(
      "content",
      "message content",
      "not_applicable",
      "the relay never holds message content or keys; the users' devices do",
    ),
  ];
}

function hipaa(config: RelayConfig, facts: ReportFacts): ControlRow[] {
  const c = config.compliance;
  const tls = transport(config);
  return [
    row(
      "164.308(b)",
      "business associate agreement",
      "operator",
      "the relay stores encrypted ePHI without the key: still a business associate (HHS guidance)",
      "sign a BAA with each covered entity",
    ),
    row("164.308(a)(1)", "risk analysis", "operator", "", "perform and document a risk analysis"),
    row(
      "164.312(a)(1)",
      "access control: unique user identification",
      "met",
      "one account per identity key; device keys certified by it; bearer tokens per device login",
    ),
    row(
      "164.312(a)(2)(iii)",
      "automatic logoff",
      yes(config.security.token_idle_timeout_seconds > 0),
      `security.token_idle_timeout_seconds = ${config.security.token_idle_timeout_seconds} (0: off), token_lifetime_seconds = ${config.security.token_lifetime_seconds}`,
    ),
    row("164.312(a)(2)(iv)", "encryption and decryption", crypto(config).status, crypto(config).evidence),
    row(
      "164.312(b)",
      "audit controls",
      "met",
      `${auditLog(facts)}; operator accesses: ${Object.values(facts.actions).reduce((a, b) => a + b, 0)} logged (compliance access-log)`,
    ),
    row(
      "164.312(c)(1)",
      "integrity",
      facts.auditCheckpoint === null ? "not_met" : "met",
      `${auditLog(facts)}; key-transparency log ${facts.ktEntries} entries`,
    ),
    row(
      "164.312(d)",
      "person or entity authentication",
      "met",
      "challenge-response login signed by a device key certified by the identity key",
    ),
    row("164.312(e)(1)", "transmission security", tls.status, tls.evidence),
    row(
      "164.316(b)(2)",
      "retention of documentation (six years)",
      yes(c.retention_audit_days >= AUDIT_RETENTION_MINIMUM_DAYS),
      `compliance.retention_audit_days = ${c.retention_audit_days} (six years: ${AUDIT_RETENTION_MINIMUM_DAYS}); audit leaves are kept for ever`,
    ),
  ];
}

function sox(config: RelayConfig, facts: ReportFacts): ControlRow[] {
  const c = config.compliance;
  const last = facts.lastStart;
  const startEvidence =
    last === null
      ? "no start recorded"
      : `last start ${last.time}${last.weakened === "" ? "" : `, weakened ${last.weakened}`}${last.approvedBy === "" ? "" : `, approved by ${last.approvedBy}`}`;
  return [
    row(
      "change management",
      "changes to security settings are approved",
      yes(c.approvals_required >= 1),
      `compliance.approvals_required = ${c.approvals_required}, ${c.approvers.length} approver key(s); ${count(facts, "config_approve")} approval(s) signed; ${startEvidence}`,
    ),
    row(
      "segregation of duties",
      "the author of a change does not approve it",
      c.approvals_required >= 1 ? "operator" : "not_met",
      "approvals are counted by distinct administrator keys",
      "give every administrator their own key; authors do not approve their own changes",
    ),
    row("logging and monitoring", "security events are logged tamper-evidently", "met", auditLog(facts)),
    row(
      "access to data",
      "operator access to account data is logged",
      "met",
      `${count(facts, "compliance_export")} export(s), ${count(facts, "compliance_erase")} erasure(s), ${count(facts, "check")} check(s), ${count(facts, "backup")} backup(s), ${count(facts, "restore")} restore(s) logged with operator`,
    ),
    row(
      "backup and recovery",
      "backups are taken and restorable",
      count(facts, "backup") > 0 ? "met" : "not_met",
      `${count(facts, "backup")} backup(s) logged (nano-relay backup verifies each copy)`,
      "store backups off the machine; test a restore",
    ),
  ];
}

export function evaluate(framework: Framework, config: RelayConfig, facts: ReportFacts): ControlRow[] {
  if (framework === "gdpr") return gdpr(config, facts);
  if (framework === "hipaa") return hipaa(config, facts);
  return sox(config, facts);
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function renderMarkdown(
  framework: Framework,
  relay: string,
  generatedAt: string,
  rows: readonly ControlRow[],
): string {
  const lines = [
    `# ${framework.toUpperCase()} report for ${relay}`,
    "",
    `Generated ${generatedAt} by nano-relay compliance report. The relay never holds message content; rows marked`,
    "`operator` are for you to do outside the software (docs/compliance.md).",
    "",
    "| control | title | status | evidence | operator must |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${cell(r.control)} | ${cell(r.title)} | ${r.status} | ${cell(r.evidence)} | ${cell(r.operator)} |`,
    ),
    "",
  ];
  return lines.join("\n");
}
