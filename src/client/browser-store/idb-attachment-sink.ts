import { concatBytes, toHex, u8, u16, utf8 } from "../../crypto/bytes.ts";
import type { CryptoPrimitives } from "../../crypto/provider/types.ts";
import { NanoError } from "../../errors/index.ts";
import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import { AttachmentOpener } from "../attachments/attachment-stream.ts";
import {
  deriveLocalKeysWith,
  type LocalKeys,
  openRowWith,
  sealRowWith,
  tamperedRow,
} from "../local-store/sealed-row-format.ts";
import type { AttachmentSink } from "../messaging/attachment-sink.ts";
import { type AttachmentLink, downloadVerified, type Progress } from "../messaging/attachments.ts";
import { MAX_FILE_BYTES } from "../operations/send-limits.ts";
import {
  ConnectionClosedError,
  indexedDbFactory,
  openDatabase,
  requestResult,
  transactionDone,
} from "./idb-requests.ts";

/**
 * The page's AttachmentSink (docs/web.md "Browser storage", "Received files"): a received file is kept
 * as one sealed record in an IndexedDB database of its own, under the local store's record key with the
 * row format of the store (sealed-row-format.ts: a fresh nonce, AD = label || table || row key), so
 * the file's bytes, its name and its type are unreadable without the keystore, and a record moved to
 * another id fails to open (`local_record_tampered`). Nothing is kept unless the whole attachment
 * verified: the plaintext is collected in memory (bounded by MAX_FILE_BYTES, refused before the
 * download when the reference names more) and written in one transaction only after the opener's
 * last chunk and hash checked out.
 *
 * `save` returns the location the history keeps (`browser:<id>`); `open` reads it back for
 * `Messenger.openFile`; `remove` and `prune` delete it when its message is deleted or expires (the
 * runtime passes the locations its history still names). A full quota is `no_space_left` and leaves
 * nothing behind; a location that is no longer kept is `received_file_gone`.
 */
export const RECEIVED_FILES_SCHEMA_VERSION = 1;
const FILES_STORE = "files";
/** The sealed row's table name (its AD): no table of the local store has it. */
const FILES_TABLE = "received_files";
export const BROWSER_FILE_PREFIX = "browser:";
const RECORD_VERSION = 1;
const ID_BYTES = 16;

/** What the sink needs of a runtime: the codec's primitives and the row seal's. */
export type AttachmentSinkPrimitives = Pick<
  CryptoPrimitives,
  "randomBytes" | "hkdf" | "blake2bIncremental" | "aead"
>;

export interface IdbAttachmentSinkOptions {
  /** The IndexedDB database's name; one per identity (beside its local store's). */
  readonly name: string;
  /** The local store key from the keystore contents: files are sealed under the store's record key. */
  readonly databaseKey: Uint8Array;
  readonly primitives: AttachmentSinkPrimitives;
  /** The platform's by default. */
  readonly indexedDB?: IDBFactory;
  /** The largest file kept; MAX_FILE_BYTES by default (the most a peer may send). */
  readonly maxBytes?: number;
}

/** A kept file as the page hands it to the user. */
export interface KeptFile {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

/** What one object store row holds: the sealed record and when it was kept (clear, for housekeeping). */
interface StoredFile {
  readonly record: Uint8Array;
  readonly savedAt: number;
}

function versionTooNew(): NanoError {
  return new NanoError(
    "local_store_version_unsupported",
    `the browser's received files have a schema newer than this app's ${RECEIVED_FILES_SCHEMA_VERSION}`,
  );
}

function gone(location: string): NanoError {
  return new NanoError("received_file_gone", `${location} is no longer kept in this browser`);
}

/** The failure of a write transaction, typed: a full quota, a closed connection, anything else. */
function writeFailure(cause: unknown): NanoError {
  if (cause instanceof DOMException && cause.name === "QuotaExceededError")
    return new NanoError(
      "no_space_left",
      "the browser's storage quota is full: the received file was not kept",
      { cause },
    );
  if (cause instanceof ConnectionClosedError)
    return new NanoError("browser_storage_unavailable", cause.message, { cause });
  return new NanoError("browser_storage_unavailable", "IndexedDB refused to keep the received file", {
    cause,
  });
}

/**
 * version (1) || name length u16 || name (UTF-8) || type length u8 || type (ASCII) || content.
 * Sized once and filled in place: the content, up to MAX_FILE_BYTES, is written into it as it verifies.
 */
class RecordBuilder {
  readonly bytes: Uint8Array;
  #offset: number;

