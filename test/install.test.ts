import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";

/**
 * The install paths of README "Install", for real: `npm link` into a temporary global prefix, and the
 * tarball `npm pack` makes laid out as `npm install -g` lays it out. Afterwards `nano-client` and
 * `nano-relay` work from any folder, whatever Node is first on PATH: an old one (Debian's Node 20, as
 * on CI) re-runs the command under the Node 24 the package brings along (bin/_require-node.js), and
 * the installed copy's TypeScript runs from node_modules (bin/_installed-typescript.js).
 * No network: npm link and npm pack work offline; the dependencies of the packed layout are the
 * project's own (fetching them is the one step of `npm install -g` not exercised here).
 */
const ROOT = new URL("../", import.meta.url).pathname;

/** The folder of the `node` first on the machine's PATH (the one a #!/usr/bin/env node shebang runs). */
function pathNode(): { dir: string; version: string } | null {
  const found = spawnSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).stdout.trim();
  if (found === "") return null;
  const version = spawnSync(found, ["--version"], { encoding: "utf8" }).stdout.trim();
  return { dir: dirname(found), version };
}

function runInstalled(bin: string, args: string[], cwd: string, extraPath: string) {
  const node = pathNode();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The installed command's folder, then the machine's own node, never the project's pinned one.
    PATH: [extraPath, ...(node === null ? [] : [node.dir]), "/usr/bin", "/bin"].join(":"),
    NANO_PASSPHRASE: "an install test passphrase",
  };
  delete env.NANO_NODE;
  delete env.NANO_REEXEC;
  return spawnSync(bin, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync("npm", [...args, "--offline", "--no-audit", "--no-fund"], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 180_000,
  });
}

const hasNpm = spawnSync("npm", ["--version"]).status === 0;

test("npm link: both commands work from any folder with the Node on PATH", {
  skip: !hasNpm && "npm is not on PATH",
}, () => {
  const prefix = mkdtempSync(join(tmpdir(), "nano-link-"));
  const linked = npm(["link"], ROOT, { npm_config_prefix: prefix });
  assert.equal(linked.status, 0, linked.stderr);
  const elsewhere = mkdtempSync(join(tmpdir(), "nano-elsewhere-"));
  const bin = join(prefix, "bin");
  const version = runInstalled(join(bin, "nano-client"), ["--version"], elsewhere, bin);
  assert.equal(version.status, 0, version.stderr);
  assert.match(
    version.stdout,
    /^nano-client \d+\.\d+\.\d+ \(Node 24\./,
    `PATH's node is ${pathNode()?.version}`,
  );
  const relay = runInstalled(
    join(bin, "nano-relay"),
    ["validate-config", "--environment", "development"],
    elsewhere,
    bin,
  );
  assert.equal(relay.status, 0, relay.stderr);
});

test("npm pack: the packed files, laid out as npm install -g does, run from node_modules on any Node", {
  skip: !hasNpm && "npm is not on PATH",
}, () => {
  const work = mkdtempSync(join(tmpdir(), "nano-pack-"));
  const packed = npm(["pack", ROOT, "--pack-destination", work], work);
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = readdirSync(work).find((name) => /^nano-messenger-.*\.tgz$/.test(name));
  assert.ok(tarball, "npm pack wrote the tarball");
  // PREFIX/lib/node_modules/nano-messenger holds the package, PREFIX/bin links its commands.
  const prefix = join(work, "prefix");
  const pkg = join(prefix, "lib", "node_modules", "nano-messenger");
  mkdirSync(pkg, { recursive: true });
  mkdirSync(join(prefix, "bin"));
  const unpacked = spawnSync("tar", ["xzf", join(work, tarball), "-C", pkg, "--strip-components=1"]);
  assert.equal(unpacked.status, 0);
  const files = spawnSync("tar", ["tzf", join(work, tarball)], { encoding: "utf8" }).stdout;
  for (const needed of [
    "package/bin/nano-client.js",
    "package/src/store/sqlite/migrations/0001_core.up.sql",
    "package/config/production.toml",
  ])
    assert.ok(files.includes(needed), `${needed} is in the package`);
  assert.doesNotMatch(files, /package\/test\//, "tests are not shipped");
  symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"));
  for (const tool of ["nano-client", "nano-relay"])
    symlinkSync(
      join("..", "lib", "node_modules", "nano-messenger", "bin", `${tool}.js`),
      join(prefix, "bin", tool),
    );

  const elsewhere = mkdtempSync(join(tmpdir(), "nano-elsewhere-"));
  const bin = join(prefix, "bin");
  const init = runInstalled(
    join(bin, "nano-client"),
    ["--home", join(elsewhere, "home"), "init", "--kdf-memory", "19456", "--kdf-passes", "2"],
    elsewhere,
    bin,
  );
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, /^initialized /);
  assert.doesNotMatch(init.stderr, /ExperimentalWarning/, "no warning the user cannot act on");
  const config = join(elsewhere, "relay.toml");
  const written = runInstalled(
    join(bin, "nano-relay"),
    ["init-config", "--environment", "testing", "--data-dir", join(elsewhere, "data"), "--output", config],
    elsewhere,
    bin,
  );
  assert.equal(written.status, 0, written.stderr);
  const migrated = runInstalled(join(bin, "nano-relay"), ["migrate", "--config", config], elsewhere, bin);
  assert.equal(migrated.status, 0, migrated.stderr);
  assert.match(migrated.stdout, /schema version 0 -> \d+/);
  const checked = runInstalled(join(bin, "nano-relay"), ["check", "--config", config], elsewhere, bin);
  assert.equal(checked.status, 0, checked.stderr + checked.stdout);
});
