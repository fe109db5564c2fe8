// Loaded with --import into every test process of `npm run test:fast`: the fast tier starts no
// processes, and a test that tries fails at once with what to do, instead of quietly making the fast
// tier slow. Covers what the import scan in _test-tiers.js cannot see (a computed import, a helper
// that spawns through a library).
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

/** @type {Record<string, unknown>} */
const patchable = childProcess;
for (const name of ["spawn", "spawnSync", "fork", "exec", "execSync", "execFile", "execFileSync"]) {
  patchable[name] = () => {
    throw new Error(
      `the fast test tier starts no processes (child_process.${name} was called): this test belongs to the full tier; add a line "// tier: full" to it (scripts/_test-tiers.js)`,
    );
  };
}
syncBuiltinESMExports();
