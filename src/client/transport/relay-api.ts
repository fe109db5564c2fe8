import type { z } from "zod";
import { NanoError } from "../../errors/index.ts";
import { signAccountDeletion, signDeviceChallenge, signUsernameClaim } from "../../protocol/index.ts";
import {
  AccountAnswer,
  type AccountDeleteRequest,
  AckAnswer,
  type AckRequest,
  AttachmentUploadAnswer,
  BundleAnswer,
  ChallengeAnswer,
  type ChallengeRequest,
  ClaimAnswer,
  type ClaimRequest,
  ConsistencyAnswer,
  LogKeysAnswer,
  MAX_ACK_IDS,
  MESSAGE_PAGE,
  MessagesAnswer,
  NoContent,
  PrekeyCountAnswer,
  PrekeyUploadAnswer,
  type PrekeyUploadRequest,
  SendAnswer,
  type SendRequest,
  TokenAnswer,
  type TokenRequest,
  type WireMessage,
} from "../../wire/index.ts";
import type { OwnIdentity } from "../home/local-identity.ts";
import { type RelayBase64, relayBase64 } from "./base64.ts";
import { explainCertificateRefusal } from "./relay-clock.ts";
import {
  malformedAnswer,
  type RelayEndpoint,
  readAnswer,
  requestJson,
  requestRaw,
  requestStream,
  type StreamedAnswer,
} from "./relay-request.ts";

/**
 * The relay's HTTP API (docs/api.md) as typed calls. Binary values are standard base64. Request
 * bodies are built as the wire contract's types and every answer is parsed with its schema
 * (src/wire): what reaches the caller has the shape the contract says. The bearer token is obtained
 * by the device key's challenge-response and kept in memory only: a token on disk would be a
 * credential in a stolen home.
 */

export interface RelayMessage {
  readonly id: number;
  readonly from: string;
  readonly envelope: Uint8Array;
  readonly sentAt: number;
}

/** A message as the wire carries it (push or poll), with its envelope strictly decoded. */
export function fromWireMessage(message: WireMessage, base64: RelayBase64): RelayMessage {
  return {
    id: message.id,
    from: message.from,
    envelope: base64.decode(message.envelope),
    sentAt: message.sent_at,
  };
}

export interface FetchedBundle {
  readonly suite: number;
  readonly bundle: Uint8Array;
  readonly oneTimePrekey: Uint8Array | null;
  /** The key-transparency proof as received (untrusted JSON; null when the relay has none). */
  readonly transparency: unknown;
}

export interface SuitePrekeyCount {
  readonly suite: number;
  readonly oneTimeCount: number;
  readonly rotationDue: boolean;
}

export interface PrekeyCount {
  readonly hasBundle: boolean;
  readonly oneTimeCount: number;
  readonly rotationDue: boolean;
  /** One entry per suite the relay holds a bundle of (docs/api.md "GET /v1/prekeys"). */
  readonly suites: readonly SuitePrekeyCount[];
}

/**
 * The relay's answers to a login that a wrong clock can cause: outside the certificate's validity by
 * the relay's clock (a protocol that tells "not yet valid" apart answers with that code).
 */
const CLOCK_REFUSALS: ReadonlySet<string> = new Set(["certificate_expired", "certificate_not_yet_valid"]);

export class RelayApi {
  readonly endpoint: RelayEndpoint;
  /** The API's binary values, in the transport's codec, strictly decoded. */
  readonly #base64: RelayBase64;
  readonly #own: OwnIdentity;
  #token: { value: string; expiresAt: number } | null = null;

  constructor(endpoint: RelayEndpoint, own: OwnIdentity) {
    this.endpoint = endpoint;
    this.#base64 = relayBase64(endpoint.transport.base64);
    this.#own = own;
  }

  get username(): string {
    return this.#own.record.username;
  }

