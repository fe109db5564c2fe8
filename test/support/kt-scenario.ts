/**
 * One key-transparency scenario over proofs a real relay served, run with any CryptoProvider: in Node
 * (node:crypto) and in Chromium (test/browser/pages/kt-verifier, the browser's provider). Runtime-free
 * (no node:, no Buffer) so the page bundles it; test/browser/kt-verifier.test.ts compares the outcomes.
 * Every outcome is a result or the typed error code, so two runtimes can be compared value for value.
 */
import { KeyTransparencyVerifier } from "../../src/audit/kt-verifier.ts";
import { parseVerifierKeys } from "../../src/audit/log-key.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { PORTABLE_BASE64 } from "../../src/text/base64.ts";

/** A user's record and the relay's `transparency` object for it, bytes as base64. */
export interface KtServed {
  readonly username: string;
  readonly record: string;
  readonly transparency: Record<string, unknown>;
}

/** What the relay served, as plain JSON (it crosses into the page). */
export interface KtScenario {
  /** GET /v1/transparency/log-keys: the kt log's two vkeys. */
  readonly vkeys: readonly [string, string];
  /** A binding at the smaller tree. */
  readonly older: KtServed;
  /** A binding at a strictly larger tree. */
  readonly newer: KtServed;
  /** GET /v1/transparency/kt/consistency between the two trees. */
  readonly consistency: { readonly from: number; readonly to: number; readonly proof: readonly string[] };
}

export type KtOutcome =
  | { readonly proven: { readonly logIndex: number; readonly size: number } }
  | { readonly error: string };

const bytes = (text: string): Uint8Array => PORTABLE_BASE64.decode(text);

/** Another base64 character at `at`: still canonical (not the last character), a different value. */
function changedAt(text: string, at: number): string {
  return text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
}

/** The checkpoint note with one character of its root hash line changed (the signed text). */
function tamperedCheckpoint(note: string): string {
  const lines = note.split("\n");
  lines[2] = changedAt(lines[2]!, 0);
  return lines.join("\n");
}

async function outcome(work: () => Promise<{ logIndex: number; checkpoint: { size: number } }>) {
  try {
    const { logIndex, checkpoint } = await work();
    return { proven: { logIndex, size: checkpoint.size } };
  } catch (error) {
    if (NanoError.is(error)) return { error: error.code };
    return { error: `not a NanoError: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The verifier's path end to end, then one tampering per check: each outcome by name. A fetcher serves
 * the relay's consistency proof (or a changed one) only for the range it was fetched for.
 */
export async function runKtScenario(
  provider: CryptoProvider,
  scenario: KtScenario,
): Promise<Record<string, KtOutcome>> {
  const key = parseVerifierKeys(provider.primitives.sha256, scenario.vkeys[0], scenario.vkeys[1]);
  const { older, newer, consistency } = scenario;
  const fetcher =
    (proof: readonly string[]) =>
    async (from: number, to: number): Promise<Uint8Array[]> => {
      if (from !== consistency.from || to !== consistency.to)
        throw new Error(`no consistency proof fetched for ${from}..${to}`);
      return proof.map(bytes);
    };
  const honest = fetcher(consistency.proof);
  const verify = (verifier: KeyTransparencyVerifier, served: KtServed, transparency = served.transparency) =>
    verifier.verify(served.username, bytes(served.record), transparency, honest);
  const results: Record<string, KtOutcome> = {};

  const client = await KeyTransparencyVerifier.open(provider, key);
  results.older = await outcome(() => verify(client, older));
  const held = client.state()!;
  results.newer = await outcome(() => verify(client, newer));
  // A restarted client holding the newer tree is shown the older one: with PROOF(older, newer) it is a
  // stale answer (proven a prefix, verified at its own checkpoint); a relay that cannot show that proof
  // has shrunk its log.
  const restarted = await KeyTransparencyVerifier.open(provider, key, client.state());
  results.stale = await outcome(() => verify(restarted, older));
  results.rollback = await outcome(() =>
    restarted.verify(older.username, bytes(older.record), older.transparency, async () => {
      throw new Error("the relay no longer has the newer tree");
    }),
  );

  const fresh = () => KeyTransparencyVerifier.open(provider, key);
  const checkpoint = tamperedCheckpoint(older.transparency.checkpoint as string);
  results.tamperedCheckpoint = await outcome(async () =>
    verify(await fresh(), older, { ...older.transparency, checkpoint }),
  );
  const path = older.transparency.inclusion_proof as string[];
  const inclusion_proof = [changedAt(path[0]!, 0), ...path.slice(1)];
  results.tamperedInclusion = await outcome(async () =>
    verify(await fresh(), older, { ...older.transparency, inclusion_proof }),
  );
  results.otherUser = await outcome(async () =>
    (await fresh()).verify(older.username, bytes(older.record), newer.transparency, honest),
  );
  const forked = [changedAt(consistency.proof[0]!, 0), ...consistency.proof.slice(1)];
  results.tamperedConsistency = await outcome(async () => {
    const holding = await KeyTransparencyVerifier.open(provider, key, held);
    return holding.verify(newer.username, bytes(newer.record), newer.transparency, fetcher(forked));
  });
  return results;
}
