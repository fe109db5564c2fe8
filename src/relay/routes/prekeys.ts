import type { FastifyInstance, FastifyRequest } from "fastify";
import { getSuite } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import type { OneTimePrekey, StoredBundle } from "../../store/types.ts";
import {
  type BundleAnswer,
  type PrekeyCountAnswer,
  type PrekeyUploadAnswer,
  prekeyUploadRequest,
  SUITE_ID_MAX,
} from "../../wire/index.ts";
import { CRYPTO_MODE_RANK } from "../config/schema.ts";
import type { RelayContext } from "../context.ts";
import { oneTimeAllowance } from "../limits/prekey-fairness.ts";
import { requireModeFloor } from "../mode-floor.ts";
import { RateLimitedError } from "../rate-limits.ts";
import { normalizeUsername } from "../usernames.ts";
import { authenticate, decodeBase64, encodeBase64, parseBody } from "./_http.ts";
import { transparencyFields } from "./transparency.ts";

const DAY_MS = 86_400_000;

function checkSuitePolicy(context: RelayContext, suiteId: number, postQuantum: boolean): void {
  const { security } = context.config;
  let suite: ReturnType<typeof getSuite>;
  try {
    suite = getSuite(suiteId);
  } catch {
    throw new NanoError("prekey_upload_invalid", `unknown suite ${suiteId}`);
  }
  requireModeFloor("bundles", suite.name, security.minimum_crypto_mode);
  if (security.require_post_quantum && !postQuantum) {
    throw new NanoError("post_quantum_required", "this relay requires a signed post-quantum prekey");
  }
}

function suiteRank(suite: number): number {
  try {
    return CRYPTO_MODE_RANK[getSuite(suite).name];
  } catch {
    return 0;
  }
}

/** The highest-ranked suite among `suites` (hybrid > quantum > classical), or null when empty. */
export function preferredSuite(suites: readonly number[]): number | null {
  let best: number | null = null;
  for (const suite of suites) if (best === null || suiteRank(suite) > suiteRank(best)) best = suite;
  return best;
}

function suiteWithoutBundle(suite: number): NanoError {
  return new NanoError(
    "one_time_prekey_suite_mismatch",
    `one-time prekeys of suite ${suite} need a bundle of suite ${suite}: upload it first or with them`,
  );
}

declare module "fastify" {
  interface FastifyRequest {
    /** The account whose upload slot this request holds (one upload per account at a time). */
    nanoUploadSlot: string | null;
  }
}

/**
 * One upload per account at a time, decided from the headers: a second one in flight gets 429
 * (retry in a second) before its body — up to a megabyte of JSON — is read or parsed, and before it
 * spends a point of the hourly allowance.
 */
async function takeUploadSlot(context: RelayContext, request: FastifyRequest): Promise<void> {
  const username = request.nanoUsername;
  if (username === null) return;
  if (!context.bounds.uploads.acquire(username)) throw new RateLimitedError("prekey_upload", 1);
  request.nanoUploadSlot = username;
  // Whatever ends the request (answer, timeout, abort) frees the slot.
  request.raw.once("close", () => releaseUploadSlot(context, request));
  try {
    await context.limits.consume("prekey_upload", username);
  } catch (error) {
    releaseUploadSlot(context, request);
    throw error;
  }
}

function releaseUploadSlot(context: RelayContext, request: FastifyRequest): void {
  if (request.nanoUploadSlot === null) return;
  context.bounds.uploads.release(request.nanoUploadSlot);
  request.nanoUploadSlot = null;
}

/** prekey_stock_full when the upload would leave the account more one-time keys than the cap. */
async function checkStock(
  context: RelayContext,
  username: string,
  bundles: readonly StoredBundle[],
  adding: number,
): Promise<void> {
  if (adding === 0) return;
  const cap = context.config.limits.max_one_time_prekeys;
  let stock = 0;
  for (const bundle of bundles)
    stock += await context.store.prekeys.countOneTimePrekeys(username, bundle.suite);
  if (stock + adding > cap) {
    throw new NanoError(
      "prekey_stock_full",
      `the relay holds ${stock} one-time prekeys of yours and keeps at most ${cap}: upload at most ${Math.max(0, cap - stock)}`,
    );
  }
}

