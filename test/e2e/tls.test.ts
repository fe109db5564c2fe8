import assert from "node:assert/strict";
import { test } from "node:test";
import { selfSignedCertificate, tlsSkipReason } from "../support/tls.ts";
import { errorOf, MIN_KDF, Relay, User, watchUntil, withTempDir } from "./_harness.ts";

test(
  "a relay with a private CA: refused without --ca, HTTPS and WSS work with it",
  {
    skip: tlsSkipReason(),
  },
  () =>
    withTempDir(async (dir) => {
      const tls = selfSignedCertificate(dir);
      const relay = new Relay(dir, tls);
      await relay.start();
      try {
        const alice = new User(dir, "alice");
        const bob = new User(dir, "bob");
        await alice.json(["--relay", relay.url, "init", ...MIN_KDF]);
        const untrusted = await alice.run(["claim-username", "alice"]);
        assert.equal(errorOf(untrusted).code, "relay_unreachable");
        assert.match(
          errorOf(untrusted).message,
          /cannot reach the relay at https:\/\/127\.0\.0\.1:\d+ \(\w+/,
        );

        // --ca on one command is used for that run and remembered by the claim.
        await alice.json(["--ca", tls.cert, "claim-username", "alice"]);
        await bob.json(["--relay", relay.url, "--ca", tls.cert, "init", ...MIN_KDF]);
        await bob.json(["claim-username", "bob"]);
        await alice.send("bob", "over TLS 1.3");
        assert.deepEqual(
          (await bob.receive()).map((m) => m.text),
          ["over TLS 1.3"],
        );
        // receive --watch over wss:// trusts the same CA.
        const watched = await watchUntil(alice, "and back", async () => {
          await bob.send("alice", "and back");
        });
        assert.equal(watched.code, 0);
        assert.deepEqual(watched.texts, ["and back"]);
      } finally {
        await relay.stop();
      }
    }),
);
