// The browser home in Chromium (docs/web.md "Browser home"): what `init` and the home folder are in
// Node, over IndexedDB and the browser keystore. Created with and without a passphrase, its config kept
// as a sealed row (saved, reopened, nothing of it in the clear), refused when it exists, when a second
// tab holds it, when its config row was deleted; a store left without its keystore replaced by the
// next create; a create that fails at the keystore leaving no home; deleted whole.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { suiteIdByName } from "../../src/crypto/suite-ids.ts";
import { useBundledPage } from "./_bundled-page.ts";

const PAGE = new URL("./pages/browser-home/", import.meta.url).pathname;

type Scenario = "lifecycle" | "protectedHome" | "configRowDeleted" | "leftovers";

describe("the browser home in Chromium", () => {
  const bundled = useBundledPage(PAGE);
  const run = <T>(scenario: Scenario, name: string): Promise<T> =>
    bundled.page.evaluate(
      ([s, n]) =>
        (globalThis as unknown as { nanoHome: Record<string, (name: string) => Promise<unknown>> }).nanoHome[
          s
        ]!(n),
      [scenario, name] as const,
    ) as Promise<T>;

  test("created without a passphrase: the config saved as a sealed row and reopened, the same seeds; refused when it exists and from a second tab; deleted whole", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    const facts = await run<{
      created: { cryptoMode: string; relay: string; username: string | null; ca: string | null };
      seeds: string;
      again: string;
      plain: boolean;
      reopenedConfig: { username: string | null; historyRetentionDays?: number | null; relay: string };
      reopenedSeeds: string;
      location: string;
      secondTab: string;
      databases: string[];
      exists: boolean;
      missing: string;
    }>("lifecycle", "home-a");
    assert.equal(facts.created.cryptoMode, "hybrid");
    assert.equal(facts.created.relay, "http://127.0.0.1:9/");
    assert.equal(facts.created.username, null);
    assert.equal(facts.created.ca, null);
    // The seeds name hybrid as preferred (first suite id in the encoding after the version byte).
    assert.equal(Number.parseInt(facts.seeds.slice(2, 6), 16), suiteIdByName("hybrid"));
    assert.equal(facts.again, "keystore_exists");
    assert.equal(facts.plain, false, "the config row holds no plaintext");
    assert.equal(facts.reopenedConfig.username, "alice");
    assert.equal(facts.reopenedConfig.historyRetentionDays, 30);
    assert.equal(facts.reopenedSeeds, facts.seeds);
    assert.match(facts.location, /home-a-local/);
    assert.equal(facts.secondTab, "local_store_busy");
    assert.deepEqual(facts.databases, []);
    assert.equal(facts.exists, false);
    assert.equal(facts.missing, "keystore_missing");
  });

  test("behind a passphrase: none is passphrase_required, a wrong one wrong_passphrase, the right one opens (progress reported)", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    const facts = await run<{ none: string; wrong: string; mode: string; progressed: boolean }>(
      "protectedHome",
      "home-b",
    );
    assert.deepEqual(facts, {
      none: "passphrase_required",
      wrong: "wrong_passphrase",
      mode: "quantum",
      progressed: true,
    });
  });

  test("the config row deleted by a script of the origin: client_config_invalid, not a home without a relay", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    assert.deepEqual(await run("configRowDeleted", "home-c"), { opened: "client_config_invalid" });
  });

  test("a store without its keystore is replaced by the next create; a create failing at the keystore leaves no home", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    assert.deepEqual(await run("leftovers", "home-d"), {
      failed: "kdf_parameters_out_of_range",
      existsAfterFailure: false,
      mode: "classical",
      reopenedMode: "classical",
    });
  });
});
