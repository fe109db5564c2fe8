import { type SuiteName, utf8 } from "../../crypto/index.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import {
  decodeDeviceCertificateExact,
  decodeIdentityRecordExact,
  signIdentityUpdate,
} from "../../protocol/index.ts";
import { IdentityUpdateAnswer, type IdentityUpdateRequest } from "../../wire/index.ts";
import type { HomePaths } from "../home/home.ts";
import { writeConfig } from "../home/home.ts";
import { decodeIdentitySeeds, encodeIdentitySeeds, generateIdentitySeeds } from "../home/identity-seeds.ts";
import {
  createOwnIdentity,
  identityKeysFromSeeds,
  loadOwnIdentity,
  type OwnIdentity,
  PENDING_IDENTITY,
  storeOwnIdentity,
} from "../home/local-identity.ts";
import { type UnlockedHome, unlockHome } from "../home/unlocked-home.ts";
import { loadKeystore, type Passphrase, saveKeystore } from "../keystore/keystore.ts";
import { decodeKeystoreContents, encodeKeystoreContents } from "../keystore/keystore-contents.ts";
import type { LocalTables } from "../local-store/local-store.ts";
import { maintainPrekeys } from "../messaging/prekey-maintenance.ts";
import { NODE_CLIENT_RUNTIME } from "../node-runtime.ts";
import { requestJson } from "../transport/relay-http.ts";
import { buildRelayLink, closeRelayLink } from "../transport/relay-link.ts";

/**
 * `init --replace`: a new identity (new keys, possibly a new mode) for the same username, e.g. after
 * a suspected key compromise. The new identity record (version + 1) is published at the relay signed
 * by the OLD keys (docs/api.md `PUT /v1/accounts/:username/identity`), so the relay accepts it and
 * peers see a changed identity: they are blocked until they verify or trust it. Sessions, prekeys and
 * the replay cache of the old identity are deleted; contacts stay.
 *
 * Crash safety: the new identity is staged (sealed) in the local store before anything is sent; each
 * later step is idempotent, and a normal open refuses a home with a staged identity until
 * `init --replace` is run again and completes it.
 */
export interface ReplaceIdentityRequest {
  readonly paths: HomePaths;
  readonly passphrase: Passphrase;
  readonly mode: SuiteName;
  readonly now?: number;
}

export interface ReplaceIdentityResult {
  readonly username: string | null;
  readonly mode: SuiteName;
  readonly recordVersion: number | null;
}

interface Staged {
  readonly seeds: string;
  readonly record: string;
  readonly certificate: string;
  readonly deviceSeed: string;
  readonly signature: string;
}

// The staged replacement is this home's own file (init --replace, Node only), never a relay answer.
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const fromB64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

function clearOldState(tables: LocalTables): void {
  for (const contact of tables.listContacts()) {
    for (const session of tables.getSessions(contact.username)) tables.deleteSession(session.sessionId);
  }
  for (const prekey of tables.listPrekeySecrets()) tables.deletePrekeySecret(prekey.id);
  tables.pruneReplay(Number.MAX_SAFE_INTEGER);
}

async function rewriteKeystore(paths: HomePaths, passphrase: Passphrase, seeds: Uint8Array): Promise<void> {
  const contents = decodeKeystoreContents(await loadKeystore(paths.keystore, passphrase));
  await saveKeystore(
    paths.keystore,
    encodeKeystoreContents({ localStoreKey: contents.localStoreKey, identity: seeds }),
    passphrase,
  );
}

