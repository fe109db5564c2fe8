// `npx node bench/_e2e-profile.ts DIR`: summarises the .cpuprofile files that `npm run bench -- e2e
// --profile DIR` wrote (relay, senders, receivers): self time by function and by source file, and the
// inclusive time of the frames that matter for the analysis in docs/performance.md.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const shortUrl = (url: string) =>
  url.replace(/^file:\/\/.*?\/(src|node_modules|bench|test)\//, "$1/").replace(/^node:/, "node:");

export function summarizeProfile(profile: CpuProfile, top = 18): string {
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    if (micros === 0) continue;
    const frame = node.callFrame;
    const file = frame.url === "" ? `(${frame.functionName || "native"})` : shortUrl(frame.url);
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byFile.set(file, (byFile.get(file) ?? 0) + micros);
  }
  // Inclusive time per function name: samples whose stack contains the frame.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
  const inclusive = new Map<string, number>();
  for (const [id, micros] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nodeById.get(at)!.callFrame;
      const key = `${frame.functionName} ${shortUrl(frame.url)}`;
      if (frame.functionName === "" || seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros);
    }
  }
  const pct = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => `  ${pct(micros)}  ${name}`)
      .join("\n");
  return [
    `total sampled ${(total / 1e6).toFixed(2)} s`,
    "self time by file:",
    list(byFile, 12),
    "self time by function:",
    list(byFunction, top),
    "inclusive time (src/ frames):",
    list(new Map([...inclusive].filter(([key]) => key.includes("src/"))), top),
  ].join("\n");
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write("usage: npx node bench/_e2e-profile.ts DIR\n");
    process.exit(64);
  }
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    process.stdout.write(`\n== ${file}\n${summarizeProfile(profile)}\n`);
  }
}
