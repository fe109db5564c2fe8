// `npm run build:web [-- OUT_DIR]`: builds the web app into dist/web (or OUT_DIR) and prints the
// build's hash, the SHA-256 of its SHA256SUMS (docs/web.md "Reproducible builds").
import { resolve } from "node:path";
import { buildWebApp } from "./web/build.ts";

const [outDir] = process.argv.slice(2);
const result = await buildWebApp(outDir === undefined ? undefined : resolve(outDir));
process.stdout.write(
  `web build: ${result.files} files in ${result.outDir}\nweb build sha256: ${result.treeHash}\n`,
);
