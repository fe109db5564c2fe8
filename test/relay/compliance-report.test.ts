// The compliance report's judgement (src/relay/compliance/report.ts), without a relay: the same facts
// under the production and testing templates give the rows the docs promise.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "smol-toml";
import { evaluate, FRAMEWORKS, type ReportFacts, renderMarkdown } from "../../src/relay/compliance/report.ts";
import { relayConfigSchema } from "../../src/relay/config/schema.ts";
import { renderConfigTemplate } from "../../src/relay/config/template.ts";

const facts: ReportFacts = {
  auditEntries: 12,
  ktEntries: 3,
  auditCheckpoint: { size: 12, issuedAt: "2026-12-07T20:00:00.000Z" },
  actions: { compliance_export: 2, backup: 1 },
  activeHolds: 1,
  liveTombstones: 0,
  lastStart: { time: "2026-12-07T19:00:00.000Z", weakened: "", approvedBy: "" },
};

const config = (environment: "production" | "testing", extra: Record<string, unknown> = {}) => {
  const raw = parse(renderConfigTemplate(environment)) as Record<string, Record<string, unknown>>;
  return relayConfigSchema.parse({ ...raw, compliance: { ...raw.compliance, ...extra } });
};

const statuses = (rows: ReturnType<typeof evaluate>) =>
  Object.fromEntries(rows.map((r) => [r.control, r.status]));

test("production meets the software's controls; the rest is the operator's or not applicable", () => {
  const hipaa = statuses(evaluate("hipaa", config("production"), facts));
  assert.equal(hipaa["164.312(e)(1)"], "met");
  assert.equal(hipaa["164.312(a)(2)(iv)"], "met");
  assert.equal(hipaa["164.316(b)(2)"], "met");
  assert.equal(hipaa["164.312(a)(2)(iii)"], "met", "the production template logs idle tokens off");
  assert.equal(hipaa["164.308(b)"], "operator");
  const gdpr = statuses(evaluate("gdpr", config("production"), facts));
  assert.equal(gdpr["Art. 32"], "met");
  assert.equal(gdpr["Art. 25"], "met");
  assert.equal(gdpr.content, "not_applicable");
});

test("the testing template's 30-day audit retention, classical floor and plain HTTP are not met", () => {
  const hipaa = statuses(evaluate("hipaa", config("testing"), facts));
  assert.equal(hipaa["164.316(b)(2)"], "not_met");
  assert.equal(hipaa["164.312(e)(1)"], "not_met");
  assert.equal(hipaa["164.312(a)(2)(iv)"], "not_met");
  assert.equal(hipaa["164.312(a)(2)(iii)"], "not_met", "no idle timeout in testing");
  assert.equal(statuses(evaluate("gdpr", config("testing"), facts))["Art. 32"], "not_met");
});

test("SOX change management is met only with approvals required", () => {
  assert.equal(statuses(evaluate("sox", config("production"), facts))["change management"], "not_met");
  const approver = { ed25519: "x", ml_dsa_65: "y" };
  const strict = config("production", { approvals_required: 1, approvers: [approver] });
  assert.equal(statuses(evaluate("sox", strict, facts))["change management"], "met");
});

test("every framework renders as a Markdown table with pipes escaped", () => {
  for (const framework of FRAMEWORKS) {
    const rows = evaluate(framework, config("production"), facts);
    assert.ok(rows.length >= 5);
    const text = renderMarkdown(framework, "relay|x", "now", [
      ...rows,
      { control: "a|b", title: "t", status: "met", evidence: "e", operator: "" },
    ]);
    assert.match(text, /\| a\\\|b \| t \| met \|/);
    assert.equal(text.split("\n").filter((line) => line.startsWith("| ")).length, rows.length + 2);
  }
});
