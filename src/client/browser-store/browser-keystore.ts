import { concatBytes, equalBytes, u8, u16, u32 } from "../../crypto/bytes.ts";
import {
  ARGON2ID_SALT_LENGTH,
  type Argon2idParameters,
  checkArgon2idParameters,
} from "../../crypto/password-parameters.ts";
import { nobleArgon2id } from "../../crypto/web/noble-argon2id.ts";
import { NanoError } from "../../errors/index.ts";
import {
  decodeKeystoreContents,
  encodeKeystoreContents,
  type KeystoreContents,
} from "../keystore/keystore-contents.ts";
import { indexedDbFactory, openDatabase, requestResult, transactionDone } from "./idb-requests.ts";

/**
 * The keystore in the browser (docs/web.md "Browser keystore"): the keystore contents (the local store
 * key and the identity seeds, keystore-contents.ts's encoding) sealed with AES-256-GCM under a
 * WebCrypto key that was generated in the page as non-extractable and is kept in IndexedDB as a
 * CryptoKey (structured clone keeps it non-extractable: script, this app's included, can use it but
 * never read its bytes). Optionally a passphrase: argon2id (@noble/hashes, in the page) derives a
 * second AES-256-GCM key that seals the contents inside the first layer, so the stored blob is
 * useless without both the origin's IndexedDB and the passphrase.
 *
 * The blob, all of it the associated data of both layers up to the outer nonce:
 *
 *   offset size field
 *        0    4 magic "NKSW"
 *        4    1 format version (= 1)
 *        5    1 kdf (0 = none, 1 = argon2id)
 *   argon2id only:
 *        6    4 memory KiB (u32)   10 2 passes (u16)   12 2 parallelism (u16)
 *       14   16 salt
 *       30   12 inner nonce
 *   then 12 outer nonce, then the outer AES-GCM ciphertext (of the inner ciphertext, or of the contents)
 *
 * Errors follow who can fix what: the outer layer failing is `keystore_tampered` (its key never left
 * the browser, so only changed bytes fail it); the inner layer failing after the outer opened is
 * `wrong_passphrase`; a protected keystore opened without one is `passphrase_required`.
 */
const MAGIC = Uint8Array.from([0x4e, 0x4b, 0x53, 0x57]);
export const BROWSER_KEYSTORE_VERSION = 1;
const KDF_NONE = 0;
const KDF_ARGON2ID = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const PLAIN_HEADER_LENGTH = 6;
const ARGON2ID_HEADER_LENGTH = PLAIN_HEADER_LENGTH + 4 + 2 + 2 + ARGON2ID_SALT_LENGTH + NONCE_LENGTH;
const STORE = "keystore";
const WRAPPING_KEY = "wrapping-key";
const SEALED = "sealed";
export const DEFAULT_BROWSER_KEYSTORE_NAME = "nano-keystore";

/**
 * The browser's argon2id cost, decided by measurement in Chromium (docs/web.md "Browser keystore"):
 * @noble's argon2id in a page is several times slower than node:crypto's native one, so the CLI's
 * 64 MiB / 3 passes would make every unlock take seconds. 32 MiB / 3 passes / 1 lane keeps the
 * memory-hardness above RFC 9106's and OWASP's minimum (19 MiB) at about half the wait, and the
 * passphrase only ever protects a blob that is useless without this origin's non-extractable key.
 */
export const BROWSER_ARGON2ID: Argon2idParameters = Object.freeze({
  memoryKiB: 32768,
  passes: 3,
  parallelism: 1,
});

export interface BrowserKeystoreOptions {
  /** The IndexedDB database (DEFAULT_BROWSER_KEYSTORE_NAME); one per identity. */
  readonly name?: string;
  readonly indexedDB?: IDBFactory;
  /** The page's by default. */
  readonly subtle?: SubtleCrypto;
  /** UTF-8 of the passphrase, or absent for a keystore protected only by the origin's storage. */
  readonly passphrase?: Uint8Array | null;
  /** Completed fraction (0..1) of the argon2id derivation. */
  readonly onProgress?: (fraction: number) => void;
}

export interface CreateBrowserKeystoreOptions extends BrowserKeystoreOptions {
  /** BROWSER_ARGON2ID by default; checked against the keystore's bounds. */
  readonly argon2id?: Argon2idParameters;
}

