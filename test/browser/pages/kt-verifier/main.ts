// The key-transparency verifier in the page, on the browser's crypto provider:
// test/browser/kt-verifier.test.ts hands it what a real relay served and compares the outcomes with Node's.
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import { type KtScenario, runKtScenario } from "../../../support/kt-scenario.ts";

async function run(use: "detect" | "noble", scenario: KtScenario) {
  try {
    const provider = await createWebProvider({ use });
    return {
      implementations: provider.primitives.implementations,
      outcomes: await runKtScenario(provider, scenario),
    };
  } catch (error) {
    return { error: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) };
  }
}

(globalThis as { nanoKt?: unknown }).nanoKt = { run };
const status = document.getElementById("status");
if (status) status.textContent = "ready";
