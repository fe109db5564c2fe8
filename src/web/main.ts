// The web app's entry (docs/web.md). This wave it proves the pipeline: the relay serves this page
// from its own origin under a strict CSP with SRI, the page loads the browser's crypto provider and
// runs the self-test. The messenger UI comes in the next wave, on the same provider.
import { createWebProvider } from "../crypto/web/index.ts";
import { runSelfTest } from "./self-test.ts";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

function row(cells: readonly string[]): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const [index, text] of cells.entries()) {
    const cell = document.createElement(index === 0 ? "th" : "td");
    if (index === 0) cell.setAttribute("scope", "row");
    cell.textContent = text;
    tr.append(cell);
  }
  return tr;
}

async function start(): Promise<void> {
  const summary = element<HTMLParagraphElement>("summary");
  const provider = await createWebProvider();
  const implementations = element<HTMLTableSectionElement>("implementations");
  for (const [name, source] of Object.entries(provider.primitives.implementations)) {
    implementations.append(row([name, source]));
  }
  const steps = await runSelfTest(provider);
  const list = element<HTMLTableSectionElement>("self-test");
  for (const result of steps) list.append(row([result.name, result.ok ? "passed" : "FAILED", result.detail]));
  const failed = steps.filter((result) => !result.ok).length;
  summary.textContent =
    failed === 0
      ? `Self-test passed: ${steps.length} checks, all three crypto modes.`
      : `Self-test FAILED: ${failed} of ${steps.length} checks. Do not use this browser for Nano Messenger.`;
  document.body.dataset.selfTest = failed === 0 ? "passed" : "failed";
}

start().catch((error: unknown) => {
  const summary = document.getElementById("summary");
  if (summary)
    summary.textContent = `The page could not start: ${error instanceof Error ? error.message : String(error)}`;
  document.body.dataset.selfTest = "failed";
});
