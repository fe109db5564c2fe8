// The provider suite in the page: test/browser/crypto-provider.test.ts calls `nanoProviderSuite.run`
// for each check and each variant of the browser provider, and reads back the outcome.
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import { PROVIDER_CHECKS, type VectorLoader } from "../../../crypto-provider/_all.ts";
import { checkInteropSet, type InteropSet, makeInteropSet } from "../../../crypto-provider/_interop.ts";

type Variant = "detect" | "noble";

export interface CheckOutcome {
  readonly ok: boolean;
  readonly detail: string;
  readonly implementations: Readonly<Record<string, string>>;
}

const load: VectorLoader = async (path) => {
  const response = await fetch(`/vectors/${path}`);
  if (!response.ok) throw new Error(`vector file ${path}: HTTP ${response.status}`);
  return response.json() as Promise<unknown>;
};

const providers = new Map<Variant, Promise<CryptoProvider>>();

function provider(variant: Variant): Promise<CryptoProvider> {
  let made = providers.get(variant);
  if (made === undefined) {
    made = createWebProvider({ use: variant });
    providers.set(variant, made);
  }
  return made;
}

async function run(variant: Variant, index: number): Promise<CheckOutcome> {
  const chosen = await provider(variant);
  const implementations = chosen.primitives.implementations;
  const check = PROVIDER_CHECKS[index];
  if (check === undefined) return { ok: false, detail: `no check #${index}`, implementations };
  try {
    const tally = await check.run(chosen, load);
    return { ok: true, detail: tally.toString(), implementations };
  } catch (error) {
    const detail = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
    return { ok: false, detail, implementations };
  }
}

/** Checks Node's interop set in the page and returns the page's own for Node to check. */
async function interop(
  variant: Variant,
  fromNode: InteropSet,
): Promise<{ checked: number; set: InteropSet } | { error: string }> {
  try {
    const chosen = await provider(variant);
    return { checked: await checkInteropSet(chosen, fromNode), set: await makeInteropSet(chosen) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

(globalThis as { nanoProviderSuite?: unknown }).nanoProviderSuite = { run, interop };
const status = (globalThis as { document?: { getElementById(id: string): { textContent: string } | null } })
  .document;
const element = status?.getElementById("status");
if (element) element.textContent = "ready";
