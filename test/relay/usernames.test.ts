import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseMetrics } from "../../src/cli/relay/status.ts";
import { NanoError } from "../../src/errors/index.ts";
import { normalizeUsername, UsernamePolicy, usernameSkeleton } from "../../src/relay/usernames.ts";

describe("usernames", () => {
  it("normalizes NFKC and case", () => {
    assert.equal(normalizeUsername("Alice"), "alice");
    assert.equal(normalizeUsername("ａｌｉｃｅ"), "alice");
    assert.equal(normalizeUsername("a.b_c-d"), "a.b_c-d");
  });

  it("folds look-alikes into one skeleton", () => {
    for (const [a, b] of [
      ["alice", "al1ce"],
      ["alice", "a1ice"],
      ["modem", "rnodem"],
      ["bob", "b0b"],
      ["we", "vve"],
      ["a.lice", "alice"],
      ["sam", "5am"],
    ] as const) {
      assert.equal(usernameSkeleton(a), usernameSkeleton(b), `${a} vs ${b}`);
    }
    assert.notEqual(usernameSkeleton("alice"), usernameSkeleton("alicia"));
  });

  it("reserved names are matched by skeleton and extendable by config", () => {
    const policy = new UsernamePolicy(["Nano-Team"]);
    for (const name of ["admin", "adm1n", "ADMIN", "r00t", "nano-team", "nanoteam"]) {
      assert.throws(
        () => policy.checkClaimable(name),
        (e: unknown) => NanoError.is(e, "username_reserved"),
        name,
      );
    }
    assert.deepEqual(policy.checkClaimable("alice"), { username: "alice", skeleton: "allce" });
  });

  it("any accepted name is 3-32 chars of [a-z0-9._-] and normalization is idempotent (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: "grapheme" }), (input) => {
        let name: string;
        try {
          name = normalizeUsername(input);
        } catch (error) {
          assert.ok(NanoError.is(error, "username_invalid"));
          return;
        }
        assert.match(name, /^[a-z][a-z0-9._-]{2,31}$/);
        assert.equal(normalizeUsername(name), name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("status: Prometheus text parsing", () => {
  it("sums labelled series and skips comments and junk", () => {
    const text = [
      "# HELP x y",
      'nano_http_requests_total{method="GET",route="/healthz",status="200"} 3',
      'nano_http_requests_total{method="POST",route="/v1/messages",status="201"} 4',
      "nano_queue_messages 7",
      "garbage line",
      "nano_bad NaN",
    ].join("\n");
    const parsed = parseMetrics(text);
    assert.equal(parsed.get("nano_http_requests_total"), 7);
    assert.equal(parsed.get("nano_queue_messages"), 7);
    assert.equal(parsed.has("nano_bad"), false);
  });
});
