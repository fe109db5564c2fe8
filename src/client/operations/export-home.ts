import { existsSync } from "node:fs";
import { toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { computeSafetyNumber, formatSafetyNumber } from "../../protocol/safety-number.ts";
import type { ClientContext } from "../context.ts";
import { writeFileAtomic } from "../home/atomic-file.ts";
import { loadOwnIdentity } from "../home/local-identity.ts";
import { type Passphrase, saveKeystore } from "../keystore/keystore.ts";

export const CLIENT_EXPORT_FORMAT = "nano-client-export/v1";
const PAGE = 1000;

export interface ExportHomeResult {
  readonly output: string;
  readonly contacts: number;
  readonly messages: number;
  readonly encrypted: boolean;
}

/**
 * `nano-client export` (docs/client.md "Exporting your data", GDPR Art. 20 from the side that can read
 * the messages): this home's account, contacts with their safety numbers, and the received message
 * history, decrypted, as one JSON document. Plain, it is written 0600 and atomically; with a passphrase
 * it is sealed in the keystore format (argon2id + ChaCha20-Poly1305, docs/client.md "Keystore format"),
 * so a copy on a shared disk reveals nothing without it. No key material is exported.
 */
export async function exportHome(
  context: ClientContext,
  options: { output: string; passphrase?: Passphrase; force?: boolean; now?: number },
): Promise<ExportHomeResult> {
  if (existsSync(options.output) && options.force !== true)
    throw new NanoError("output_exists", `${options.output} already exists; pass --force to replace it`);
  const { home } = context;
  const own = await loadOwnIdentity(context.provider, home.store, home.seeds);
  const { provider } = context;
  const document = await home.store.transaction((tables) => {
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
      const page = tables.listReceived(after, PAGE);
      for (const message of page) {
        // "text" messages (and text/* attachments' types) as text; anything else as base64.
        const text = message.contentType === "text" || message.contentType.startsWith("text/");
        messages.push({
          id: message.messageId,
          from: message.sender,
          received_at: new Date(message.receivedAt).toISOString(),
          content_type: message.contentType,
          ...(text
            ? { text: Buffer.from(message.body).toString("utf8") }
            : { body: Buffer.from(message.body).toString("base64") }),
        });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    return {
      format: CLIENT_EXPORT_FORMAT,
      exported_at: new Date(options.now ?? Date.now()).toISOString(),
      account: {
        username: home.config.username,
        relay: home.config.relay,
        crypto_mode: home.config.cryptoMode,
        identity_hash: own === null ? null : toHex(own.record.hash),
      },
      contacts,
      messages,
    };
  });
  const bytes = utf8(`${JSON.stringify(document, null, 2)}\n`);
  if (options.passphrase === undefined) await writeFileAtomic(options.output, bytes);
  else await saveKeystore(options.output, bytes, options.passphrase);
  return {
    output: options.output,
    contacts: document.contacts.length,
    messages: document.messages.length,
    encrypted: options.passphrase !== undefined,
  };
}