  constructor(name: string, contentType: string, size: number) {
    const header = concatBytes(
      u8(RECORD_VERSION),
      u16(utf8(name).length),
      utf8(name),
      u8(contentType.length),
      utf8(contentType),
    );
    this.bytes = new Uint8Array(header.length + size);
    this.bytes.set(header);
    this.#offset = header.length;
  }

  append(pieces: readonly Uint8Array[]): void {
    for (const piece of pieces) {
      this.bytes.set(piece, this.#offset);
      this.#offset += piece.length;
    }
  }
}

function parseRecord(record: Uint8Array): KeptFile {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const bad = () => tamperedRow(FILES_TABLE);
  if (record.length < 4 || record[0] !== RECORD_VERSION) throw bad();
  const nameLength = view.getUint16(1);
  const typeAt = 3 + nameLength;
  if (record.length < typeAt + 1) throw bad();
  const typeLength = record[typeAt]!;
  const contentAt = typeAt + 1 + typeLength;
  if (record.length < contentAt) throw bad();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return {
    name: decoder.decode(record.subarray(3, typeAt)),
    contentType: decoder.decode(record.subarray(typeAt + 1, contentAt)),
    bytes: record.slice(contentAt),
  };
}

function idOf(location: string): string {
  const id = location.startsWith(BROWSER_FILE_PREFIX) ? location.slice(BROWSER_FILE_PREFIX.length) : "";
  if (!/^[0-9a-f]{32}$/.test(id))
    throw new NanoError("invalid_argument", `${location} is not a file kept by this browser`);
  return id;
}

export class IdbAttachmentSink implements AttachmentSink {
  readonly #database: IDBDatabase;
  readonly #keys: LocalKeys;
  readonly #primitives: AttachmentSinkPrimitives;
  readonly #maxBytes: number;

  private constructor(
    database: IDBDatabase,
    keys: LocalKeys,
    primitives: AttachmentSinkPrimitives,
    maxBytes: number,
  ) {
    this.#database = database;
    this.#keys = keys;
    this.#primitives = primitives;
    this.#maxBytes = maxBytes;
  }

  static async open(options: IdbAttachmentSinkOptions): Promise<IdbAttachmentSink> {
    const maxBytes = options.maxBytes ?? MAX_FILE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_FILE_BYTES)
      throw new RangeError(`maxBytes must be an integer in 0..${MAX_FILE_BYTES}`);
    const keys = deriveLocalKeysWith(options.primitives.hkdf, options.databaseKey);
    const database = await openDatabase(
      indexedDbFactory(options.indexedDB),
      options.name,
      RECEIVED_FILES_SCHEMA_VERSION,
      (created) => {
        if (!created.objectStoreNames.contains(FILES_STORE)) created.createObjectStore(FILES_STORE);
      },
      versionTooNew,
    );
    return new IdbAttachmentSink(database, keys, options.primitives, maxBytes);
  }

