// The vector loader's contract: absent folder -> loud skip, or failure under CI; present folder with a
// missing file -> failure; zero cases or a count that disagrees with the file -> failure.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { base64Bytes, hexBytes, nonEmpty, VECTORS_ENV, vectorsDir } from "./vectors.ts";
import { wycheproofCases } from "./wycheproof.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/needs-vectors.fixture.ts", import.meta.url));

function runFixture(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // A nested `node --test` must not think it is a worker of this run.
  delete childEnv.NODE_TEST_CONTEXT;
  // Run the file directly (not `--test`), so its stderr stays stderr instead of becoming TAP comments.
  const result = spawnSync(process.execPath, ["--test-reporter=tap", FIXTURE], {
    env: childEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "nano-vectors-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("absent vectors folder outside CI: the test is skipped and stderr says why", () => {
  const missing = join(tmpdir(), "nano-vectors-definitely-absent");
  const { status, stdout, stderr } = runFixture({ [VECTORS_ENV]: missing, CI: "" });
  assert.equal(status, 0, stdout + stderr);
  assert.match(stdout, /# SKIP/);
  assert.match(stdout, /# skipped 1/);
  assert.match(stderr, /VECTORS MISSING/);
  assert.ok(stderr.includes(missing), "the line names the missing folder");
  assert.ok(stderr.includes(VECTORS_ENV), "the line says how to supply the folder");
});

test("absent vectors folder under CI: the test fails", () => {
  const missing = join(tmpdir(), "nano-vectors-definitely-absent");
  const { status, stdout } = runFixture({ [VECTORS_ENV]: missing, CI: "true" });
  assert.notEqual(status, 0);
  assert.match(stdout, /# fail 1/);
  assert.match(stdout, /CI is set/);
});

test("present folder with a missing file: the test fails even outside CI", () => {
  withTempDir((dir) => {
    const { status, stdout } = runFixture({ [VECTORS_ENV]: dir, CI: "" });
    assert.notEqual(status, 0);
    assert.match(stdout, /# fail 1/);
  });
});

test("NANO_VECTORS_DIR wins over the default folder", () => {
  const saved = process.env[VECTORS_ENV];
  try {
    process.env[VECTORS_ENV] = "/somewhere/else";
    assert.equal(vectorsDir(), "/somewhere/else");
    delete process.env[VECTORS_ENV];
    assert.match(vectorsDir(), /[\\/]shared[\\/]vectors$/);
  } finally {
    if (saved === undefined) delete process.env[VECTORS_ENV];
    else process.env[VECTORS_ENV] = saved;
  }
});

test("wycheproofCases fails on zero tests and on a count that disagrees with numberOfTests", () => {
  const saved = process.env[VECTORS_ENV];
  withTempDir((dir) => {
    try {
      process.env[VECTORS_ENV] = dir;
      mkdirSync(join(dir, "wycheproof"));
      const write = (name: string, body: unknown) =>
        writeFileSync(join(dir, "wycheproof", name), JSON.stringify(body));
      write("empty.json", { algorithm: "X", numberOfTests: 0, testGroups: [] });
      write("no-tests.json", { algorithm: "X", numberOfTests: 0, testGroups: [{ type: "T", tests: [] }] });
      write("short.json", {
        algorithm: "X",
        numberOfTests: 2,
        testGroups: [{ type: "T", tests: [{ tcId: 1, result: "valid" }] }],
      });
      writeFileSync(join(dir, "wycheproof", "bad.json"), "{not json");
      assert.throws(() => wycheproofCases("empty.json"), /zero test cases/);
      assert.throws(() => wycheproofCases("no-tests.json"), /zero test cases/);
      assert.throws(() => wycheproofCases("short.json"), /declares 2/);
      assert.throws(() => wycheproofCases("bad.json"), /not valid JSON/);
      assert.throws(() => wycheproofCases("absent.json"), /not found/);
      assert.throws(() => wycheproofCases("../escape.json"), TypeError);
    } finally {
      if (saved === undefined) delete process.env[VECTORS_ENV];
      else process.env[VECTORS_ENV] = saved;
    }
  });
});

test("nonEmpty, hexBytes and base64Bytes refuse what they cannot use", () => {
  assert.throws(() => nonEmpty([], "list"), /zero test cases/);
  assert.throws(() => nonEmpty(undefined, "list"), /zero test cases/);
  assert.deepEqual(nonEmpty([1], "list"), [1]);
  assert.deepEqual(hexBytes("00ff"), Uint8Array.of(0, 255));
  for (const bad of ["0", "zz", "0g"]) assert.throws(() => hexBytes(bad), TypeError);
  assert.deepEqual(base64Bytes("AAE="), Uint8Array.of(0, 1));
  for (const bad of ["A", "A*==", "AAE"]) assert.throws(() => base64Bytes(bad), TypeError);
});
