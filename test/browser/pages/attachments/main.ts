// Attachments in the page, served by a real relay from its own origin: test/browser/attachments.test.ts
// calls `nanoAttachments.*` to run the codec's checks on the browser's provider, to send and receive
// files through the relay with the page's transport, and to keep them in the IndexedDB sink. Errors
// come back as {code, message} (a NanoError's code). Bytes cross to Node as hex.

// First: zod builds its schemas without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import { sealAttachment } from "../../../../src/client/attachments/attachment-stream.ts";
import { IdbAttachmentSink } from "../../../../src/client/browser-store/idb-attachment-sink.ts";
import { IdbLocalStore } from "../../../../src/client/browser-store/idb-local-store.ts";
import { type AttachmentLink, sendAttachment } from "../../../../src/client/messaging/attachments.ts";
import { fetchEndpoint } from "../../../../src/client/transport/relay-fetch.ts";
import { requestRaw, requestStream } from "../../../../src/client/transport/relay-request.ts";
import { fromHex, toHex } from "../../../../src/crypto/bytes.ts";
import type { CryptoPrimitives } from "../../../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import {
  decodeAttachmentReferenceExact,
  encodeAttachmentReference,
} from "../../../../src/protocol/attachment-reference.ts";
import { ATTACHMENT_CHECKS } from "../../../protocol/_attachment-checks.ts";

type Variant = "detect" | "noble";

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string };

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      code: typeof code === "string" ? code : `uncaught ${(error as Error).name}`,
      message: (error as Error).message,
    };
  }
}

const providers = new Map<Variant, Promise<CryptoPrimitives>>();

function primitives(variant: Variant): Promise<CryptoPrimitives> {
  let made = providers.get(variant);
  if (made === undefined) {
    made = createWebProvider({ use: variant }).then((provider) => provider.primitives);
    providers.set(variant, made);
  }
  return made;
}

/** The client's attachment calls over a bearer token and the page's fetch transport. */
function tokenLink(relay: string, token: string): AttachmentLink {
  const endpoint = fetchEndpoint(relay);
  return {
    api: {
      async uploadAttachment(hashHex, recipients, ciphertext, onProgress) {
        const answer = await requestRaw(endpoint, {
          method: "PUT",
          path: `/v1/attachments/${hashHex}?recipients=${recipients.join(",")}`,
          token,
          body: ciphertext,
          ...(onProgress === undefined ? {} : { onUpload: onProgress }),
        });
        if (answer.status !== 201) throw new Error(`upload answered ${answer.status}`);
      },
      downloadAttachment: (hashHex, onProgress) =>
        requestStream(endpoint, {
          method: "GET",
          path: `/v1/attachments/${hashHex}`,
          token,
          ...(onProgress === undefined ? {} : { onDownload: onProgress }),
        }),
    },
  };
}

let sink: IdbAttachmentSink | null = null;

function openedSink(): IdbAttachmentSink {
  if (sink === null) throw new Error("no sink open: call openSink first");
  return sink;
}

/** The object store's raw values, to show what IndexedDB holds (sealed) and to move one (an attack). */
function rawFiles(name: string, work: (files: IDBObjectStore) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const database = request.result;
      const transaction = database.transaction(["files"], "readwrite");
      work(transaction.objectStore("files"));
      transaction.oncomplete = () => {
        database.close();
        resolve();
      };
      transaction.onabort = () => reject(transaction.error);
    };
  });
}

