// `npm run build:web [-- OUT_DIR] [--relay https://relay.example ...]`: builds the web app into
// dist/web (or OUT_DIR) and prints the build's hash, the SHA-256 of its SHA256SUMS (docs/web.md
// "Reproducible builds"). `--relay`: a build for a copy run from a local folder, whose CSP allows that
// relay (and whose default relay it is); the relay-served build takes none.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildWebApp } from "./web/build.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { relay: { type: "string", multiple: true } },
});
const [outDir] = positionals;
const result = await buildWebApp(outDir === undefined ? undefined : resolve(outDir), {
  relays: values.relay ?? [],
});
process.stdout.write(
  `web build: ${result.files} files in ${result.outDir}\nweb build sha256: ${result.treeHash}\n`,
);
