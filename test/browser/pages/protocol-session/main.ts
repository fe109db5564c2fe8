// src/protocol in the page, on the browser's crypto provider: test/browser/protocol-session.test.ts
// drives whole sessions here and across the runtimes through `nanoSession`. Bytes cross as hex.
import { fromHex, toHex, utf8 } from "../../../../src/crypto/bytes.ts";
import type { CryptoProvider } from "../../../../src/crypto/provider/index.ts";
import type { SuiteId } from "../../../../src/crypto/suite-ids.ts";
import { createWebProvider } from "../../../../src/crypto/web/index.ts";
import { NanoError } from "../../../../src/errors/index.ts";
import { decodeEnvelope } from "../../../../src/protocol/envelope.ts";
import { receiveMessage } from "../../../../src/protocol/receive-message.ts";
import {
  type ExportedParty,
  exportParty,
  importParty,
  importRecord,
  makeParty,
  type Party,
  publishBundle,
  receive,
  send,
  startWith,
} from "../../../support/conversation.ts";

type Variant = "detect" | "noble";

const providers = new Map<Variant, Promise<CryptoProvider>>();
const parties = new Map<string, Party>();

function provider(variant: Variant): Promise<CryptoProvider> {
  let made = providers.get(variant);
  if (made === undefined) {
    made = createWebProvider({ use: variant });
    providers.set(variant, made);
  }
  return made;
}

function party(id: string): Party {
  const found = parties.get(id);
  if (found === undefined) throw new Error(`no party ${id} in the page`);
  return found;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export interface WholeSession {
  readonly received: readonly string[];
  readonly implementations: Readonly<Record<string, string>>;
  /** The code a tampered envelope is refused with (the session must not move). */
  readonly tampered: string;
}

/** Alice and Bob both in the page: a first contact, replies, ratchet steps both ways, one forgery. */
async function whole(variant: Variant, suiteId: SuiteId, now: number): Promise<WholeSession> {
  const chosen = await provider(variant);
  const alice = await makeParty(chosen, "alice", suiteId, now);
  const bob = await makeParty(chosen, "bob", suiteId, now);
  await startWith(alice, await publishBundle(bob, now), now);
  const received: string[] = [];
  const script: [Party, Party, string][] = [
    [alice, bob, "first contact from alice"],
    [bob, alice, "bob replies"],
    [alice, bob, "alice steps"],
    [alice, bob, "same chain"],
    [bob, alice, "bob steps"],
    [alice, bob, "and again"],
  ];
  for (const [from, to, message] of script) {
    const envelope = await send(from, to.name, utf8(message), now);
    received.push(text(await receive(to, from.name, envelope, from.record, now)));
  }
  const forged = await send(alice, "bob", utf8("tampered in transit"), now);
  forged[forged.length - 1]! ^= 1;
  const before = toHex(bob.stores.sessionMap.get("alice")!);
  const outcome = await receiveMessage(chosen, bob.stores, {
    relaySender: "alice",
    envelope: decodeEnvelope(chosen, forged),
  });
  if (toHex(bob.stores.sessionMap.get("alice")!) !== before) throw new Error("a refusal moved the session");
  const tampered = outcome.kind === "refused" ? outcome.error.code : outcome.kind;
  return { received, implementations: chosen.primitives.implementations, tampered };
}

/** A party made in the page; its record and (for a responder) its bundle go to Node. */
async function create(
  variant: Variant,
  id: string,
  name: string,
  suiteId: SuiteId,
  now: number,
): Promise<{ record: string; bundle: string }> {
  const made = await makeParty(await provider(variant), name, suiteId, now);
  parties.set(id, made);
  return { record: toHex(made.record.encoded), bundle: toHex(await publishBundle(made, now)) };
}

async function sendFrom(id: string, peer: string, message: string, now: number): Promise<string> {
  return toHex(await send(party(id), peer, utf8(message), now));
}

async function receiveAt(id: string, sender: string, envelope: string, senderRecord: string, now: number) {
  const at = party(id);
  return text(
    await receive(at, sender, fromHex(envelope), await importRecord(at.provider, senderRecord), now),
  );
}

async function importInto(variant: Variant, id: string, exported: ExportedParty): Promise<void> {
  parties.set(id, await importParty(await provider(variant), exported));
}

/** A failure comes back as its code (or message), never as a page error that ends the test run. */
async function guarded<T>(work: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await work();
  } catch (error) {
    if (NanoError.is(error)) return { error: error.code };
    return { error: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error) };
  }
}

(globalThis as { nanoSession?: unknown }).nanoSession = {
  whole: (v: Variant, s: SuiteId, now: number) => guarded(() => whole(v, s, now)),
  create: (v: Variant, id: string, name: string, s: SuiteId, now: number) =>
    guarded(() => create(v, id, name, s, now)),
  sendFrom: (id: string, peer: string, message: string, now: number) =>
    guarded(() => sendFrom(id, peer, message, now)),
  receiveAt: (id: string, sender: string, envelope: string, record: string, now: number) =>
    guarded(() => receiveAt(id, sender, envelope, record, now)),
  importInto: (v: Variant, id: string, exported: ExportedParty) => guarded(() => importInto(v, id, exported)),
  exportOf: (id: string) => guarded(async () => exportParty(party(id))),
  /** Decodes (so verifies) a record made elsewhere: its username, or the code it is refused with. */
  checkRecord: (v: Variant, record: string) =>
    guarded(async () => (await importRecord(await provider(v), record)).username),
};
const status = document.getElementById("status");
if (status) status.textContent = "ready";
