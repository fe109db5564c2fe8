#!/usr/bin/env node
import { requireNode } from "./_require-node.js";

if (requireNode("nano-client")) {
  (await import("./_compile-cache.js")).enableCompileCache();
  (await import("./_installed-typescript.js")).allowTypeScriptFromThisPackage();
  const { main } = await import("../src/cli/client.ts");
  await main(process.argv.slice(2));
}
