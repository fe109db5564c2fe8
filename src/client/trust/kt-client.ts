import { KeyTransparencyVerifier, type KtVerification } from "../../audit/kt-verifier.ts";
import { parseVerifierKeys } from "../../audit/log-key.ts";
import { utf8 } from "../../crypto/bytes.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import { NanoError } from "../../errors/index.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import type { RelayApi } from "../transport/relay-api.ts";

/**
 * Key transparency as the client runs it (docs/client.md "Key transparency"): every identity record
 * that comes from the relay (account and bundle responses) is checked against the relay's KT log
 * before it is used. The log's verifier keys are pinned on first use and the tracker's newest
 * checkpoint is kept, both sealed in the local database: a relay that later signs with other keys, or
 * shows a tree that does not extend the one this client saw, is caught even across restarts.
 */
const PINNED_KEYS = "kt-log-keys";
const TRACKER_STATE = "kt-tracker-state";

interface PinnedKeys {
  readonly origin: string;
  readonly ed25519: string;
  readonly mlDsa65: string;
}

const text = (bytes: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);

function parsePinned(bytes: Uint8Array): PinnedKeys {
  const value = JSON.parse(text(bytes)) as Partial<PinnedKeys>;
  if (
    typeof value.origin !== "string" ||
    typeof value.ed25519 !== "string" ||
    typeof value.mlDsa65 !== "string"
  )
    throw new NanoError("local_record_tampered", "the pinned key-transparency log keys are malformed");
  return { origin: value.origin, ed25519: value.ed25519, mlDsa65: value.mlDsa65 };
}

/**
 * One per open client (ClientContext.transparency): concurrent sends of one NanoClient share its
 * verifier, so the verifier's tracker serializes them (two verifications against one held checkpoint
 * never race into a false fork).
 */
export class TransparencyClient {
  readonly #store: LocalStoreApi;
  readonly #provider: CryptoProvider;
  #verifier: Promise<KeyTransparencyVerifier> | null = null;

  /** `provider`: the client's (ClientContext.provider); the verifier takes every primitive from it. */
  constructor(store: LocalStoreApi, provider: CryptoProvider) {
    this.#store = store;
    this.#provider = provider;
  }

  #verifierFor(api: RelayApi): Promise<KeyTransparencyVerifier> {
    let verifier = this.#verifier;
    if (verifier === null) {
      verifier = loadVerifier(this.#store, this.#provider, api);
      this.#verifier = verifier;
      // A failed load (relay down on first use) is retried on the next call, not kept.
      verifier.catch(() => {
        if (this.#verifier === verifier) this.#verifier = null;
      });
    }
    return verifier;
  }

  /**
   * Verifies that `identityRecord` is `username`'s binding in the relay's KT log, advancing and
   * persisting the tracker. Throws the verifier's typed errors; log_fork_detected and
   * log_rollback_detected mean the relay showed two histories and must not be trusted any further.
   */
  async verify(
    api: RelayApi,
    username: string,
    identityRecord: Uint8Array,
    transparency: unknown,
  ): Promise<KtVerification> {
    const verifier = await this.#verifierFor(api);
    return verifier.verify(username, identityRecord, transparency, (from, to) => api.ktConsistency(from, to));
  }
}

async function loadVerifier(
  store: LocalStoreApi,
  provider: CryptoProvider,
  api: RelayApi,
): Promise<KeyTransparencyVerifier> {
  const stored = await store.read((tables) => ({
    keys: tables.getSecretMeta(PINNED_KEYS),
    state: tables.getSecretMeta(TRACKER_STATE),
  }));
  let pinned: PinnedKeys;
  if (stored.keys === null) {
    // Trust on first use (docs/api.md "GET /v1/transparency/log-keys"); pin out of band where it matters.
    pinned = await api.ktLogKeys();
    parseVerifierKeys(provider.primitives.sha256, pinned.ed25519, pinned.mlDsa65);
    await store.transaction((tables) => {
      if (tables.getSecretMeta(PINNED_KEYS) === null)
        tables.putSecretMeta(PINNED_KEYS, utf8(JSON.stringify(pinned)));
    });
  } else {
    pinned = parsePinned(stored.keys);
  }
  const key = parseVerifierKeys(provider.primitives.sha256, pinned.ed25519, pinned.mlDsa65);
  // The verifier persists each state as its tracker moves (also when the verification that moved it
  // then fails), so a restart resumes from the newest checkpoint this client has seen.
  return KeyTransparencyVerifier.open(
    provider,
    key,
    stored.state === null ? undefined : text(stored.state),
    (state) => store.transaction((tables) => tables.putSecretMeta(TRACKER_STATE, utf8(state))),
  );
}
