// Known answers from transparency-dev/merkle (../shared/vectors/merkle): every happy path verifies,
// every probe marked wantErr fails with a typed error, our own proofs equal the published ones, and the
// tree constants match leaf, node and root hashes for sizes 0..8.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { EMPTY_ROOT, hashChildren, hashLeaf, rootFromLeafHashes } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { verifyConsistency, verifyInclusion } from "../../src/audit/merkle-verify.ts";
import { fromHex, toHex } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { NanoError } from "../../src/errors/index.ts";
import { jsonFiles, vectorFolder } from "../support/vectors.ts";

const folder = vectorFolder("merkle");

function b64(value: unknown, where: string): Uint8Array {
  if (typeof value !== "string") throw new TypeError(`${where}: expected a base64 string`);
  return new Uint8Array(Buffer.from(value, "base64"));
}

function b64List(value: unknown, where: string): Uint8Array[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`${where}: expected a list`);
  return value.map((item, i) => b64(item, `${where}[${i}]`));
}

function int(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new TypeError(`${where}: expected an integer`);
  return value;
}

function flag(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${where}: expected a boolean`);
  return value;
}

type Probe = Record<string, unknown>;

function probes(sub: string): { name: string; probe: Probe }[] {
  if ("skip" in folder) return [];
  return jsonFiles(join(folder.path, sub)).map(({ name, value }) => ({
    name: `${sub}/${name}`,
    probe: value as Probe,
  }));
}

interface TreeConstants {
  leafInputsHex: string[];
  nodeHashesByLevelHex: string[][];
  rootHashesBySizeHex: string[];
}

function constants(): TreeConstants {
  if ("skip" in folder) throw new Error("unreachable");
  return JSON.parse(readFileSync(join(folder.path, "tree-constants.json"), "utf8")) as TreeConstants;
}

async function constantsLog(): Promise<MerkleLog> {
  const log = new MerkleLog(new MemoryLogStore());
  await log.append(constants().leafInputsHex.map(fromHex));
  return log;
}

const skip = "skip" in folder ? folder.skip : false;

test("inclusion probes: happy paths verify, wantErr probes fail with a NanoError", { skip }, () => {
  const all = probes("inclusion");
  assert.ok(all.length > 0, "zero inclusion vectors loaded");
  let happy = 0;
  let failing = 0;
  for (const { name, probe } of all) {
    const claim = {
      leafHash: b64(probe.leafHash, name),
      index: int(probe.leafIdx, name),
      treeSize: int(probe.treeSize, name),
      proof: b64List(probe.proof, name),
      rootHash: b64(probe.root, name),
    };
    if (flag(probe.wantErr, name)) {
      assert.throws(() => verifyInclusion(sha256, claim), NanoError, `${name} must fail`);
      failing++;
    } else {
      assert.doesNotThrow(() => verifyInclusion(sha256, claim), `${name} must verify`);
      happy++;
    }
  }
  assert.ok(happy >= 5, `only ${happy} happy inclusion paths`);
  assert.ok(failing >= 50, `only ${failing} failing inclusion probes`);
});

test("consistency probes: happy paths verify, wantErr probes fail with a NanoError", { skip }, () => {
  const all = probes("consistency");
  assert.ok(all.length > 0, "zero consistency vectors loaded");
  let happy = 0;
  let failing = 0;
  for (const { name, probe } of all) {
    const claim = {
      size1: int(probe.size1, name),
      size2: int(probe.size2, name),
      root1: b64(probe.root1, name),
      root2: b64(probe.root2, name),
      proof: b64List(probe.proof, name),
    };
    if (flag(probe.wantErr, name)) {
      assert.throws(() => verifyConsistency(sha256, claim), NanoError, `${name} must fail`);
      failing++;
    } else {
      assert.doesNotThrow(() => verifyConsistency(sha256, claim), `${name} must verify`);
      happy++;
    }
  }
  assert.ok(happy >= 5, `only ${happy} happy consistency paths`);
  assert.ok(failing >= 50, `only ${failing} failing consistency probes`);
});

test("the log produces exactly the published happy-path proofs", { skip }, async () => {
  const log = await constantsLog();
  const roots = constants().rootHashesBySizeHex;
  let compared = 0;
  for (const { name, probe } of probes("inclusion")) {
    if (probe.wantErr !== false) continue;
    const size = int(probe.treeSize, name);
    // Probes over other trees (single-entry) are not from the constants tree.
    if (toHex(b64(probe.root, name)) !== roots[size - 1]) continue;
    const proof = await log.inclusionProof(int(probe.leafIdx, name), size);
    assert.deepEqual(proof.map(toHex), b64List(probe.proof, name).map(toHex), name);
    compared++;
  }
  for (const { name, probe } of probes("consistency")) {
    if (probe.wantErr !== false) continue;
    const size2 = int(probe.size2, name);
    if (toHex(b64(probe.root2, name)) !== roots[size2 - 1]) continue;
    const proof = await log.consistencyProof(int(probe.size1, name), size2);
    assert.deepEqual(proof.map(toHex), b64List(probe.proof, name).map(toHex), name);
    compared++;
  }
  assert.ok(compared >= 8, `only ${compared} published proofs compared`);
});

test("tree constants: leaf hashes, node hashes by level and roots for sizes 0..8", { skip }, async () => {
  const { leafInputsHex, nodeHashesByLevelHex, rootHashesBySizeHex } = constants();
  assert.equal(leafInputsHex.length, 8);
  assert.equal(toHex(EMPTY_ROOT), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const leafHashes = leafInputsHex.map((hex) => hashLeaf(sha256, fromHex(hex)));
  assert.deepEqual(leafHashes.map(toHex), nodeHashesByLevelHex[0]);
  let level = leafHashes;
  for (let l = 1; l < nodeHashesByLevelHex.length; l++) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(sha256, level[i]!, level[i + 1]!));
    assert.deepEqual(next.map(toHex), nodeHashesByLevelHex[l], `level ${l}`);
    level = next;
  }
  const log = await constantsLog();
  assert.equal(toHex(await log.rootHash(0)), toHex(EMPTY_ROOT));
  for (let size = 1; size <= 8; size++) {
    const expected = rootHashesBySizeHex[size - 1];
    assert.equal(
      toHex(rootFromLeafHashes(sha256, leafHashes.slice(0, size))),
      expected,
      `reference root ${size}`,
    );
    assert.equal(toHex(await log.rootHash(size)), expected, `log root ${size}`);
  }
  for (let l = 0; l < nodeHashesByLevelHex.length; l++)
    for (const [i, hex] of nodeHashesByLevelHex[l]!.entries())
      assert.equal(toHex((await log.store.node(l, i))!), hex, `stored node ${l}/${i}`);
});
