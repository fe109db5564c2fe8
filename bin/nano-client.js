#!/usr/bin/env node
import { requireNode } from "./_require-node.js";

requireNode("nano-client");
(await import("./_compile-cache.js")).enableCompileCache();
const { main } = await import("../src/cli/client.ts");
await main(process.argv.slice(2));