  /**
   * Downloads, verifies and decrypts the attachment, then keeps it sealed under a fresh id. The size
   * limit is checked against the reference before anything is downloaded or allocated.
   */
  async save(
    link: AttachmentLink,
    reference: AttachmentReference,
    name: string,
    onProgress?: Progress,
  ): Promise<string> {
    const opener = new AttachmentOpener(this.#primitives, reference, { maxBytes: this.#maxBytes });
    const record = new RecordBuilder(name, reference.contentType, reference.size);
    await downloadVerified(link, reference, opener, (pieces) => record.append(pieces), onProgress);
    const id = toHex(this.#primitives.randomBytes(ID_BYTES));
    const sealed = await sealRowWith(this.#primitives, this.#keys, FILES_TABLE, utf8(id), record.bytes);
    record.bytes.fill(0);
    await this.#write((files) => files.add({ record: sealed, savedAt: Date.now() } satisfies StoredFile, id));
    return `${BROWSER_FILE_PREFIX}${id}`;
  }

  /** The kept file at `location` (`received_file_gone` once deleted; `local_record_tampered` if altered). */
  async open(location: string): Promise<KeptFile> {
    const id = idOf(location);
    const transaction = this.#database.transaction([FILES_STORE], "readonly");
    const stored = (await requestResult(transaction.objectStore(FILES_STORE).get(id))) as
      | StoredFile
      | undefined;
    if (stored === undefined) throw gone(location);
    if (!(stored.record instanceof Uint8Array)) throw tamperedRow(FILES_TABLE);
    const record = await openRowWith(this.#primitives, this.#keys, FILES_TABLE, utf8(id), stored.record);
    try {
      return parseRecord(record);
    } catch (cause) {
      throw NanoError.is(cause) ? cause : tamperedRow(FILES_TABLE, cause);
    } finally {
      record.fill(0);
    }
  }

  /** Deletes the file at `location` (its message was deleted or expired); false if it was not kept. */
  async remove(location: string): Promise<boolean> {
    idOf(location);
    return (await this.removeAll([location])) > 0;
  }

  /**
   * Deletes the files at `locations` in one transaction (IdbLocalStoreOptions.removeFiles: the files of
   * messages a sweep expired); locations that are not this browser's are ignored. Returns how many
   * were kept before.
   */
  async removeAll(locations: readonly string[]): Promise<number> {
    const ids = locations.filter((location) => location.startsWith(BROWSER_FILE_PREFIX)).map(idOf);
    if (ids.length === 0) return 0;
    let found = 0;
    await this.#write((files) => {
      for (const id of ids) {
        const counting = files.count(id);
        counting.onsuccess = () => {
          found += counting.result;
        };
        files.delete(id);
      }
    });
    return found;
  }

  /**
   * Deletes every kept file whose location is not in `keep` (the locations the history still names):
   * what a deleted or expired message, or a crash between keeping a file and committing its message,
   * left behind. Returns how many were deleted. Run it when no receive is under way: a file kept by a
   * receive whose message has not committed yet is named by no history row and would go too.
   */
  async prune(keep: Iterable<string>): Promise<number> {
    const kept = new Set<string>();
    for (const location of keep) {
      if (location.startsWith(BROWSER_FILE_PREFIX)) kept.add(idOf(location));
    }
    const reading = this.#database.transaction([FILES_STORE], "readonly");
    const ids = (await requestResult(reading.objectStore(FILES_STORE).getAllKeys())).map(String);
    const doomed = ids.filter((id) => !kept.has(id));
    if (doomed.length > 0)
      await this.#write((files) => {
        for (const id of doomed) files.delete(id);
      });
    return doomed.length;
  }

  /** The locations of every kept file. */
  async locations(): Promise<string[]> {
    const reading = this.#database.transaction([FILES_STORE], "readonly");
    const ids = await requestResult(reading.objectStore(FILES_STORE).getAllKeys());
    return ids.map((id) => `${BROWSER_FILE_PREFIX}${String(id)}`);
  }

  close(): void {
    this.#database.close();
  }

  /** One readwrite transaction, its requests issued synchronously by `requests`, awaited to disk. */
  async #write(requests: (files: IDBObjectStore) => void): Promise<void> {
    let transaction: IDBTransaction;
    try {
      transaction = this.#database.transaction([FILES_STORE], "readwrite", { durability: "strict" });
      requests(transaction.objectStore(FILES_STORE));
    } catch (cause) {
      throw writeFailure(cause);
    }
    try {
      await transactionDone(transaction);
    } catch (cause) {
      throw writeFailure(cause);
    }
  }
}
