// Node strips TypeScript types itself, but refuses to for files under node_modules
// (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), which is where `npm install -g` puts this package.
// When these entrypoints run from an installed copy, a module hook does the same stripping for this
// package's own .ts files only (Node's own stripTypeScriptTypes; the code is erasable-syntax only, see
// tsconfig.json), so the installed package runs the same source as the project folder, with no build
// step and no second copy to drift. Other packages' files are left to Node. Plain JavaScript.
import { readFileSync, realpathSync } from "node:fs";
import module from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

export function allowTypeScriptFromThisPackage() {
  const root = pathToFileURL(realpathSync(fileURLToPath(new URL("../", import.meta.url)))).href;
  if (!root.includes("/node_modules/")) return;
  const strip = (/** @type {string} */ source) => {
    // stripTypeScriptTypes warns once that it is experimental; the user of a command cannot act on that.
    const emit = process.emitWarning;
    process.emitWarning = () => {};
    try {
      return module.stripTypeScriptTypes(source);
    } finally {
      process.emitWarning = emit;
    }
  };
  module.registerHooks({
    load(url, context, nextLoad) {
      if (url.startsWith(root) && url.endsWith(".ts") && !url.slice(root.length).includes("node_modules/"))
        return {
          format: "module",
          source: strip(readFileSync(fileURLToPath(url), "utf8")),
          shortCircuit: true,
        };
      return nextLoad(url, context);
    },
  });
}