  async #challenge(purpose: "claim" | "auth"): Promise<Uint8Array> {
    const body: ChallengeRequest = { purpose, username: this.username };
    const answer = await requestJson(
      this.endpoint,
      { method: "POST", path: "/v1/challenges", body },
      ChallengeAnswer,
    );
    return this.#base64.decode(answer.challenge);
  }

  /** Claims the username with proof of possession of every identity key. Idempotent for the same IR. */
  async claim(): Promise<{ created: boolean }> {
    const challenge = await this.#challenge("claim");
    const signature = await signUsernameClaim(this.#own.keys, this.#own.record, challenge);
    const body: ClaimRequest = {
      username: this.username,
      identity_record: this.#base64.encode(this.#own.record.encoded),
      challenge: this.#base64.encode(challenge),
      signature: this.#base64.encode(signature),
    };
    const answer = await requestJson(
      this.endpoint,
      { method: "POST", path: "/v1/accounts", body },
      ClaimAnswer,
    );
    return { created: answer.created };
  }

  /** Drops the cached token (the relay refused it: restarted, revoked), so the next call logs in again. */
  forgetToken(): void {
    this.#token = null;
  }

  /** A bearer token, renewed a minute before it expires. */
  async token(now = Date.now()): Promise<string> {
    if (this.#token !== null && this.#token.expiresAt - 60_000 > now) return this.#token.value;
    const challenge = await this.#challenge("auth");
    const { certificate, deviceSeed } = this.#own;
    const signature = await signDeviceChallenge(certificate.suite, deviceSeed, this.username, challenge);
    let answer: TokenAnswer;
    const body: TokenRequest = {
      username: this.username,
      challenge: this.#base64.encode(challenge),
      device_certificate: this.#base64.encode(certificate.encoded),
      signature: this.#base64.encode(signature),
    };
    try {
      answer = await requestJson(
        this.endpoint,
        { method: "POST", path: "/v1/auth/token", body },
        TokenAnswer,
      );
    } catch (error) {
      // The relay judged the certificate by its clock: say whether ours is the cause.
      if (NanoError.is(error) && CLOCK_REFUSALS.has(error.code))
        throw await explainCertificateRefusal(this.endpoint, certificate, error);
      throw error;
    }
    this.#token = { value: answer.token, expiresAt: answer.expires_at };
    return answer.token;
  }

  async #authed<T>(
    method: "GET" | "POST" | "PUT",
    path: string,
    answer: z.ZodType<T>,
    body?: unknown,
  ): Promise<T> {
    const token = await this.token();
    try {
      return await requestJson(
        this.endpoint,
        { method, path, token, ...(body === undefined ? {} : { body }) },
        answer,
      );
    } catch (error) {
      // A relay restart or a revoked token: log in once more, then give up with the relay's error.
      if (!NanoError.is(error, "unauthenticated") && !NanoError.is(error, "token_expired")) throw error;
      this.#token = null;
      return requestJson(
        this.endpoint,
        { method, path, token: await this.token(), ...(body === undefined ? {} : { body }) },
        answer,
      );
    }
  }

  /**
   * Deletes this account at the relay (docs/api.md `DELETE /v1/accounts/:username`): the token AND every
   * identity key's signature over a fresh challenge, so the relay erases only on the owner's word.
   */
  async deleteAccount(): Promise<void> {
    const token = await this.token();
    const challenge = await this.#challenge("auth");
    const signature = await signAccountDeletion(this.#own.keys, this.#own.record, challenge);
    const body: AccountDeleteRequest = {
      challenge: this.#base64.encode(challenge),
      signature: this.#base64.encode(signature),
    };
    await requestJson(
      this.endpoint,
      { method: "DELETE", path: `/v1/accounts/${encodeURIComponent(this.username)}`, token, body },
      NoContent,
    );
    this.#token = null;
  }

  async uploadPrekeys(bundle: Uint8Array | null, oneTime: readonly Uint8Array[]): Promise<number> {
    const body: PrekeyUploadRequest = {
      ...(bundle === null ? {} : { bundle: this.#base64.encode(bundle) }),
      ...(oneTime.length === 0 ? {} : { one_time_prekeys: oneTime.map(this.#base64.encode) }),
    };
    const answer = await this.#authed("PUT", "/v1/prekeys", PrekeyUploadAnswer, body);
    return answer.one_time_count;
  }

  async prekeyCount(): Promise<PrekeyCount> {
    const answer = await this.#authed("GET", "/v1/prekeys", PrekeyCountAnswer);
    return {
      hasBundle: answer.has_bundle,
      oneTimeCount: answer.one_time_count,
      rotationDue: answer.rotation_due,
      suites: (answer.suites ?? []).map((entry) => ({
        suite: entry.suite,
        oneTimeCount: entry.one_time_count,
        rotationDue: entry.rotation_due,
      })),
    };
  }

  /** `suite`: the id chooseSuite picked; without it the relay serves the owner's highest-ranked bundle. */
  async fetchBundle(username: string, suite?: number): Promise<FetchedBundle> {
    const query = suite === undefined ? "" : `?suite=${suite}`;
    const answer = await this.#authed(
      "GET",
      `/v1/prekeys/${encodeURIComponent(username)}${query}`,
      BundleAnswer,
    );
    return {
      suite: answer.suite,
      bundle: this.#base64.decode(answer.bundle),
      oneTimePrekey: answer.one_time_prekey === null ? null : this.#base64.decode(answer.one_time_prekey),
      transparency: answer.transparency ?? null,
    };
  }

  async identityRecord(username: string): Promise<Uint8Array> {
    return (await this.account(username)).identityRecord;
  }

  /** The current identity record and its key-transparency proof (untrusted until verified). */
  async account(username: string): Promise<{ identityRecord: Uint8Array; transparency: unknown }> {
    const answer = await this.#authed("GET", `/v1/accounts/${encodeURIComponent(username)}`, AccountAnswer);
    return {
      identityRecord: this.#base64.decode(answer.identity_record),
      transparency: answer.transparency ?? null,
    };
  }

  /** The key-transparency log's signed-note verifier keys (public; docs/api.md "Transparency"). */
  async ktLogKeys(): Promise<{ origin: string; ed25519: string; mlDsa65: string }> {
    const { kt } = await requestJson(
      this.endpoint,
      { method: "GET", path: "/v1/transparency/log-keys" },
      LogKeysAnswer,
    );
    if (kt === undefined)
      throw new NanoError("kt_proof_missing", "the relay publishes no key-transparency log keys");
    return { origin: kt.origin, ed25519: kt.verifier_keys[0], mlDsa65: kt.verifier_keys[1] };
  }

  /** PROOF(from, to) of the key-transparency log (RFC 9162), as raw 32-byte hashes. */
  async ktConsistency(from: number, to: number): Promise<Uint8Array[]> {
    const { proof } = await requestJson(
      this.endpoint,
      { method: "GET", path: `/v1/transparency/kt/consistency?from=${from}&to=${to}` },
      ConsistencyAnswer,
    );
    return proof.map(this.#base64.decode);
  }

  /** Resolves only after the relay durably stored the message (docs/api.md). */
  async send(to: string, clientMessageId: string, envelope: Uint8Array): Promise<{ serverId: number }> {
    const body: SendRequest = {
      to,
      client_message_id: clientMessageId,
      envelope: this.#base64.encode(envelope),
    };
    const answer = await this.#authed("POST", "/v1/messages", SendAnswer, body);
    return { serverId: answer.server_id };
  }

  async fetchMessages(after: number, limit: number = MESSAGE_PAGE.default): Promise<RelayMessage[]> {
    const answer = await this.#authed("GET", `/v1/messages?after=${after}&limit=${limit}`, MessagesAnswer);
    // More than asked for is a relay that ignores the request: refused like any malformed answer.
    if (answer.messages.length > limit)
      throw malformedAnswer("/v1/messages", `${answer.messages.length} messages for a limit of ${limit}`);
    return answer.messages.map((message) => fromWireMessage(message, this.#base64));
  }

  /** Acknowledges relay message ids, MAX_ACK_IDS per request. */
  async ack(ids: readonly number[]): Promise<void> {
    for (let start = 0; start < ids.length; start += MAX_ACK_IDS) {
      const body: AckRequest = { ids: ids.slice(start, start + MAX_ACK_IDS) };
      await this.#authed("POST", "/v1/messages/ack", AckAnswer, body);
    }
  }

  /** Uploads an encrypted blob under the hex BLAKE2b-512 of its bytes; only `recipients` may fetch it. */
  /** `ciphertext` may be the sealer's pieces: they go out in order, never concatenated. */
  async uploadAttachment(
    hashHex: string,
    recipients: readonly string[],
    ciphertext: Uint8Array | readonly Uint8Array[],
    onProgress?: (sent: number, total: number) => void,
  ): Promise<void> {
    const query = recipients.map(encodeURIComponent).join(",");
    const path = `/v1/attachments/${hashHex}?recipients=${query}`;
    const raw = await requestRaw(this.endpoint, {
      method: "PUT",
      path,
      token: await this.token(),
      body: ciphertext,
      ...(onProgress === undefined ? {} : { onUpload: onProgress }),
    });
    const stored = readAnswer(path, raw, AttachmentUploadAnswer);
    if (stored.hash !== hashHex)
      throw malformedAnswer(path, "the relay stored the upload under another hash");
  }

  /**
   * Opens the blob as a stream once the relay answered 200 (its typed error otherwise). The bytes are
   * the relay's word only: the caller verifies them against the reference as they arrive.
   */
  async downloadAttachment(
    hashHex: string,
    onProgress?: (received: number, total: number | null) => void,
  ): Promise<StreamedAnswer> {
    return requestStream(this.endpoint, {
      method: "GET",
      path: `/v1/attachments/${hashHex}`,
      token: await this.token(),
      ...(onProgress === undefined ? {} : { onDownload: onProgress }),
    });
  }
}
