import { NanoError } from "../../errors/index.ts";

/**
 * IndexedDB's event-based requests as promises, and nothing more. IndexedDB commits a transaction as
 * soon as no request of it is pending when control returns to the event loop, so callers issue every
 * request of a transaction synchronously and await only `transactionDone`: awaiting anything else in
 * between (an AEAD seal, a fetch) would let it commit half-way.
 */

/** The platform's IndexedDB factory, or a typed error where there is none (a worker without it). */
export function indexedDbFactory(factory?: IDBFactory): IDBFactory {
  const found = factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (found === undefined) {
    throw new NanoError(
      "browser_storage_unavailable",
      "this page has no IndexedDB (private mode or a sandbox?)",
    );
  }
  return found;
}

/** The request's result once it succeeds; its error (a DOMException) when it fails. */
export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

/**
 * Resolves on `complete` (with durability "strict": on disk), rejects on `abort`. A request that fails
 * (an `add` over an existing key: ConstraintError) fires `error`, which bubbles to the transaction
 * and then aborts it: it settles once, on abort. The error event is NOT cancelled: `preventDefault`
 * on it tells IndexedDB the failure was handled, and the transaction would go on and commit the other
 * requests without the failed one — half a commit, reported as complete.
 */
export function transactionDone(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    const database = transaction.db;
    // Chromium closes a connection by force when the origin's data is cleared ("Clear site data", the
    // DevTools) or its storage fails, and then fires `close` on the connection and NEITHER `complete`
    // NOR `abort` on a transaction in flight: without this, its commit would wait forever.
    const closed = (): void => {
      settle();
      reject(new ConnectionClosedError());
    };
    const settle = (): void => database.removeEventListener("close", closed);
    database.addEventListener("close", closed);
    transaction.oncomplete = () => {
      settle();
      resolve();
    };
    transaction.onabort = () => {
      settle();
      reject(transaction.error ?? new DOMException("transaction aborted", "AbortError"));
    };
  });
}

/**
 * The browser closed the connection while a transaction was in flight: whether that transaction
 * reached the disk is unknown (the connection is gone, so nothing more can be written through it).
 */
export class ConnectionClosedError extends Error {
  constructor() {
    super("the browser closed the IndexedDB connection before the transaction completed");
    this.name = "ConnectionClosedError";
  }
}

/**
 * Opens `name` at `version`, running `upgrade` inside the versionchange transaction when the database
 * is new or older. A database written by a newer schema is refused with `versionError` (IndexedDB
 * cannot open a database at a lower version than it has). An open blocked by another page that holds
 * an older version open is refused after `blockedTimeoutMs` rather than hanging.
 */
export function openDatabase(
  factory: IDBFactory,
  name: string,
  version: number,
  upgrade: (database: IDBDatabase, oldVersion: number) => void,
  versionError: () => NanoError,
  blockedTimeoutMs = 10_000,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, version);
    } catch (cause) {
      reject(
        new NanoError("browser_storage_unavailable", "IndexedDB refused to open the database", { cause }),
      );
      return;
    }
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
    request.onsuccess = () => {
      clearTimeout(timer);
      const database = request.result;
      // Opened after we stopped waiting for it: nobody will use or close this connection but us.
      if (gaveUp) {
        database.close();
        return;
      }
      // Another page upgrading the schema: let it, this connection is stale from now on.
      database.onversionchange = () => database.close();
      resolve(database);
    };
    request.onerror = () => {
      clearTimeout(timer);
      const error = request.error;
      if (error?.name === "VersionError") reject(versionError());
      else
        reject(
          new NanoError("browser_storage_unavailable", `IndexedDB open failed: ${error?.name ?? "unknown"}`, {
            cause: error,
          }),
        );
    };
    request.onblocked = () => {
      timer = setTimeout(() => {
        gaveUp = true;
        reject(
          new NanoError("local_store_busy", "another page keeps an older version of the local store open"),
        );
      }, blockedTimeoutMs);
    };
  });
}
