// `npm run bench -- browser-storage [--quick]`: browser storage in Debian's Chromium (docs/web.md
// "Browser storage", "Browser keystore"):
// - a keystore unlock for several argon2id parameter sets (@noble/hashes argon2idAsync in the page; the
//   browser has no native argon2id), beside the same derivation through node:crypto's argon2 in this
//   process: the numbers behind BROWSER_ARGON2ID. One unlock opens the IndexedDB keystore, derives the
//   passphrase key and opens both AES-GCM layers;
// - the IndexedDB local store: a send-shaped transaction (session, outbox entry, sent row: sealed and
//   committed with durability "strict") and reopening a store of 1,000 / 5,000 messages (every row
//   read and opened into memory), with the AEAD from WebCrypto (the detected provider) and from @noble.
// Wall-clock milliseconds: record `uptime` with them.

import { performance } from "node:perf_hooks";
import { argon2id } from "../src/crypto/index.ts";
import type { Argon2idParameters } from "../src/crypto/password-parameters.ts";
import { bundlePage } from "../test/browser/_bundle.ts";
import { launchChromium } from "../test/browser/_chromium.ts";
import { serveStatic } from "../test/browser/_static-server.ts";
import { machineInfo, printMachine } from "./_harness.ts";

const PARAMETER_SETS: readonly Argon2idParameters[] = [
  { memoryKiB: 19456, passes: 2, parallelism: 1 },
  { memoryKiB: 32768, passes: 3, parallelism: 1 },
  { memoryKiB: 65536, passes: 3, parallelism: 1 },
];

interface Page {
  storeCosts(
    messages: number,
    variant: "detect" | "noble",
  ): Promise<{ sendMs: number[]; openMs: number; rows: number }>;
  keystoreCreate(name: string, passphrase: string, argon2id: Argon2idParameters): Promise<unknown>;
  keystoreOpen(name: string, passphrase: string): Promise<{ ms: number } | { code: string }>;
  keystoreDelete(name: string): Promise<void>;
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const runs = args.includes("--quick") ? 1 : 3;
  printMachine(machineInfo());
  const built = await bundlePage(new URL("../test/browser/pages/browser-store/", import.meta.url).pathname);
  const server = await serveStatic(built.dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
    const call = <T>(method: keyof Page, ...params: unknown[]): Promise<T> =>
      page.evaluate(
        ([m, p]) =>
          (globalThis as unknown as { nanoStore: Record<string, (...a: unknown[]) => Promise<T>> }).nanoStore[
            m as string
          ]!(...(p as unknown[])),
        [method, params] as const,
      ) as Promise<T>;
    process.stdout.write(
      "| argon2id (memory, passes, lanes) | Chromium unlock, ms (median) | node:crypto derivation, ms (median) |\n|---|---|---|\n",
    );
    for (const parameters of PARAMETER_SETS) {
      const name = `bench-keystore-${parameters.memoryKiB}`;
      await call("keystoreCreate", name, "bench passphrase", parameters);
      const browserMs: number[] = [];
      const nodeMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const opened = await call<{ ms: number } | { code: string }>(
          "keystoreOpen",
          name,
          "bench passphrase",
        );
        if ("code" in opened) throw new Error(`unlock failed: ${opened.code}`);
        browserMs.push(opened.ms);
        const started = performance.now();
        await argon2id(new TextEncoder().encode("bench passphrase"), new Uint8Array(16), parameters);
        nodeMs.push(performance.now() - started);
      }
      await call("keystoreDelete", name);
      process.stdout.write(
        `| ${parameters.memoryKiB / 1024} MiB, ${parameters.passes}, ${parameters.parallelism} | ${Math.round(median(browserMs))} (${browserMs.map(Math.round).join(", ")}) | ${Math.round(median(nodeMs))} (${nodeMs.map(Math.round).join(", ")}) |\n`,
      );
    }
    process.stdout.write(
      "\n| store of | AEAD from | send-shaped transaction, ms (median of 30) | reopen, ms | of which the IndexedDB read alone, ms |\n|---|---|---|---|---|\n",
    );
    for (const messages of args.includes("--quick") ? [1000] : [1000, 5000]) {
      for (const variant of ["detect", "noble"] as const) {
        const costs = await call<{ sendMs: number[]; openMs: number; readMs: number; rows: number }>(
          "storeCosts",
          messages,
          variant,
        );
        process.stdout.write(
          `| ${messages} messages (${costs.rows} rows read back) | ${variant === "detect" ? "WebCrypto (detected)" : "@noble"} | ${median(costs.sendMs).toFixed(1)} | ${Math.round(costs.openMs)} | ${Math.round(costs.readMs)} |\n`,
        );
      }
    }
  } finally {
    await browser.close();
    await server.close();
    await built.remove();
  }
}
