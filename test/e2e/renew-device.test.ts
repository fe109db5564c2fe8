import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cli, errorOf, MIN_KDF, REPO_ROOT, setUpUsers, User, withRelay } from "./_harness.ts";

/**
 * Issue 14, trap 4: a home made while the computer's clock was a day fast. Its device certificate
 * starts tomorrow, so the relay refuses every login with it — before, "device certificate is not
 * valid now" for good, with a hint to issue a new certificate and no command that does. Now the
 * error says the local clock is the cause (compared with the relay's Date header), and
 * `renew-device` issues a new certificate with the identity key once the clock is right.
 */
const DAY = 86_400_000;
const SKEWED = {
  NODE_OPTIONS: `--import=${join(REPO_ROOT, "test/e2e/fixtures/skewed-clock.ts")}`,
  NANO_TEST_CLOCK_SKEW_MS: String(DAY),
};

test("a home made with the clock a day fast: the error names the clock; renew-device repairs it", () =>
  withRelay(async (relay, dir) => {
    const [alice] = await setUpUsers(relay, dir, "hybrid", "alice");
    const sam = new User(dir, "sam");
    await sam.json(["--relay", relay.url, "init", ...MIN_KDF], { env: SKEWED });

    // The claim itself needs no certificate; the login after it (prekey upload) does.
    const skewedClaim = await sam.run(["claim-username", "sam"], { env: SKEWED });
    assert.notEqual(skewedClaim.code, 0, skewedClaim.stdout);
    const skewedError = errorOf(skewedClaim);
    assert.equal(skewedError.code, "clock_skew");
    assert.match(skewedError.message, /clock is 1 day ahead of the relay's/);
    assert.match(skewedError.hint, /set this computer's clock right/);
    assert.equal(skewedClaim.code, 78, "EX_CONFIG: the machine's clock");

    const human = await cli(["--home", sam.home, "claim-username", "sam"], { env: SKEWED });
    assert.equal(human.code, 78);
    const [first = "", second = "", ...rest] = human.stderr.trimEnd().split("\n");
    assert.match(first, /^nano-client: this computer's clock is 1 day ahead of the relay's \(here /);
    assert.match(second, /^hint: set this computer's clock right/);
    assert.deepEqual(rest, []);

    // The clock is put right: the certificate made yesterday-for-tomorrow is still refused, and the
    // error now says so and what to run.
    const fixed = await sam.run(["claim-username", "sam"]);
    const fixedError = errorOf(fixed);
    // Not yet valid (issue 13, loss 3): a code of its own, not "expired".
    assert.equal(fixedError.code, "certificate_not_yet_valid", fixed.stdout);
    assert.match(fixedError.message, /starts .* in the future/);
    assert.match(fixedError.hint, /nano-client renew-device/);

    const renewed = await sam.json(["renew-device"]);
    assert.equal((renewed[0] as { username: string }).username, "sam");
    await sam.json(["claim-username", "sam"]);
    await alice!.send("sam", "hello sam");
    assert.deepEqual(
      (await sam.receive()).map((m) => m.text),
      ["hello sam"],
    );

    // With a certificate the relay accepts, a clock that is off does not stop a send.
    const send = await cli(["--home", sam.home, "send", "alice", "from the future"], { env: SKEWED });
    assert.equal(send.code, 0, send.stderr);
  }));