interface ParsedBlob {
  readonly header: Uint8Array;
  readonly argon2id: { parameters: Argon2idParameters; salt: Uint8Array; innerNonce: Uint8Array } | null;
  readonly outerNonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

function subtleOf(options: BrowserKeystoreOptions): SubtleCrypto {
  const subtle = options.subtle ?? globalThis.crypto?.subtle;
  if (subtle === undefined) {
    throw new TypeError("no WebCrypto here: the page must be served over https or from localhost");
  }
  return subtle;
}

async function openKeystoreDatabase(options: BrowserKeystoreOptions): Promise<IDBDatabase> {
  const db = await openDatabase(
    indexedDbFactory(options.indexedDB),
    options.name ?? DEFAULT_BROWSER_KEYSTORE_NAME,
    1,
    (db) => {
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
    },
    () => new NanoError("keystore_version_unsupported", "the browser keystore was written by a newer app"),
  );
  // At this version without its object store, the database was deleted and made again by other code of
  // the origin: a typed refusal, not the NotFoundError of a transaction over it (and not "no keystore":
  // one was there).
  if (!db.objectStoreNames.contains(STORE)) {
    db.close();
    throw new NanoError(
      "keystore_tampered",
      "the browser keystore's database lacks its object store: it was deleted and made again",
    );
  }
  return db;
}

function aesGcm(nonce: Uint8Array, header: Uint8Array): AesGcmParams {
  return {
    name: "AES-GCM",
    iv: nonce as Uint8Array<ArrayBuffer>,
    additionalData: header as Uint8Array<ArrayBuffer>,
    tagLength: 128,
  };
}

async function passphraseKey(
  subtle: SubtleCrypto,
  passphrase: Uint8Array,
  salt: Uint8Array,
  parameters: Argon2idParameters,
  onProgress: ((fraction: number) => void) | undefined,
): Promise<CryptoKey> {
  const derived = await nobleArgon2id(passphrase, salt, parameters, 32, onProgress);
  try {
    return await subtle.importKey("raw", derived as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
  } finally {
    derived.fill(0);
  }
}

/** Parses in a fixed order (STYLE.md 3): length, magic, version, kdf, argon2id bounds — before any work. */
function parseBlob(blob: Uint8Array): ParsedBlob {
  if (blob.length < PLAIN_HEADER_LENGTH || !equalBytes(blob.subarray(0, 4), MAGIC)) {
    throw new NanoError("keystore_unrecognized", "the browser keystore does not start with its magic bytes");
  }
  if (blob[4] !== BROWSER_KEYSTORE_VERSION) {
    throw new NanoError("keystore_version_unsupported", `browser keystore version ${blob[4]} is unknown`);
  }
  const kdf = blob[5];
  if (kdf !== KDF_NONE && kdf !== KDF_ARGON2ID) {
    throw new NanoError("keystore_tampered", `the browser keystore names an unknown kdf ${kdf}`);
  }
  const headerLength = kdf === KDF_ARGON2ID ? ARGON2ID_HEADER_LENGTH : PLAIN_HEADER_LENGTH;
  if (blob.length < headerLength + NONCE_LENGTH + TAG_LENGTH) {
    throw new NanoError("keystore_truncated", "the browser keystore is shorter than its header and tag");
  }
  const header = blob.subarray(0, headerLength);
  let argon2id: ParsedBlob["argon2id"] = null;
  if (kdf === KDF_ARGON2ID) {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const parameters = {
      memoryKiB: view.getUint32(6),
      passes: view.getUint16(10),
      parallelism: view.getUint16(12),
    };
    // A changed header must neither weaken the work factor nor make the page allocate gigabytes.
    checkArgon2idParameters(parameters);
    argon2id = {
      parameters,
      salt: blob.slice(14, 14 + ARGON2ID_SALT_LENGTH),
      innerNonce: blob.slice(14 + ARGON2ID_SALT_LENGTH, ARGON2ID_HEADER_LENGTH),
    };
  }
  return {
    header,
    argon2id,
    outerNonce: blob.slice(headerLength, headerLength + NONCE_LENGTH),
    ciphertext: blob.slice(headerLength + NONCE_LENGTH),
  };
}

async function readStored(options: BrowserKeystoreOptions): Promise<{ key: unknown; blob: unknown }> {
  const db = await openKeystoreDatabase(options);
  try {
    const transaction = db.transaction(STORE, "readonly");
    const store = transaction.objectStore(STORE);
    const [key, blob] = await Promise.all([
      requestResult(store.get(WRAPPING_KEY)),
      requestResult(store.get(SEALED)),
    ]);
    return { key, blob };
  } finally {
    db.close();
  }
}

/** Whether a keystore exists under `options.name` (the app's first screen asks). */
export async function hasBrowserKeystore(options: BrowserKeystoreOptions = {}): Promise<boolean> {
  const { key, blob } = await readStored(options);
  return key !== undefined || blob !== undefined;
}

/**
 * Creates the keystore: a fresh non-extractable wrapping key, the contents sealed under it (and under
 * the passphrase's key first, when there is one). Refused where one exists (`keystore_exists`).
 */
export async function createBrowserKeystore(
  contents: KeystoreContents,
  options: CreateBrowserKeystoreOptions = {},
): Promise<void> {
  if (await hasBrowserKeystore(options)) {
    throw new NanoError("keystore_exists", "a browser keystore exists under this name");
  }
  const sealed = await sealContents(contents, options.passphrase ?? null, options);
  await writeKeystore(options, sealed, null);
}

interface SealedKeystore {
  readonly wrappingKey: CryptoKey;
  readonly blob: Uint8Array;
}

/** A fresh non-extractable wrapping key, and the contents sealed under it (and the passphrase's key). */
async function sealContents(
  contents: KeystoreContents,
  passphrase: Uint8Array | null,
  options: CreateBrowserKeystoreOptions,
): Promise<SealedKeystore> {
  const subtle = subtleOf(options);
  const random = (length: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(length));
  const wrappingKey = await subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const plaintext = encodeKeystoreContents(contents);
  const outerNonce = random(NONCE_LENGTH);
  let header: Uint8Array;
  let sealedInside: Uint8Array;
  try {
    if (passphrase !== null) {
      const parameters = options.argon2id ?? BROWSER_ARGON2ID;
      checkArgon2idParameters(parameters);
      const salt = random(ARGON2ID_SALT_LENGTH);
      const innerNonce = random(NONCE_LENGTH);
      header = concatBytes(
        MAGIC,
        u8(BROWSER_KEYSTORE_VERSION),
        u8(KDF_ARGON2ID),
        u32(parameters.memoryKiB),
        u16(parameters.passes),
        u16(parameters.parallelism),
        salt,
        innerNonce,
      );
      const key = await passphraseKey(subtle, passphrase, salt, parameters, options.onProgress);
      sealedInside = new Uint8Array(
        await subtle.encrypt(aesGcm(innerNonce, header), key, plaintext as Uint8Array<ArrayBuffer>),
      );
    } else {
      header = concatBytes(MAGIC, u8(BROWSER_KEYSTORE_VERSION), u8(KDF_NONE));
      sealedInside = plaintext;
    }
    const outer = new Uint8Array(
      await subtle.encrypt(aesGcm(outerNonce, header), wrappingKey, sealedInside as Uint8Array<ArrayBuffer>),
    );
    return { wrappingKey, blob: concatBytes(header, outerNonce, outer) };
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Writes the wrapping key and the blob in one strict transaction. `replacing` null: a new keystore
 * (`add`, so one created meanwhile by another tab is kept and this one refused with
 * `keystore_exists`); else the blob this replaces, which must still be the stored one (a change made
 * meanwhile by another tab is not overwritten).
 */
async function writeKeystore(
  options: BrowserKeystoreOptions,
  sealed: SealedKeystore,
  replacing: Uint8Array | null,
): Promise<void> {
  const db = await openKeystoreDatabase(options);
  try {
    const transaction = db.transaction(STORE, "readwrite", { durability: "strict" });
    const done = transactionDone(transaction);
    const store = transaction.objectStore(STORE);
    let changedMeanwhile = false;
    if (replacing === null) {
      store.add(sealed.wrappingKey, WRAPPING_KEY);
      store.add(sealed.blob, SEALED);
    } else {
      const current = store.get(SEALED);
      current.onsuccess = () => {
        const stored = current.result as unknown;
        if (!(stored instanceof Uint8Array) || !equalBytes(stored, replacing)) {
          changedMeanwhile = true;
          transaction.abort();
          return;
        }
        store.put(sealed.wrappingKey, WRAPPING_KEY);
        store.put(sealed.blob, SEALED);
      };
    }
    await done.catch((cause: unknown) => {
      if ((cause as DOMException | null)?.name === "ConstraintError")
        throw new NanoError("keystore_exists", "a browser keystore was created meanwhile");
      throw new NanoError(
        "browser_storage_unavailable",
        changedMeanwhile
          ? "the browser keystore was changed meanwhile (another tab?): nothing was written"
          : "the browser keystore could not be written",
        { cause },
      );
    });
  } finally {
    db.close();
  }
}

export interface ChangeBrowserKeystorePassphraseOptions extends CreateBrowserKeystoreOptions {
  /** The new passphrase (UTF-8), or null to keep the keystore under the origin's key alone. */
  readonly newPassphrase: Uint8Array | null;
}

/**
 * Opens the keystore with `options.passphrase` (the current one, or none) and seals its contents again
 * under `newPassphrase`, with a fresh salt and a fresh wrapping key, in one transaction: a crash
 * leaves the old keystore or the new one, never neither. The old wrapping key is replaced with it.
 */
export async function changeBrowserKeystorePassphrase(
  options: ChangeBrowserKeystorePassphraseOptions,
): Promise<void> {
  const { blob } = await readStored(options);
  const contents = await openBrowserKeystore(options);
  try {
    const sealed = await sealContents(contents, options.newPassphrase, options);
    await writeKeystore(options, sealed, blob as Uint8Array);
  } finally {
    contents.localStoreKey.fill(0);
    contents.identity.fill(0);
  }
}

/** Opens the keystore: the contents, or a typed error saying what is wrong. */
export async function openBrowserKeystore(options: BrowserKeystoreOptions = {}): Promise<KeystoreContents> {
  const subtle = subtleOf(options);
  const { key, blob } = await readStored(options);
  if (key === undefined && blob === undefined) {
    throw new NanoError("keystore_missing", "there is no keystore in this browser for this app");
  }
  if (!(key instanceof CryptoKey) || !(blob instanceof Uint8Array)) {
    throw new NanoError(
      "keystore_tampered",
      "the browser keystore lacks its wrapping key or its sealed contents",
    );
  }
  const parsed = parseBlob(blob);
  let inner: Uint8Array;
  try {
    inner = new Uint8Array(
      await subtle.decrypt(
        aesGcm(parsed.outerNonce, parsed.header),
        key,
        parsed.ciphertext as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch (cause) {
    throw new NanoError("keystore_tampered", "the browser keystore fails authentication: it was changed", {
      cause,
    });
  }
  if (parsed.argon2id === null) return decodeAndWipe(inner);
  if (options.passphrase == null) {
    throw new NanoError("passphrase_required", "this browser keystore is protected by a passphrase");
  }
  const { parameters, salt, innerNonce } = parsed.argon2id;
  const passphraseCryptoKey = await passphraseKey(
    subtle,
    options.passphrase,
    salt,
    parameters,
    options.onProgress,
  );
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(
      await subtle.decrypt(
        aesGcm(innerNonce, parsed.header),
        passphraseCryptoKey,
        inner as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch (cause) {
    // The outer layer opened, so these are the bytes that were written: the passphrase is wrong.
    throw new NanoError("wrong_passphrase", "the passphrase does not unlock this browser keystore", {
      cause,
    });
  }
  return decodeAndWipe(plaintext);
}

function decodeAndWipe(plaintext: Uint8Array): KeystoreContents {
  try {
    return decodeKeystoreContents(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

/** Deletes the keystore (the app's "delete account"): its wrapping key goes with it. */
export async function deleteBrowserKeystore(options: BrowserKeystoreOptions = {}): Promise<void> {
  await requestResult(
    indexedDbFactory(options.indexedDB).deleteDatabase(options.name ?? DEFAULT_BROWSER_KEYSTORE_NAME),
  );
}

/**
 * Asks the browser to keep this origin's storage under pressure (`navigator.storage.persist()`).
 * Without it the browser may evict IndexedDB — keystore, sessions and history — when the disk fills;
 * the answer is returned for the app to tell the user (docs/web.md "Browser storage").
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (storage === undefined || typeof storage.persist !== "function") return false;
  if (await storage.persisted()) return true;
  return storage.persist();
}
