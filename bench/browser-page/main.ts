// The browser benchmark's page: bench/browser.ts calls `nanoBench.run(variant, sampleMs, samples)`.
import { createWebProvider } from "../../src/crypto/web/index.ts";
import {
  heavyOperations,
  measureOperations,
  type OperationRate,
  prepareOperations,
} from "../_provider-ops.ts";

async function run(
  variant: "detect" | "noble",
  sampleMs: number,
  samples: number,
): Promise<{ rates: OperationRate[]; implementations: Readonly<Record<string, string>>; userAgent: string }> {
  const provider = await createWebProvider({ use: variant });
  const rates = await measureOperations(await prepareOperations(provider), sampleMs, samples);
  rates.push(...(await measureOperations(heavyOperations(provider), 0, 1)));
  return { rates, implementations: provider.primitives.implementations, userAgent: navigator.userAgent };
}

(globalThis as { nanoBench?: unknown }).nanoBench = { run };
const status = document.getElementById("status");
if (status) status.textContent = "ready";
