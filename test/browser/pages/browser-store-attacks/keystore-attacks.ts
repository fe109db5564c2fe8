// The browser keystore attacked: keystores swapped whole or in parts, format and kdf downgrades, its
// database made again, and two creates or passphrase changes at once.
import {
  changeBrowserKeystorePassphrase,
  createBrowserKeystore,
  deleteBrowserKeystore,
  hasBrowserKeystore,
  openBrowserKeystore,
} from "../../../../src/client/browser-store/browser-keystore.ts";
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { newKeystoreContents } from "../../../../src/client/keystore/keystore-contents.ts";
import {
  attack,
  codeOf,
  deleteRaw,
  hex,
  type Outcome,
  openRaw,
  openStore,
  rawGet,
  rawWrite,
  settled,
  uniqueName,
} from "./_attack-kit.ts";

const CHEAP = { memoryKiB: 19456, passes: 2, parallelism: 1 };
const passphrase = (text: string): Uint8Array => new TextEncoder().encode(text);

export async function keystoreOpened(
  name: string,
  pass: string | null,
  onProgress?: () => void,
): Promise<string> {
  try {
    const contents = await openBrowserKeystore({
      name,
      passphrase: pass === null ? null : passphrase(pass),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    return `identity ${hex(contents.identity).slice(0, 8)}`;
  } catch (error) {
    return codeOf(error);
  }
}

export async function newKeystore(name: string, pass: string | null): Promise<string> {
  const contents = newKeystoreContents(crypto.getRandomValues(new Uint8Array(96)));
  await createBrowserKeystore(contents, {
    name,
    passphrase: pass === null ? null : passphrase(pass),
    argon2id: CHEAP,
  });
  return `identity ${hex(contents.identity).slice(0, 8)}`;
}

const STORE = "keystore";
const getEntry = (name: string, entry: "wrapping-key" | "sealed") => rawGet(name, STORE, entry);
const putEntry = (name: string, entry: "wrapping-key" | "sealed", value: unknown) =>
  rawWrite(name, STORE, (s) => s.put(value, entry));

/**
 * Keystores swapped, or their parts: two whole keystores swapped open as each other (they are
 * authentic; nothing in the profile can say which name they had) but the local store refuses the
 * other identity's key; a wrapping key swapped alone, replaced by another kind of key, or an entry
 * of the wrong type, is `keystore_tampered`, and putting the entries back restores the keystore.
 */
export async function keystoreSwaps(): Promise<Outcome> {
  return attack(async (checks) => {
    const a = uniqueName("ks-a");
    const b = uniqueName("ks-b");
    try {
      const identityA = await newKeystore(a, null);
      const identityB = await newKeystore(b, null);
      const [keyA, blobA, keyB, blobB] = [
        await getEntry(a, "wrapping-key"),
        await getEntry(a, "sealed"),
        await getEntry(b, "wrapping-key"),
        await getEntry(b, "sealed"),
      ];
      // The local store of A, under A's local store key.
      const contentsA = await openBrowserKeystore({ name: a });
      const storeName = uniqueName("ks-store");
      await (await openStore(storeName, contentsA.localStoreKey)).close();
      await putEntry(a, "wrapping-key", keyB);
      await putEntry(a, "sealed", blobB);
      checks.equal("whole keystores swapped open as the other", await keystoreOpened(a, null), identityB);
      const swapped = await openBrowserKeystore({ name: a });
      checks.equal(
        "A's local store under B's key",
        await settled(openStore(storeName, swapped.localStoreKey)),
        "local_record_tampered",
      );
      await IdbLocalStore.destroy(storeName);
      await putEntry(a, "sealed", blobA);
      checks.equal("wrapping key swapped alone", await keystoreOpened(a, null), "keystore_tampered");
      const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      await putEntry(a, "wrapping-key", hmac);
      checks.equal("an HMAC key as the wrapping key", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "wrapping-key", new Uint8Array(32));
      checks.equal("raw bytes as the wrapping key", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "wrapping-key", keyA);
      await putEntry(a, "sealed", (blobA as Uint8Array).slice().buffer);
      checks.equal("the blob as an ArrayBuffer", await keystoreOpened(a, null), "keystore_tampered");
      await rawWrite(a, STORE, (s) => s.delete("sealed"));
      checks.equal("the blob deleted", await keystoreOpened(a, null), "keystore_tampered");
      await putEntry(a, "sealed", blobA);
      checks.equal("restored", await keystoreOpened(a, null), identityA);
      checks.equal("B untouched", await keystoreOpened(b, null), identityB);
    } finally {
      await deleteBrowserKeystore({ name: a }).catch(() => {});
      await deleteBrowserKeystore({ name: b }).catch(() => {});
    }
  });
}

/**
 * Downgrades of a passphrase keystore: its header rewritten to "no kdf" (the passphrase layer cut
 * off), an older or newer format version, the argon2id memory raised to the largest the keystore
 * accepts (refused by the outer layer before any derivation: no 1 GiB argon2id on a hostile header),
 * a truncated or empty blob, and the blob from before a passphrase change under the current key.
 */
export async function keystoreDowngrades(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-down");
    try {
      const identity = await newKeystore(name, "first pass");
      const blob = (await getEntry(name, "sealed")) as Uint8Array;
      const withBytes = async (label: string, bytes: Uint8Array, expected: string): Promise<void> => {
        await putEntry(name, "sealed", bytes);
        let progress = 0;
        checks.equal(label, await keystoreOpened(name, "first pass", () => progress++), expected);
        if (expected !== identity) checks.equal(`${label}: no argon2id ran`, progress, 0);
      };
      // "NKSW" 1 0, then the blob's outer nonce and ciphertext after the argon2id header (42 bytes).
      const noKdf = new Uint8Array([...blob.subarray(0, 5), 0, ...blob.subarray(42)]);
      await withBytes("header rewritten to no kdf", noKdf, "keystore_tampered");
      for (const version of [0, 2]) {
        const changed = Uint8Array.from(blob);
        changed[4] = version;
        await withBytes(`format version ${version}`, changed, "keystore_version_unsupported");
      }
      const heavy = Uint8Array.from(blob);
      new DataView(heavy.buffer).setUint32(6, 1048576);
      await withBytes("argon2id memory raised to 1 GiB", heavy, "keystore_tampered");
      const light = Uint8Array.from(blob);
      new DataView(light.buffer).setUint32(6, 8);
      await withBytes("argon2id memory lowered to 8 KiB", light, "kdf_parameters_out_of_range");
      await withBytes("truncated into the header", blob.subarray(0, 30), "keystore_truncated");
      await withBytes("empty", new Uint8Array(0), "keystore_unrecognized");
      await withBytes("put back", blob, identity);
      await changeBrowserKeystorePassphrase({
        name,
        passphrase: passphrase("first pass"),
        newPassphrase: passphrase("second pass"),
        argon2id: CHEAP,
      });
      await putEntry(name, "sealed", blob);
      checks.equal(
        "the blob from before the change, under the new key",
        await keystoreOpened(name, "first pass"),
        "keystore_tampered",
      );
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}

/**
 * The keystore's database replaced: deleted and made again without its object store (by other code
 * of the origin), or at a newer schema. Every keystore operation answers with a typed error, never the
 * DOMException a transaction over a missing object store throws.
 */
export async function keystoreDatabaseReplaced(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-db");
    try {
      await newKeystore(name, null);
      await deleteRaw(name);
      (await openRaw(name, 1, () => {})).close();
      checks.equal("open", await keystoreOpened(name, null), "keystore_tampered");
      checks.equal("has", await settled(hasBrowserKeystore({ name })), "keystore_tampered");
      checks.equal("create", await settled(newKeystore(name, null)), "keystore_tampered");
      await deleteBrowserKeystore({ name });
      (await openRaw(name, 2, () => {})).close();
      checks.equal("newer schema", await keystoreOpened(name, null), "keystore_version_unsupported");
      await deleteBrowserKeystore({ name });
      const identity = await newKeystore(name, null);
      checks.equal("deleted, then created again", await keystoreOpened(name, null), identity);
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}

/**
 * Two creates of one keystore started together, as two tabs would make them (both find no keystore
 * and both write: exactly one wins, the keystore opens to the winner's contents), then two passphrase
 * changes from the same passphrase (exactly one wins; the loser's passphrase does not open it). In one
 * page, so that both really overlap: IndexedDB serializes two tabs' transactions the same way.
 */
export async function keystoreRaces(): Promise<Outcome> {
  return attack(async (checks) => {
    const name = uniqueName("ks-race");
    try {
      const created = await Promise.all(
        ["x", "y"].map(async () => {
          try {
            return await newKeystore(name, null);
          } catch (error) {
            return codeOf(error);
          }
        }),
      );
      const winners = created.filter((answer) => answer.startsWith("identity"));
      checks.equal("one create wins", winners.length, 1);
      checks.equal(
        "the other",
        created.filter((answer) => !answer.startsWith("identity")),
        ["keystore_exists"],
      );
      checks.equal("opens to the winner", await keystoreOpened(name, null), winners[0]);
      const changes = await Promise.all(
        ["left", "right"].map((to) =>
          settled(
            changeBrowserKeystorePassphrase({
              name,
              passphrase: null,
              newPassphrase: passphrase(to),
              argon2id: CHEAP,
            }),
          ),
        ),
      );
      checks.equal("one change wins", changes.filter((answer) => answer === "ok").length, 1);
      checks.equal(
        "the other is refused",
        changes.filter((answer) => answer !== "ok"),
        ["browser_storage_unavailable"],
      );
      const winner = changes[0] === "ok" ? "left" : "right";
      const loser = winner === "left" ? "right" : "left";
      checks.equal("the winner's passphrase", await keystoreOpened(name, winner), winners[0]);
      checks.equal("the loser's passphrase", await keystoreOpened(name, loser), "wrong_passphrase");
    } finally {
      await deleteBrowserKeystore({ name }).catch(() => {});
    }
  });
}
