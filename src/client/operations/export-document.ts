import { toHex } from "../../crypto/bytes.ts";
import { computeSafetyNumber, formatSafetyNumber } from "../../protocol/safety-number.ts";
import { PORTABLE_BASE64 } from "../../text/base64.ts";
import type { ClientContext } from "../context.ts";
import { loadOwnIdentity } from "../home/local-identity.ts";

export const CLIENT_EXPORT_FORMAT = "nano-client-export/v1";
const PAGE = 1000;
/** Lenient, as the history shows a text: a malformed sequence becomes U+FFFD, never an error. */
const TEXT = new TextDecoder();

/** The export document (docs/client.md "Exporting your data"): JSON, the same in every runtime. */
export interface ExportDocument {
  readonly format: typeof CLIENT_EXPORT_FORMAT;
  readonly exported_at: string;
  readonly account: Record<string, unknown>;
  readonly contacts: readonly Record<string, unknown>[];
  readonly messages: readonly Record<string, unknown>[];
}

/**
 * This home's account, contacts with their safety numbers, and the received message history,
 * decrypted, as one document, read in one transaction. No key material. Runtime-free: `nano-client
 * export` writes it to a file (export-home.ts), the web app offers it as a download.
 */
export async function exportDocument(
  context: ClientContext,
  now: number = Date.now(),
): Promise<ExportDocument> {
  const { home } = context;
  const own = await loadOwnIdentity(context.provider, home.store, home.seeds);
  const { provider } = context;
  return home.store.transaction((tables) => {
    const contacts = tables.listContacts().map((contact) => ({
      username: contact.username,
      // H(IR): the stored record was decoded and verified when it was stored.
      identity_hash: toHex(provider.primitives.blake2b(contact.identityRecord)),
      pinned_suite: contact.pinnedSuite,
      verified: contact.verified,
      safety_number_confirmed_at:
        contact.safetyNumberConfirmedAt === null
          ? null
          : new Date(contact.safetyNumberConfirmedAt).toISOString(),
      identity_changed: contact.identityChanged,
      added_at: new Date(contact.addedAt).toISOString(),
      safety_number:
        own === null
          ? null
          : formatSafetyNumber(
              computeSafetyNumber(
                provider,
                { username: own.record.username, identityRecord: own.record.encoded },
                { username: contact.username, identityRecord: contact.identityRecord },
              ).digits,
              12,
            ),
    }));
    const messages: Record<string, unknown>[] = [];
    for (let after = 0; ; ) {
      const page = tables.listReceived(after, PAGE, now);
      for (const message of page) {
        // By the sealed deadline too: the `expires_at` column that listReceived selects on is not
        // authenticated, and a row whose column was damaged to NULL must not reach a plaintext file.
        if (message.expiresAt !== undefined && message.expiresAt <= now) continue;
        // "text" messages (and text/* attachments' types) as text; anything else as base64.
        const text = message.contentType === "text" || message.contentType.startsWith("text/");
        messages.push({
          id: message.messageId,
          from: message.sender,
          received_at: new Date(message.receivedAt).toISOString(),
          content_type: message.contentType,
          // A disappearing message says so: the copy in the export outlives it (docs/compliance.md).
          ...(message.expiresAt === undefined
            ? {}
            : { expires_at: new Date(message.expiresAt).toISOString() }),
          ...(text ? { text: TEXT.decode(message.body) } : { body: PORTABLE_BASE64.encode(message.body) }),
        });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    const document: ExportDocument = {
      format: CLIENT_EXPORT_FORMAT,
      exported_at: new Date(now).toISOString(),
      account: {
        username: home.config.username,
        relay: home.config.relay,
        crypto_mode: home.config.cryptoMode,
        identity_hash: own === null ? null : toHex(own.record.hash),
      },
      contacts,
      messages,
    };
    return document;
  });
}
