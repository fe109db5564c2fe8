import assert from "node:assert/strict";
import { test } from "node:test";
import { cli, errorOf, MIN_KDF, User, withRelay } from "./_harness.ts";

/**
 * Issue 14, "bugs that trap a user" 1 and 2: a claim the relay refuses (the name is taken, reserved,
 * or the home's mode is below the relay's minimum) leaves the home exactly as it was — no username in
 * `status`, no half-made identity that blocks the next claim — and leaves nothing at the relay, so the
 * same home can claim another name and the refused name stays free for a home the relay accepts.
 */
const SECURITY = `minimum_crypto_mode = "hybrid"\nreserved_usernames = ["admin"]`;

interface StatusLine {
  readonly username: string | null;
}

async function usernameOf(user: User): Promise<string | null> {
  const [status] = (await user.json(["status"])) as StatusLine[];
  return status!.username;
}

async function init(user: User, relayUrl: string, mode: string): Promise<void> {
  await user.json(["--relay", relayUrl, "init", "--crypto-mode", mode, ...MIN_KDF]);
}

/** The home claims `name` and talks: the refused claim left nothing behind that gets in the way. */
async function claimsAndTalks(user: User, name: string, peer: User): Promise<void> {
  const [claimed] = (await user.json(["claim-username", name])) as { username: string }[];
  assert.equal(claimed!.username, name);
  assert.equal(await usernameOf(user), name);
  await peer.send(name, `hello ${name}`);
  const texts = (await user.receive()).map((message) => message.text);
  assert.deepEqual(texts, [`hello ${name}`]);
}

test("a refused claim-username leaves the home and the relay as they were", () =>
  withRelay(
    async (relay, dir) => {
      const alice = new User(dir, "alice");
      await alice.setUp(relay, "hybrid");

      await test("username_taken: the home can claim another name", async () => {
        const carol = new User(dir, "carol");
        await init(carol, relay.url, "hybrid");
        const refused = await carol.run(["claim-username", "alice"]);
        assert.equal(refused.code, 65, refused.stdout);
        assert.equal(errorOf(refused).code, "username_taken");
        assert.match(errorOf(refused).hint, /another name/);
        assert.equal(await usernameOf(carol), null, "status shows no username after a refused claim");
        // The trap of the issue: every later claim said "this identity already claimed alice".
        await claimsAndTalks(carol, "carol", alice);
      });

      await test("username_reserved: the home can claim another name", async () => {
        const dan = new User(dir, "dan");
        await init(dan, relay.url, "hybrid");
        const refused = await dan.run(["claim-username", "admin"]);
        assert.equal(errorOf(refused).code, "username_reserved");
        assert.equal(await usernameOf(dan), null);
        await claimsAndTalks(dan, "dan", alice);
      });

      await test("a mode below the relay's minimum: refused before anything is stored, modes named", async () => {
        const eve = new User(dir, "eve");
        await init(eve, relay.url, "classical");
        const refused = await eve.run(["claim-username", "eve"]);
        assert.equal(refused.code, 65, refused.stdout);
        const error = errorOf(refused);
        assert.equal(error.code, "suite_below_minimum");
        assert.match(error.message, /classical/);
        assert.match(error.message, /accepts hybrid\b/, "the error names the modes the relay accepts");
        assert.match(error.hint, /init --crypto-mode/);
        assert.equal(await usernameOf(eve), null, "the refused name is not used up locally");
        // Nothing was created at the relay either: a hybrid home claims the very same name.
        const eveHybrid = new User(dir, "eve-hybrid");
        await init(eveHybrid, relay.url, "hybrid");
        await claimsAndTalks(eveHybrid, "eve", alice);
        // The classical home is still usable: it can claim on a relay that accepts its mode.
        const status = await eve.run(["status"]);
        assert.equal(status.code, 0, status.stdout);
      });

      await test("on a terminal: two lines, a hint that is not a usage hint", async () => {
        const frank = new User(dir, "frank");
        await init(frank, relay.url, "hybrid");
        const human = await cli(["--home", frank.home, "claim-username", "alice"]);
        assert.equal(human.code, 65);
        const [first = "", second = "", ...rest] = human.stderr.trimEnd().split("\n");
        assert.match(first, /^nano-client: .*taken/);
        assert.match(second, /^hint: .*another name/);
        assert.doesNotMatch(second, /--help/, "not a usage error: no usage hint");
        assert.deepEqual(rest, []);
      });
    },
    "",
    SECURITY,
  ));
