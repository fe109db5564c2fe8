/**
 * The client's storage in the browser (docs/web.md "Browser storage", "Browser keystore"). Nothing
 * this imports, transitively, imports `node:` or uses Buffer (test/web/runtime-boundary.test.ts):
 * the web app bundles it.
 */

export { type KeystoreContents, newKeystoreContents } from "../keystore/keystore-contents.ts";
export type { LocalStoreApi, LocalTables } from "../local-store/local-tables.ts";
export {
  BROWSER_ARGON2ID,
  BROWSER_KEYSTORE_VERSION,
  type BrowserKeystoreOptions,
  type ChangeBrowserKeystorePassphraseOptions,
  type CreateBrowserKeystoreOptions,
  changeBrowserKeystorePassphrase,
  createBrowserKeystore,
  DEFAULT_BROWSER_KEYSTORE_NAME,
  deleteBrowserKeystore,
  hasBrowserKeystore,
  openBrowserKeystore,
  requestPersistentStorage,
} from "./browser-keystore.ts";
export {
  type AttachmentSinkPrimitives,
  BROWSER_FILE_PREFIX,
  IdbAttachmentSink,
  type IdbAttachmentSinkOptions,
  type KeptFile,
  RECEIVED_FILES_SCHEMA_VERSION,
} from "./idb-attachment-sink.ts";
export { IDB_SCHEMA_VERSION, IdbLocalStore, type IdbLocalStoreOptions } from "./idb-local-store.ts";
