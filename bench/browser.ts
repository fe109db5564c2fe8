// `npm run bench -- browser [--quick]`: ML-KEM-768, ML-DSA-65, X25519, ChaCha20-Poly1305, the crypto
// of one hybrid ratchet message, and whole src/protocol ratchet messages in each mode, per second, in
// Debian's Chromium (headless, playwright-core) for both browser providers (WebCrypto by feature
// detection; @noble only), beside the same operations on Node through the node:crypto provider,
// measured in the same run (bench/_provider-ops.ts has the list).
// Wall-clock rates: record `uptime` with the numbers. Writes bench/results/browser-*.json.

import { nodeProvider } from "../src/crypto/node-provider.ts";
import { bundlePage } from "../test/browser/_bundle.ts";
import { chromiumPath, launchChromium } from "../test/browser/_chromium.ts";
import { serveStatic } from "../test/browser/_static-server.ts";
import { formatTable, type Measurement, machineInfo, printMachine, writeResults } from "./_harness.ts";
import {
  heavyOperations,
  measureOperations,
  type OperationRate,
  prepareOperations,
} from "./_provider-ops.ts";

interface PageResult {
  readonly rates: OperationRate[];
  readonly implementations: Readonly<Record<string, string>>;
  readonly userAgent: string;
}

function toMeasurement(group: string, rate: OperationRate, baseline: OperationRate | undefined): Measurement {
  return {
    group,
    name: rate.name,
    opsPerSec: rate.opsPerSec,
    microsPerOp: 1e6 / rate.opsPerSec,
    bytesPerOp: null,
    megabytesPerSec: null,
    spreadPercent: rate.spreadPercent,
    totalOps: 0,
    ratio: baseline === undefined ? null : rate.opsPerSec / baseline.opsPerSec,
    ratioTo: baseline === undefined ? null : "node",
  };
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const sampleMs = quick ? 150 : 400;
  const samples = quick ? 3 : 5;
  const machine = machineInfo();
  printMachine(machine);
  const built = await bundlePage(new URL("./browser-page/", import.meta.url).pathname);
  const server = await serveStatic(built.dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
    const inPage = (variant: "detect" | "noble") =>
      page.evaluate(
        ([v, ms, n]) =>
          (
            globalThis as unknown as {
              nanoBench: { run(variant: string, ms: number, n: number): Promise<PageResult> };
            }
          ).nanoBench.run(v, ms, n),
        [variant, sampleMs, samples] as const,
      );
    // Node first, then each browser variant; each measures its operations in turn.
    const node = await measureOperations(await prepareOperations(nodeProvider), sampleMs, samples);
    node.push(...(await measureOperations(heavyOperations(nodeProvider), 0, 1)));
    const webcrypto = await inPage("detect");
    const noble = await inPage("noble");
    process.stdout.write(`chromium: ${chromiumPath()} (${webcrypto.userAgent})\n`);
    process.stdout.write(`detected: ${JSON.stringify(webcrypto.implementations)}\n`);
    const measurements = [
      ...node.map((rate) => toMeasurement("node (node:crypto)", rate, undefined)),
      ...webcrypto.rates.map((rate, i) => toMeasurement("chromium (WebCrypto + noble)", rate, node[i])),
      ...noble.rates.map((rate, i) => toMeasurement("chromium (noble only)", rate, node[i])),
    ];
    process.stdout.write(`${formatTable(measurements)}\n`);
    const options = { warmupMs: sampleMs / 2, sampleMs, samples, minOpsPerSample: 2, quick };
    process.stdout.write(`results: ${writeResults("browser", machine, options, measurements)}\n`);
  } finally {
    await browser.close();
    await server.close();
    await built.remove();
  }
}
