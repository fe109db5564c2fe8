import type { SuiteId } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { decodeEnvelope } from "../../src/protocol/envelope.ts";
import type { IdentityRecord } from "../../src/protocol/identity-record.ts";
import { acceptIdentity as decideAccept } from "../../src/protocol/identity-trust.ts";
import {
  blockedError,
  type CallOptions,
  type ReceiveOutcome,
  wipeConsumed,
} from "../../src/protocol/outcomes.ts";
import { rotatePrekeys as decideRotation } from "../../src/protocol/prekey-rotation.ts";
import { receiveMessage as decideReceive } from "../../src/protocol/receive-message.ts";
import type { Selection } from "../../src/protocol/selection.ts";
import { sendMessage as decideSend } from "../../src/protocol/send-message.ts";
import {
  chooseSuite as decideChoose,
  startSession as decideStart,
} from "../../src/protocol/session-start.ts";
import type { MemoryStores } from "../../src/protocol/stores.ts";

/**
 * The reference client of the protocol's decisions, for scenario tests: it runs a decision over a
 * `MemoryStores`, commits the writes the outcome carries, wipes what it consumed, and turns anything
 * but success into the outcome's typed error (a held message is `identity_changed`), so scenarios read
 * as "Bob receives, or fails with code X". The key-transparency directory is a map of the records each
 * username published: a first contact is proven only against it (docs/protocol.md §7.7).
 * test/protocol/decisions.test.ts checks the outcomes themselves.
 */
export class Directory {
  readonly #records = new Map<string, IdentityRecord>();

  publish(record: IdentityRecord): void {
    this.#records.set(record.username, record);
  }

  proven(username: string): IdentityRecord | null {
    return this.#records.get(username) ?? null;
  }
}

/** The directory every party of a test file publishes to (each test file runs in its own process). */
export const DIRECTORY = new Directory();

export interface Received {
  readonly peer: string;
  readonly content: Uint8Array;
  readonly newSession: boolean;
}

/** Runs the receive decision, asking `directory` only when the decision needs the proven record. */
export async function decideWithDirectory(
  stores: MemoryStores,
  relaySender: string,
  bytes: Uint8Array,
  options: CallOptions = {},
  directory: Directory = DIRECTORY,
): Promise<ReceiveOutcome> {
  const envelope = decodeEnvelope(provider, bytes);
  const outcome = await decideReceive(provider, stores, { relaySender, envelope }, options);
  if (outcome.kind !== "needs_record") return outcome;
  const provenRecord = directory.proven(relaySender);
  return decideReceive(provider, stores, { relaySender, envelope, provenRecord }, options);
}

export async function receiveMessage(
  stores: MemoryStores,
  relaySender: string,
  bytes: Uint8Array,
  options: CallOptions = {},
  directory: Directory = DIRECTORY,
): Promise<Received> {
  const outcome = await decideWithDirectory(stores, relaySender, bytes, options, directory);
  if (outcome.kind === "needs_record") throw new Error("a decision asked twice for the proven record");
  await stores.apply(outcome.writes);
  if (outcome.kind === "held") throw blockedError(outcome.peer);
  if (outcome.kind === "refused") throw outcome.error;
  wipeConsumed(outcome);
  return { peer: outcome.peer, content: outcome.content, newSession: outcome.newSession };
}

export async function sendMessage(
  stores: MemoryStores,
  peer: string,
  content: Uint8Array,
  options: CallOptions = {},
): Promise<Uint8Array> {
  const outcome = await decideSend(provider, stores, { peer, content }, options);
  await stores.apply(outcome.writes);
  if (outcome.kind === "blocked") throw blockedError(outcome.peer);
  if (outcome.kind === "refused") throw outcome.error;
  wipeConsumed(outcome);
  return outcome.envelope;
}

export async function startSession(
  stores: MemoryStores,
  bundleBytes: Uint8Array,
  selection: Selection,
  options: CallOptions & { readonly peer?: string } = {},
): Promise<void> {
  const bundle = await decodeBundleExact(provider, bundleBytes, options.now ?? Date.now());
  const input = { bundle, selection, ...(options.peer === undefined ? {} : { peer: options.peer }) };
  const outcome = await decideStart(provider, stores, input, options);
  await stores.apply(outcome.writes);
  if (outcome.kind === "blocked") throw blockedError(outcome.peer);
  if (outcome.kind === "refused") throw outcome.error;
  wipeConsumed(outcome);
}

export async function chooseSuite(stores: MemoryStores, peer: IdentityRecord, explicit?: SuiteId) {
  const outcome = await decideChoose(stores, peer, explicit);
  if (outcome.kind === "blocked") {
    await stores.apply(outcome.writes);
    throw blockedError(outcome.peer);
  }
  if (outcome.kind === "refused") throw outcome.error;
  return outcome;
}

export async function acceptIdentity(
  stores: MemoryStores,
  record: IdentityRecord,
  options: CallOptions = {},
): Promise<void> {
  const outcome = await decideAccept(provider, stores, record, options);
  if (outcome.kind === "refused") throw outcome.error;
  await stores.apply(outcome.writes);
}

export async function rotatePrekeys(stores: MemoryStores, options: CallOptions = {}) {
  const plan = await decideRotation(provider, stores, options);
  await stores.apply(plan.writes);
  return plan;
}
