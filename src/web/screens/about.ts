import { el } from "../elements.ts";
import type { SelfTestStep } from "../self-test.ts";
import type { Screen } from "./screen.ts";

export interface CryptoReport {
  /** Which implementation serves each primitive (webcrypto or noble). */
  readonly implementations: Readonly<Record<string, string>>;
  readonly steps: readonly SelfTestStep[];
}

function row(cells: readonly string[]): HTMLTableRowElement {
  return el(
    "tr",
    {},
    cells.map((text, index) =>
      index === 0 ? el("th", { attrs: { scope: "row" }, text }) : el("td", { text }),
    ),
  );
}

export function selfTestSummary(report: CryptoReport): string {
  const failed = report.steps.filter((step) => !step.ok).length;
  return failed === 0
    ? `Self-test passed: ${report.steps.length} checks, all three crypto modes.`
    : `Self-test FAILED: ${failed} of ${report.steps.length} checks. Do not use this browser for Nano Messenger.`;
}

/** The browser's crypto: which implementation serves each primitive, and the start-up self-test. */
export function aboutScreen(report: CryptoReport): Screen {
  return {
    title: "This browser's cryptography",
    element: el("section", {}, [
      el("p", { id: "summary", text: selfTestSummary(report) }),
      el("table", {}, [
        el("caption", { text: "Self-test" }),
        el(
          "tbody",
          { id: "self-test" },
          report.steps.map((step) => row([step.name, step.ok ? "passed" : "FAILED", step.detail])),
        ),
      ]),
      el("table", {}, [
        el("caption", { text: "Where each primitive comes from" }),
        el(
          "tbody",
          { id: "implementations" },
          Object.entries(report.implementations).map(([name, source]) => row([name, source])),
        ),
      ]),
    ]),
  };
}
