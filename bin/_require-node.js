// Plain JavaScript on purpose: this file must parse on the old Node a user may have on PATH, so it can
// explain the problem (or fix it) instead of failing with a TypeScript syntax error.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const [MIN_MAJOR, MIN_MINOR] = [24, 12];

/**
 * The Node 24 that nano-messenger brings along: the `node` npm package (a dependency, so a global
 * install has it too) puts the real binary at node/bin/node. NANO_NODE names another one.
 * @returns {string | null}
 */
function pinnedNode() {
  if (process.env.NANO_NODE !== undefined)
    return existsSync(process.env.NANO_NODE) ? process.env.NANO_NODE : null;
  try {
    const manifest = createRequire(import.meta.url).resolve("node/package.json");
    const binary = join(dirname(manifest), "bin", "node");
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/**
 * Runs this same command again under `node`, passing the exit code (or the signal) through and
 * forwarding the signals a supervisor or a terminal sends, so the re-run behaves as the command.
 * @param {string} node
 */
function rerun(node) {
  const child = spawn(node, process.argv.slice(1), {
    stdio: "inherit",
    env: { ...process.env, NANO_REEXEC: "1" },
  });
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"]))
    process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
  child.on("error", (error) => {
    process.stderr.write(`nano-messenger: cannot run ${node}: ${error.message}\n`);
    process.exit(78);
  });
}

/**
 * Makes sure the command runs on Node 24.12 or newer. On an older Node (the one on PATH, e.g. Debian's
 * Node 20, runs a globally installed command's `#!/usr/bin/env node`) it runs the command again under
 * the Node 24 the package brought along; only if there is none does it explain and exit 78. Returns
 * true when this process may go on, false when the re-run took over (the caller must do nothing more).
 * @param {string} tool the command name to show in the message
 * @param {string} [how] how to run it through npm instead (defaults to `npx TOOL ...`)
 * @param {{ rerun?: boolean }} [options] rerun: false for the npm-script entrypoints (npm already
 *   provides the pinned Node there; they only explain)
 * @returns {boolean}
 */
export function requireNode(tool, how = `npx ${tool} ...`, options = {}) {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR)) return true;
  const node = process.env.NANO_REEXEC === "1" || options.rerun === false ? null : pinnedNode();
  if (node !== null && node !== process.execPath) {
    rerun(node);
    return false;
  }
  process.stderr.write(
    `${tool}: Node ${MIN_MAJOR}.${MIN_MINOR} or newer is required, but this is Node ${process.versions.node}\n` +
      "hint: run it through npm so the project's pinned Node 24 is used, e.g. `npm start`, `npm test`,\n" +
      `      or \`${how}\` from the project folder (after \`npm install\`); an installed command uses the Node 24\n` +
      "      it brought along (reinstall it if that is gone), or NANO_NODE=/path/to/node24\n",
  );
  process.exit(78);
}
