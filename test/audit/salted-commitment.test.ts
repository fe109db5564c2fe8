// Salted commitments: the log keeps SHA-256(salt || data); erasing (salt, data) from the side table
// leaves the log verifiable and the commitment unopenable.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import {
  COMMITMENT_SALT_LENGTH,
  commitPersonalData,
  verifyPersonalData,
} from "../../src/audit/salted-commitment.ts";
import { verifyLog } from "../../src/audit/verify-log.ts";
import { concatBytes, toHex, utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";

test("commitment = SHA-256(salt || data) with a fresh 32-byte salt each time", () => {
  const data = utf8("alice");
  const first = commitPersonalData(nodePrimitives, data);
  const second = commitPersonalData(nodePrimitives, data);
  assert.equal(first.salt.length, COMMITMENT_SALT_LENGTH);
  assert.deepEqual(first.commitment, sha256(concatBytes(first.salt, data)));
  assert.notEqual(toHex(first.salt), toHex(second.salt));
  assert.notEqual(toHex(first.commitment), toHex(second.commitment), "same data, unlinkable commitments");
  verifyPersonalData(sha256, first.commitment, first.salt, data);
});

test("a wrong salt, wrong data or wrong commitment is a typed mismatch", () => {
  const { commitment, salt } = commitPersonalData(nodePrimitives, utf8("alice"));
  const mismatch = (e: unknown) => NanoError.is(e, "salted_commitment_mismatch");
  assert.throws(() => verifyPersonalData(sha256, commitment, salt, utf8("alicf")), mismatch);
  assert.throws(
    () =>
      verifyPersonalData(
        sha256,
        commitment,
        commitPersonalData(nodePrimitives, utf8("x")).salt,
        utf8("alice"),
      ),
    mismatch,
  );
  assert.throws(() => verifyPersonalData(sha256, commitment.slice(0, 31), salt, utf8("alice")), mismatch);
  assert.throws(
    () => commitPersonalData(nodePrimitives, utf8("alice"), new Uint8Array(31)),
    (e: unknown) => NanoError.is(e, "invalid_length"),
  );
});

test("erasure: deleting the side-table row leaves the log verifiable", async () => {
  const log = new MerkleLog(new MemoryLogStore());
  const sideTable = new Map<number, { salt: Uint8Array; data: Uint8Array }>();
  for (const name of ["alice", "bob", "carol"]) {
    const data = utf8(name);
    const { commitment, salt } = commitPersonalData(nodePrimitives, data);
    const { start } = await log.append([concatBytes(utf8("username-claim:"), commitment)]);
    sideTable.set(start, { salt, data });
  }
  const head = { size: 3, rootHash: await log.rootHash() };
  sideTable.delete(1); // bob asks to be forgotten
  assert.ok((await verifyLog(log.store, [head])).ok);
  const kept = sideTable.get(0)!;
  verifyPersonalData(sha256, (await log.entry(0)).slice(15), kept.salt, kept.data);
});
