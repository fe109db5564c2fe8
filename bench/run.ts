// `npm run bench -- NAME [options]`: runs bench/NAME.ts, which prints a table and writes JSON under
// bench/results/. With no name, lists the benchmarks. Each benchmark reports ratios against a baseline
// measured in the same run, because shared machines are noisy.
import { readdirSync } from "node:fs";

const here = new URL(".", import.meta.url);
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && !file.startsWith("_") && file !== "run.ts")
  .map((file) => file.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  const problem = name === undefined ? "name a benchmark" : `no benchmark named "${name}"`;
  process.stderr.write(`bench: ${problem}; available: ${available.join(", ") || "(none yet)"}\n`);
  process.exit(name === undefined ? 0 : 64);
}
const module = (await import(new URL(`${name}.ts`, here).href)) as { run(args: string[]): Promise<void> };
await module.run(rest);
