import assert from "node:assert/strict";
import { test } from "node:test";
import encodeQR from "qr";
import decodeQR from "qr/decode.js";
import { cli, errorOf, setUpUsers, type User, withRelay } from "./_harness.ts";

/**
 * Issue 14, "contacts": `verify NAME --confirm DIGITS` checks the number typed (a mismatch records
 * nothing), `verify --qr` draws the QR payload that NAME's client computes, `block` drops a sender's
 * messages unread (acknowledged, counted in status) until `unblock`, `contacts remove` forgets a
 * contact so the next message starts afresh. Real relay, real CLI processes.
 */

interface VerifyLine {
  readonly safetyNumber: string;
  readonly qrPayload: string;
  readonly verified: boolean;
}

async function verifyOf(user: User, peer: string, extra: readonly string[] = []): Promise<VerifyLine> {
  const [line] = await user.json(["verify", peer, ...extra]);
  return line as VerifyLine;
}

async function contactNames(user: User): Promise<{ username: string; verified: boolean }[]> {
  const [line] = await user.json(["contacts"]);
  return (line as { contacts: { username: string; verified: boolean }[] }).contacts;
}

/**
 * The QR code as printed (the library's half-block drawing: a full block is two light modules) back
 * to a module matrix, true = dark, the shape of `encodeQR(..., "raw")`.
 */
function parseDrawing(lines: readonly string[]): boolean[][] {
  const top: Record<string, boolean> = { "█": false, "▀": false, "▄": true, " ": true };
  const bottom: Record<string, boolean> = { "█": false, "▀": true, "▄": false, " ": true };
  const rows: boolean[][] = [];
  for (const line of lines) {
    rows.push([...line].map((char) => top[char]!));
    rows.push([...line].map((char) => bottom[char]!));
  }
  return rows;
}

/** A scanner's view: the matrix as an RGB image, 6 pixels a module, decoded by the library's reader. */
function scan(matrix: boolean[][]): Uint8Array {
  const scale = 6;
  const quiet = 4;
  const size = (matrix.length + 2 * quiet) * scale;
  const data = new Uint8Array(size * size * 3).fill(255);
  for (const [y, row] of matrix.entries())
    for (const [x, dark] of row.entries()) {
      if (!dark) continue;
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const offset = (((y + quiet) * scale + dy) * size + (x + quiet) * scale + dx) * 3;
          data.fill(0, offset, offset + 3);
        }
    }
  let bytes: Uint8Array | null = null;
  decodeQR(
    { width: size, height: size, data },
    {
      format: "RGB",
      textDecoder: (raw) => {
        bytes = Uint8Array.from(raw);
        return "";
      },
    },
  );
  assert.ok(bytes !== null, "the reader found a byte segment");
  return bytes;
}

test("contacts: verify --confirm DIGITS and --qr, block/unblock, contacts remove", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "hello bob");
    assert.deepEqual(
      (await bob!.receive()).map((m) => m.text),
      ["hello bob"],
    );

    await test("verify --confirm with the wrong digits is an error and records nothing", async () => {
      const mine = await verifyOf(alice!, "bob");
      const theirs = await verifyOf(bob!, "alice");
      assert.equal(mine.safetyNumber, theirs.safetyNumber, "the same 60 digits on both sides");
      // One digit off, as a user who misread a group would type it.
      const digits = theirs.safetyNumber.replace(/\s+/g, "");
      const wrong = `${digits.slice(0, 59)}${(Number(digits[59]) + 1) % 10}`;
      const refused = await alice!.run(["verify", "bob", "--confirm", wrong]);
      assert.equal(refused.code, 65, refused.stdout);
      assert.equal(errorOf(refused).code, "safety_number_mismatch");
      assert.equal((await contactNames(alice!)).find((c) => c.username === "bob")?.verified, false);
      const short = await alice!.run(["verify", "bob", "--confirm", "12345 67890"]);
      assert.equal(errorOf(short).code, "safety_number_malformed");
      assert.equal((await contactNames(alice!)).find((c) => c.username === "bob")?.verified, false);
      // Typed as shown on bob's screen, groups and line breaks included.
      const confirmed = await verifyOf(alice!, "bob", ["--confirm", theirs.safetyNumber]);
      assert.equal(confirmed.verified, true);
      assert.equal((await contactNames(alice!)).find((c) => c.username === "bob")?.verified, true);
    });

    await test("verify --qr draws the payload bob's client computes; a reader decodes it", async () => {
      const theirs = await verifyOf(bob!, "alice");
      const run = await cli(["--home", alice!.home, "verify", "bob", "--qr"]);
      assert.equal(run.code, 0, run.stderr);
      const drawing = run.stdout.split("\n").filter((line) => /^[█▀▄ ]+$/.test(line) && line.trim() !== "");
      assert.ok(drawing.length > 10, run.stdout);
      const matrix = parseDrawing(drawing);
      const model = encodeQR(theirs.qrPayload, "raw", {
        encoding: "byte",
        ecc: "medium",
        textEncoder: () => Buffer.from(theirs.qrPayload, "hex"),
      });
      // The drawing has an odd row count padded by one light row: compare the symbol's rows.
      assert.deepEqual(matrix.slice(0, model.length), model, "the library's own model of bob's payload");
      assert.equal(Buffer.from(scan(model)).toString("hex"), theirs.qrPayload);
      assert.equal(Buffer.from(scan(matrix.slice(0, model.length))).toString("hex"), theirs.qrPayload);
      assert.match(run.stdout, /bob: \d{5}/, "the digits are printed too");
    });

    await test("block: messages are acknowledged and dropped unread, counted in status; unblock", async () => {
      const blocked = await bob!.json(["block", "alice"]);
      assert.deepEqual(blocked, [{ username: "alice", blocked: true, changed: true }]);
      await alice!.send("bob", "dropped one");
      await alice!.send("bob", "dropped two");
      assert.deepEqual(await bob!.receive(), [], "nothing shown");
      // Acknowledged: the relay has nothing left for bob.
      const again = await cli(["--home", bob!.home, "receive"]);
      assert.match(again.stdout, /no new messages/);
      const [status] = (await bob!.json(["status"])) as {
        blocked: { senders: string[]; droppedMessages: number };
      }[];
      assert.deepEqual(status!.blocked, { senders: ["alice"], droppedMessages: 2 });
      const human = await cli(["--home", bob!.home, "status"]);
      assert.match(human.stdout, /blocked:\s+alice; 2 message\(s\) dropped unread/);

      await bob!.json(["unblock", "alice"]);
      await alice!.send("bob", "after unblock");
      assert.deepEqual(
        (await bob!.receive()).map((m) => m.text),
        ["after unblock"],
      );
    });

    await test("contacts remove: forgotten, and the next message starts a new session", async () => {
      const missing = await alice!.run(["contacts", "remove", "carol"]);
      assert.equal(missing.code, 66);
      assert.equal(errorOf(missing).code, "contact_not_found");
      const [removed] = (await alice!.json(["contacts", "remove", "bob"])) as {
        removed: { username: string; sessions: number };
      }[];
      assert.equal(removed!.removed.username, "bob");
      assert.ok(removed!.removed.sessions >= 1);
      assert.deepEqual(await contactNames(alice!), []);
      const sent = await alice!.send("bob", "a fresh start");
      assert.equal(sent.newSession, true);
      assert.deepEqual(
        (await bob!.receive()).map((m) => m.text),
        ["a fresh start"],
      );
      assert.deepEqual(
        (await contactNames(alice!)).map((c) => [c.username, c.verified]),
        [["bob", false]],
        "back as an unverified contact",
      );
    });
  }));