/**
 * The bundle of `suite`, with a one-time key only within the fairness allowance (else the signed
 * last-resort key alone). When a key was taken and the stock is now low, the owner's sockets are told.
 */
async function takeFairly(
  context: RelayContext,
  requester: string,
  target: string,
  suite: number,
): Promise<{ bundle: StoredBundle; oneTime: OneTimePrekey | null } | null> {
  const { store } = context;
  const allowance = await oneTimeAllowance(context.limits, requester, target);
  if (!allowance.granted) {
    const bundle = await store.prekeys.getBundle(target, suite);
    return bundle === null ? null : { bundle, oneTime: null };
  }
  const taken = await store.prekeys.takeBundle(target, suite);
  if (taken === null || taken.oneTime === null) {
    await allowance.release();
    return taken;
  }
  const left = await store.prekeys.countOneTimePrekeys(target, suite);
  if (left <= context.config.limits.low_prekeys_threshold) context.hub.lowPrekeys(target, suite, left);
  return taken;
}

export function prekeyRoutes(app: FastifyInstance, context: RelayContext): void {
  app.decorateRequest("nanoUploadSlot", null);
  const maxKeys = context.config.limits.max_prekeys_per_upload;
  const UploadRequest = prekeyUploadRequest(maxKeys);
  app.put(
    "/v1/prekeys",
    {
      // Every upload's signatures are verified: limited per account, and refused while the relay is
      // over its memory budget, both before the (up to megabyte) body is read.
      onRequest: async (request) => {
        context.bounds.memory.admit("upload");
        await takeUploadSlot(context, request);
      },
      onResponse: async (request) => releaseUploadSlot(context, request),
      // Many one-time PQ prekeys with their signatures: sized for max_prekeys_per_upload ML-KEM keys.
      bodyLimit: 64_000 + maxKeys * 16_384,
    },
    async (request): Promise<PrekeyUploadAnswer> => {
      const body = parseBody(UploadRequest, request.body);
      const username = await authenticate(context, request);
      const account = await context.store.accounts.get(username);
      if (account === null) throw new NanoError("account_not_found", "your account no longer exists");
      const bundle = body.bundle === undefined ? null : decodeBase64(body.bundle, "bundle");
      const oneTime = (body.one_time_prekeys ?? []).map((key, i) =>
        decodeBase64(key, `one_time_prekeys[${i}]`),
      );
      // The stock cap is checked before a single signature is: counting rows is cheap, verifying
      // hundreds of ML-KEM keys is not.
      const stored = await context.store.prekeys.listBundles(username);
      await checkStock(context, username, stored, oneTime.length);
      const now = context.clock.now();
      const inspected = await context.verify.inspectPrekeyUpload({
        bundle,
        oneTimePrekeys: oneTime,
        identityRecord: account.identityRecord,
        now,
      });
      if (inspected.bundle !== null)
        checkSuitePolicy(context, inspected.bundle.suite, inspected.bundle.postQuantum);
      // One-time keys belong to one suite and are only ever handed out with that suite's bundle
      // (docs/protocol.md §6.4): each key's suite must have a bundle, in this upload or stored.
      const keysBySuite = new Map<number, { id: string; prekey: Uint8Array }[]>();
      for (const key of inspected.oneTimePrekeys) {
        const group = keysBySuite.get(key.suite) ?? [];
        group.push({ id: key.id, prekey: key.prekey });
        keysBySuite.set(key.suite, group);
      }
      const bundleSuites = new Set(stored.map((entry) => entry.suite));
      if (inspected.bundle !== null) bundleSuites.add(inspected.bundle.suite);
      if (bundleSuites.size === 0) {
        throw new NanoError("prekeys_not_found", "upload a signed bundle before one-time prekeys");
      }
      for (const suite of keysBySuite.keys()) {
        if (!bundleSuites.has(suite)) throw suiteWithoutBundle(suite);
      }
      if (inspected.bundle !== null) {
        await context.store.prekeys.putBundle(username, {
          suite: inspected.bundle.suite,
          bundle: inspected.bundle.bundle,
          lastResort: inspected.bundle.lastResortPrekey,
          signedPrekeyCreatedAt: inspected.bundle.signedPrekeyCreatedAt,
          uploadedAt: now,
        });
      }
      const touched = new Set(keysBySuite.keys());
      if (inspected.bundle !== null) touched.add(inspected.bundle.suite);
      const bySuite: Record<string, number> = {};
      for (const suite of [...touched].sort((a, b) => a - b)) {
        const keys = keysBySuite.get(suite) ?? [];
        const count =
          keys.length === 0
            ? await context.store.prekeys.countOneTimePrekeys(username, suite)
            : await context.store.prekeys.addOneTimePrekeys(username, suite, keys);
        // null: the bundle vanished since the check (an identity update deleted it): nothing stored.
        if (count === null) throw suiteWithoutBundle(suite);
        bySuite[String(suite)] = count;
      }
      context.audit.record({ type: "prekeys_uploaded", username, at: now, correlationId: request.id });
      const oneTimeCount = Object.values(bySuite).reduce((sum, n) => sum + n, 0);
      // `one_time_count` predates per-suite prekeys: for the usual single-suite upload it is that
      // suite's count; `one_time_counts` names each suite the upload touched.
      return { one_time_count: oneTimeCount, one_time_counts: bySuite };
    },
  );

  app.get("/v1/prekeys", async (request): Promise<PrekeyCountAnswer> => {
    const username = await authenticate(context, request);
    const now = context.clock.now();
    const bundles = await context.store.prekeys.listBundles(username);
    const suites = [];
    for (const bundle of bundles) {
      const ageDays = (now - bundle.signedPrekeyCreatedAt) / DAY_MS;
      suites.push({
        suite: bundle.suite,
        one_time_count: await context.store.prekeys.countOneTimePrekeys(username, bundle.suite),
        signed_prekey_age_days: Math.floor(ageDays),
        // The owner rotates when this is true; the relay keeps serving the old key meanwhile.
        rotation_due: ageDays >= context.config.security.key_rotation_days,
      });
    }
    const preferred = preferredSuite(bundles.map((bundle) => bundle.suite));
    const top = suites.find((entry) => entry.suite === preferred);
    // The top-level fields predate per-suite bundles: they describe the suite a fetch without
    // `?suite=` serves (the highest-ranked one present), so older clients keep working.
    return {
      has_bundle: top !== undefined,
      suite: top?.suite ?? null,
      one_time_count: top?.one_time_count ?? 0,
      signed_prekey_age_days: top?.signed_prekey_age_days ?? null,
      rotation_due: top?.rotation_due ?? false,
      suites,
    };
  });

  app.get<{ Params: { username: string }; Querystring: { suite?: number } }>(
    "/v1/prekeys/:username",
    {
      schema: {
        querystring: {
          type: "object",
          properties: { suite: { type: "integer", minimum: 0, maximum: SUITE_ID_MAX } },
        },
      },
    },
    async (request): Promise<BundleAnswer> => {
      const requester = await authenticate(context, request);
      const target = normalizeUsername(request.params.username);
      const asked = request.query.suite;
      if (asked !== undefined) getSuite(asked); // unknown_suite before any limit is charged
      // The requester's own rate is the one hard limit; the target's stock is guarded by soft limits
      // that never refuse (limits/prekey-fairness.ts).
      await context.limits.consume("bundle_requester", requester);
      // Proven before a one-time key is consumed, so a failure here never burns one.
      const transparency = await transparencyFields(context, target);
      // The initiator asks for the suite chooseSuite picked (protocol.md §11.3). Without `suite`, the
      // owner's highest-ranked bundle present is served (the pre-per-suite behaviour for one bundle).
      const suite =
        asked ??
        preferredSuite((await context.store.prekeys.listBundles(target)).map((bundle) => bundle.suite));
      const taken = suite === null ? null : await takeFairly(context, requester, target, suite);
      if (taken === null) {
        throw new NanoError(
          "prekeys_not_found",
          asked === undefined
            ? "this user has no prekey bundle"
            : `this user has no bundle of suite ${asked}`,
        );
      }
      return {
        username: target,
        suite: taken.bundle.suite,
        bundle: encodeBase64(taken.bundle.bundle),
        one_time_prekey: taken.oneTime === null ? null : encodeBase64(taken.oneTime.prekey),
        last_resort_prekey: encodeBase64(taken.bundle.lastResort),
        // Proof that this user's current identity binding is in the key-transparency log.
        transparency,
      };
    },
  );
}
