// Plain JavaScript on purpose: this file must parse on the old Node a user may have on PATH, so it can
// explain the problem instead of failing with a TypeScript syntax error.
const [MIN_MAJOR, MIN_MINOR] = [24, 12];

/**
 * Exits with a clear message when the running Node is older than the project needs.
 * @param {string} tool the command name to show in the message
 * @param {string} [how] how to run it through npm instead (defaults to `npx TOOL ...`)
 */
export function requireNode(tool, how = `npx ${tool} ...`) {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR)) return;
  process.stderr.write(
    `${tool}: Node ${MIN_MAJOR}.${MIN_MINOR} or newer is required, but this is Node ${process.versions.node}\n` +
      "hint: run it through npm so the project's pinned Node 24 is used, e.g. `npm start`, `npm test`,\n" +
      `      or \`${how}\` from the project folder (after \`npm install\`)\n`,
  );
  process.exit(78);
}
