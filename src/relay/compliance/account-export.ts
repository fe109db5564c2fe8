/**
 * The payload of `nano-relay compliance export` (GDPR Art. 15 access, Art. 20 portability): everything
 * the relay holds about one account, as JSON (docs/compliance.md, "Export"). Key-transparency bindings
 * come with their salts and inclusion proofs at a signed checkpoint, so the subject can check them
 * against the log everyone sees; audit events are those whose actor pseudonym is the account's.
 */
import { decodeAuditEvent } from "../../audit/audit-event.ts";
import { decodeKtLeaf } from "../../audit/kt-leaf.ts";
import { constantTimeEqual, toHex } from "../../crypto/index.ts";
import type { AccountData } from "../../store/types.ts";
import { actorPseudonym } from "../audit-log-key.ts";
import type { TransparencyService } from "../transparency.ts";
import type { ComplianceStore } from "./compliance-store.ts";
import type { Json, JsonObject } from "./signed-export.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const iso = (ms: number) => new Date(ms).toISOString();
const BATCH = 1024;

/** What the relay cannot export, and why (the export says it, so nobody reads silence as absence). */
export const NOT_HELD: readonly string[] = Object.freeze([
  "message content: the relay only ever has ciphertext under keys it never sees; delivered messages are deleted on acknowledgement",
  "devices: the relay keeps no device list; each login token below is one device login",
  "rate-limit state: kept only in the running relay's memory (or Redis in a cluster) for at most an hour, per client address and account",
  "login token values: only their hashes are stored, and those are credentials, so only expiry times are listed",
]);

async function ktBindings(
  transparency: TransparencyService,
  store: ComplianceStore,
  username: string,
): Promise<JsonObject> {
  const rows = await store.ktSalts(username);
  if (rows.length === 0) return { checkpoint: null, bindings: [] };
  const last = rows[rows.length - 1]!.index;
  const checkpoint = await transparency.checkpoint("kt", last + 1);
  const bindings: Json[] = [];
  for (const row of rows) {
    const index = row.index;
    const leaf = await transparency.logs.kt.entry(index);
    const decoded = decodeKtLeaf(leaf);
    bindings.push({
      log_index: index,
      time: iso(decoded.time),
      identity_hash: toHex(decoded.identityHash),
      record_version: decoded.recordVersion,
      username_salt: b64(row.salt),
      leaf: b64(leaf),
      inclusion_proof: (await transparency.logs.kt.inclusionProof(index, checkpoint.size)).map(b64),
    });
  }
  return { checkpoint: checkpoint.note, tree_size: checkpoint.size, bindings };
}

/** Audit events whose actor is this account's pseudonym, with the client addresses they hold. */
export async function accountAuditEvents(
  transparency: TransparencyService,
  compliance: ComplianceStore,
  username: string,
): Promise<JsonObject[]> {
  const pseudonym = actorPseudonym(transparency.key, username);
  const store = transparency.stores.audit;
  const size = await store.size();
  const events: JsonObject[] = [];
  for (let start = 0; start < size; start += BATCH) {
    for (const { index, data } of await store.entries(start, Math.min(size, start + BATCH))) {
      const event = decodeAuditEvent(data);
      if (event.actor === undefined || !constantTimeEqual(event.actor, pseudonym)) continue;
      const address = (await compliance.personalData("audit", index)).find((row) => row.field === "address");
      events.push({
        log_index: index,
        time: iso(event.time),
        type: event.type,
        outcome: event.outcome,
        correlation_id: event.correlationId,
        details: event.details,
        ...(address === undefined ? {} : { address: address.data }),
      });
    }
  }
  return events;
}

export async function exportPayload(options: {
  readonly data: AccountData;
  readonly transparency: TransparencyService;
  readonly compliance: ComplianceStore;
  readonly relay: string;
  readonly now: number;
  readonly envelopes: boolean;
}): Promise<JsonObject> {
  const { data, transparency, compliance } = options;
  const { account } = data;
  return {
    relay: options.relay,
    generated_at: iso(options.now),
    includes_envelopes: options.envelopes,
    account: {
      username: account.username,
      created_at: iso(account.createdAt),
      updated_at: iso(account.updatedAt),
      identity_hash: toHex(account.identityHash),
      identity_record: b64(account.identityRecord),
    },
    key_transparency: await ktBindings(transparency, compliance, account.username),
    prekeys: data.prekeys.map((p) => ({
      suite: p.suite,
      uploaded_at: iso(p.uploadedAt),
      signed_prekey_created_at: iso(p.signedPrekeyCreatedAt),
      one_time_prekeys: p.oneTimePrekeys,
    })),
    tokens: data.tokens.map((t) => ({ expires_at: iso(t.expiresAt) })),
    pending_messages: data.pendingMessages.map((m) => ({
      id: m.id,
      sender: m.sender,
      size: m.size,
      created_at: iso(m.createdAt),
      expires_at: iso(m.expiresAt),
      ...(m.envelope === undefined ? {} : { envelope: b64(m.envelope) }),
    })),
    sent_pending: data.sentPending.map((m) => ({
      id: m.id,
      recipient: m.recipient,
      size: m.size,
      created_at: iso(m.createdAt),
      expires_at: iso(m.expiresAt),
    })),
    attachments_owned: data.attachmentsOwned.map((a) => ({
      hash: a.hash,
      size: a.size,
      created_at: iso(a.createdAt),
      expires_at: iso(a.expiresAt),
      recipients: a.recipients,
    })),
    attachments_received: data.attachmentsReceived.map((a) => ({
      hash: a.hash,
      owner: a.owner,
      size: a.size,
      expires_at: iso(a.expiresAt),
      fetched_at: a.fetchedAt === null ? null : iso(a.fetchedAt),
    })),
    legal_hold: data.hold === null ? null : { placed_at: iso(data.hold.placedAt) },
    audit_events: await accountAuditEvents(transparency, compliance, account.username),
    not_held: NOT_HELD,
  };
}
