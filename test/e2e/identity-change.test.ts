import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { NanoError } from "../../src/errors/index.ts";
import { errorOf, PASSPHRASE, setUpUsers, type User, withRelay } from "./_harness.ts";

test("bob re-initialises his identity: alice is blocked until she trusts it; safety numbers match again", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob, carol] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob", "carol")) as [
      User,
      User,
      User,
    ];
    await alice.send("bob", "before");
    await bob.receive();
    await bob.send("carol", "hi carol");
    await carol.receive();
    const before = await alice.safetyNumber("bob");
    await alice.json(["verify", "bob", "--confirm"]);

    const [replaced] = (await bob.json(["init", "--replace", "--crypto-mode", "hybrid"])) as {
      recordVersion: number;
    }[];
    assert.equal(replaced?.recordVersion, 2);

    // Sending on the old session is blocked with a clear message; nothing is queued.
    const blocked = await alice.run(["send", "bob", "are you still you?"]);
    assert.equal(blocked.code, 65);
    assert.equal(errorOf(blocked).code, "contact_identity_changed");
    assert.match(errorOf(blocked).message, /bob's identity changed/);
    assert.match(errorOf(blocked).hint, /nano-client trust NAME/);
    const again = await alice.run(["send", "bob", "still blocked"]);
    assert.equal(errorOf(again).code, "contact_identity_changed");
    // Every CLI run is a restart: the block comes back from alice's sealed store, with the verified
    // new record the protocol keeps (Contact.changed), not just a flag.
    const reopened = await NanoClient.open({ home: alice.home, passphrase: PASSPHRASE });
    try {
      const row = await reopened.home.store.getContact("bob");
      assert.equal(row?.identityChanged, true);
      assert.ok(row?.changedIdentityRecord !== undefined, "the changed record is persisted");
      assert.notDeepEqual(row?.changedIdentityRecord, row?.identityRecord);
      await assert.rejects(
        reopened.send({ recipient: "bob", text: "sdk", file: null, cryptoMode: null }),
        (e: unknown) => NanoError.is(e, "contact_identity_changed"),
      );
    } finally {
      await reopened.close();
    }
    const [status] = (await alice.json(["status"])) as { outbox: number }[];
    assert.equal(status?.outbox, 0);
    const [listed] = (await alice.json(["contacts"])) as {
      contacts: { username: string; identityChanged: boolean }[];
    }[];
    assert.deepEqual(listed?.contacts, [
      { ...listed?.contacts[0], username: "bob", identityChanged: true, verified: false },
    ]);

    // Bob's new identity writes first: alice keeps the message at the relay until she decides.
    await bob.send("alice", "new keys, same bob");
    assert.deepEqual(await alice.receive(), []);
    const notice = await alice.run(["receive"]);
    assert.deepEqual(JSON.parse(notice.stdout.trim()), { identityChanged: "bob" }, "the user is told why");

    // SDK: the identity-changed event fires while receiving, and the message is held back.
    await bob.send("carol", "new keys here too");
    const sdk = await NanoClient.open({ home: carol.home, passphrase: PASSPHRASE });
    try {
      const events: string[] = [];
      sdk.onIdentityChanged(({ username }) => events.push(username));
      const shown: string[] = [];
      await sdk.receive({ watch: false, saveDir: null, onMessage: (m) => void shown.push(m.text) });
      assert.deepEqual(events, ["bob"]);
      assert.deepEqual(shown, []);
    } finally {
      await sdk.close();
    }

    const [trusted] = (await alice.json(["trust", "bob"])) as { contact: { identityChanged: boolean } }[];
    assert.equal(trusted?.contact.identityChanged, false);
    assert.deepEqual(
      (await alice.receive()).map((m) => [m.sender, m.text]),
      [["bob", "new keys, same bob"]],
    );
    await alice.send("bob", "welcome back");
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["welcome back"],
    );

    const [fromAlice, fromBob] = await Promise.all([alice.safetyNumber("bob"), bob.safetyNumber("alice")]);
    assert.equal(fromAlice, fromBob);
    assert.notEqual(fromAlice, before, "the safety number covers the identity record");
  }));