const api = {
  async run(variant: Variant, index: number): Promise<Outcome<string>> {
    const check = ATTACHMENT_CHECKS[index];
    if (check === undefined) return { ok: false, code: "no check", message: `no check #${index}` };
    const chosen = await primitives(variant);
    return outcome(async () => `${chosen.name}: ${(await check.run(chosen)).toString()}`);
  },
  /** Seals `plaintextHex` with a fresh key; the ciphertext and the encoded reference, as hex. */
  seal: (variant: Variant, plaintextHex: string) =>
    outcome(async () => {
      const sealed = await sealAttachment(await primitives(variant), fromHex(plaintextHex), {
        contentType: "application/octet-stream",
      });
      return {
        ciphertext: toHex(sealed.ciphertext),
        reference: toHex(encodeAttachmentReference(sealed.reference)),
      };
    }),
  /** sendAttachment with the page's provider and transport: the encoded reference, as hex. */
  send: (relay: string, token: string, recipient: string, plaintextHex: string, filename: string) =>
    outcome(async () => {
      const reference = await sendAttachment(
        await primitives("detect"),
        tokenLink(relay, token),
        recipient,
        fromHex(plaintextHex),
        { contentType: "application/octet-stream", filename },
      );
      return toHex(encodeAttachmentReference(reference));
    }),
  openSink: (name: string, databaseKeyHex: string, maxBytes?: number) =>
    outcome(async () => {
      sink?.close();
      sink = await IdbAttachmentSink.open({
        name,
        databaseKey: fromHex(databaseKeyHex),
        primitives: await primitives("detect"),
        ...(maxBytes === undefined ? {} : { maxBytes }),
      });
      return name;
    }),
  save: (relay: string, token: string, referenceHex: string, name: string) =>
    outcome(async () => {
      let reports = 0;
      const location = await openedSink().save(
        tokenLink(relay, token),
        decodeAttachmentReferenceExact(fromHex(referenceHex)),
        name,
        () => {
          reports += 1;
        },
      );
      return { location, reports };
    }),
  open: (location: string) =>
    outcome(async () => {
      const file = await openedSink().open(location);
      return { name: file.name, contentType: file.contentType, bytes: toHex(file.bytes) };
    }),
  remove: (location: string) => outcome(() => openedSink().remove(location)),
  removeAll: (locations: string[]) => outcome(() => openedSink().removeAll(locations)),
  prune: (keep: string[]) => outcome(() => openedSink().prune(keep)),
  locations: () => outcome(() => openedSink().locations()),
  /**
   * A local store whose sweep hands expired files to the sink (IdbLocalStoreOptions.removeFiles): one
   * received attachment kept at `location` expires at `expiresAt`, one without a timer stays; the
   * sweep runs at `sweepAt`. Returns how many rows it deleted.
   */
  sweepStore: (
    storeName: string,
    databaseKeyHex: string,
    files: [string, number | null][],
    sweepAt: number,
  ) =>
    outcome(async () => {
      const chosen = openedSink();
      const store = await IdbLocalStore.open({
        name: storeName,
        databaseKey: fromHex(databaseKeyHex),
        primitives: await primitives("detect"),
        removeFiles: (locations) => chosen.removeAll(locations),
      });
      try {
        await store.transaction((tables) => {
          for (const [index, [location, expiresAt]] of files.entries()) {
            tables.insertReceived({
              messageId: `file-${index}`,
              sender: "attalice",
              contentType: "attachment",
              body: new TextEncoder().encode(JSON.stringify({ path: location, size: 1 })),
              receivedAt: sweepAt - 10_000,
              suite: 2,
              sentAt: sweepAt - 10_001,
              contentId: `c${index}`,
              ...(expiresAt === null ? {} : { expireAfterSeconds: 1, expiresAt }),
            });
          }
        });
        return await store.sweepExpired(sweepAt);
      } finally {
        await store.close();
      }
    }),
  /** Every stored value's bytes as hex (what a reader of the origin's IndexedDB gets). */
  raw: (name: string) =>
    outcome(async () => {
      const values: string[] = [];
      await rawFiles(name, (files) => {
        const request = files.getAll();
        request.onsuccess = () => {
          for (const value of request.result as { record: Uint8Array }[]) values.push(toHex(value.record));
        };
      });
      return values;
    }),
  /** Moves the record at id `from` to id `to` (a swap an attacker with the origin's storage can make). */
  move: (name: string, from: string, to: string) =>
    outcome(() =>
      rawFiles(name, (files) => {
        const request = files.get(from);
        request.onsuccess = () => {
          files.put(request.result, to);
          files.delete(from);
        };
      }),
    ),
};

(globalThis as { nanoAttachments?: unknown }).nanoAttachments = api;
const element = document.getElementById("status");
if (element) element.textContent = "ready";