export async function replaceIdentity(request: ReplaceIdentityRequest): Promise<ReplaceIdentityResult> {
  const now = request.now ?? Date.now();
  const home = await unlockHome(request.paths, request.passphrase);
  let staged: Staged;
  let username: string;
  try {
    const old = await loadOwnIdentity(nodeProvider, home.store, home.seeds, { allowStaged: true });
    if (old === null) {
      // Never claimed: nothing is published, so new keys simply replace the old ones.
      await home.store.transaction((tables) => clearOldState(tables));
      await rewriteKeystore(
        request.paths,
        request.passphrase,
        encodeIdentitySeeds(nodeProvider, await generateIdentitySeeds(nodeProvider, request.mode, now)),
      );
      await writeConfig(home.paths, { ...home.config, cryptoMode: request.mode });
      return { username: null, mode: request.mode, recordVersion: null };
    }
    username = old.record.username;
    staged = await home.store.transaction(async (tables) => {
      const existing = tables.getSecretMeta(PENDING_IDENTITY);
      if (existing !== null) return JSON.parse(new TextDecoder().decode(existing)) as Staged;
      const seeds = await generateIdentitySeeds(nodeProvider, request.mode, now);
      const fresh = await createOwnIdentity(nodeProvider, seeds, username, now, old.record.recordVersion + 1);
      const staging: Staged = {
        seeds: b64(encodeIdentitySeeds(nodeProvider, seeds)),
        record: b64(fresh.record.encoded),
        certificate: b64(fresh.certificate.encoded),
        deviceSeed: b64(fresh.deviceSeed),
        signature: b64(await signIdentityUpdate(old.keys, old.record, fresh.record)),
      };
      tables.putSecretMeta(PENDING_IDENTITY, utf8(JSON.stringify(staging)));
      return staging;
    });
    await publish(home, staged, username, old);
  } finally {
    await home.close();
  }
  const record = await decodeIdentityRecordExact(nodeProvider, fromB64(staged.record));
  await rewriteKeystore(request.paths, request.passphrase, fromB64(staged.seeds));
  const reopened = await unlockHome(request.paths, request.passphrase);
  try {
    const own = {
      keys: await identityKeysFromSeeds(nodeProvider, reopened.seeds, username),
      record,
      certificate: decodeDeviceCertificateExact(nodeProvider, fromB64(staged.certificate)),
      deviceSeed: fromB64(staged.deviceSeed),
    };
    await reopened.store.transaction((tables) => {
      clearOldState(tables);
      storeOwnIdentity(tables, own);
      tables.deleteSecretMeta(PENDING_IDENTITY);
    });
    await writeConfig(reopened.paths, { ...reopened.config, cryptoMode: request.mode });
    const link = await buildRelayLink(reopened, NODE_CLIENT_RUNTIME, own);
    try {
      await maintainPrekeys(nodeProvider, reopened.store, link, { now, forceBundle: true });
    } finally {
      closeRelayLink(link);
    }
  } finally {
    await reopened.close();
  }
  return { username, mode: request.mode, recordVersion: record.recordVersion };
}

/**
 * Publishes the staged record unless the relay already has it (a resumed replacement: then the staged
 * device, certified by the new identity, can log in).
 */
async function publish(
  home: UnlockedHome,
  staged: Staged,
  username: string,
  old: OwnIdentity,
): Promise<void> {
  const stagedOwn: OwnIdentity = {
    keys: await identityKeysFromSeeds(
      nodeProvider,
      decodeIdentitySeeds(nodeProvider, fromB64(staged.seeds)),
      username,
    ),
    record: await decodeIdentityRecordExact(nodeProvider, fromB64(staged.record)),
    certificate: decodeDeviceCertificateExact(nodeProvider, fromB64(staged.certificate)),
    deviceSeed: fromB64(staged.deviceSeed),
  };
  const staging = await buildRelayLink(home, NODE_CLIENT_RUNTIME, stagedOwn);
  try {
    await staging.api.token();
    return;
  } catch (error) {
    // The relay still binds the old record, so it refuses the new device: publish.
    if (!NanoError.is(error, "signature_invalid") && !NanoError.is(error, "certificate_mismatch"))
      throw error;
  } finally {
    closeRelayLink(staging);
  }
  const link = await buildRelayLink(home, NODE_CLIENT_RUNTIME, old);
  try {
    const body: IdentityUpdateRequest = { identity_record: staged.record, signature: staged.signature };
    await requestJson(
      link.api.endpoint,
      {
        method: "PUT",
        path: `/v1/accounts/${encodeURIComponent(username)}/identity`,
        token: await link.api.token(),
        body,
      },
      IdentityUpdateAnswer,
    );
  } finally {
    closeRelayLink(link);
  }
}
