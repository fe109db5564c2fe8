// `node bin/_run-ts.js FILE.ts [args...]`: the npm scripts' entry for TypeScript programs (demo,
// benchmarks). Plain JavaScript so that on an old Node the version check explains itself instead of
// the TypeScript file failing to parse.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { requireNode } from "./_require-node.js";

const [file, ...rest] = process.argv.slice(2);
requireNode("nano-messenger", "npm run bench -- NAME` or `npm run demo", { rerun: false });
if (file === undefined) {
  process.stderr.write("usage: node bin/_run-ts.js FILE.ts [args...]\n");
  process.exit(64);
}
process.argv = [process.argv[0] ?? "node", resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
