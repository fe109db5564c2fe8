#!/usr/bin/env node
import { requireNode } from "./_require-node.js";

requireNode("nano-relay");
const { main } = await import("../src/cli/relay.ts");
await main(process.argv.slice(2));
