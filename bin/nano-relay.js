#!/usr/bin/env node
import { requireNode } from "./_require-node.js";

requireNode("nano-relay");
(await import("./_compile-cache.js")).enableCompileCache();
const { main } = await import("../src/cli/relay.ts");
await main(process.argv.slice(2));
