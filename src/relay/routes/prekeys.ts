import type { FastifyInstance } from "fastify";
import { getSuite } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { CRYPTO_MODE_RANK } from "../config/schema.ts";
import type { RelayContext } from "../context.ts";
import { normalizeUsername } from "../usernames.ts";
import { authenticate, decodeBase64, encodeBase64 } from "./_http.ts";
import { transparencyFields } from "./transparency.ts";

const DAY_MS = 86_400_000;

interface UploadBody {
  bundle?: string;
  one_time_prekeys?: string[];
}

function checkSuitePolicy(context: RelayContext, suiteId: number, postQuantum: boolean): void {
  const { security } = context.config;
  let suite: ReturnType<typeof getSuite>;
  try {
    suite = getSuite(suiteId);
  } catch {
    throw new NanoError("prekey_upload_invalid", `unknown suite ${suiteId}`);
  }
  if (CRYPTO_MODE_RANK[suite.name] < CRYPTO_MODE_RANK[security.minimum_crypto_mode]) {
    throw new NanoError(
      "suite_below_minimum",
      `${suite.name} bundles are below this relay's minimum (${security.minimum_crypto_mode})`,
    );
  }
  if (security.require_post_quantum && !postQuantum) {
    throw new NanoError("post_quantum_required", "this relay requires a signed post-quantum prekey");
  }
}

export function prekeyRoutes(app: FastifyInstance, context: RelayContext): void {
  const maxKeys = context.config.limits.max_prekeys_per_upload;
  app.put<{ Body: UploadBody }>(
    "/v1/prekeys",
    {
      // Many one-time PQ prekeys with their signatures: sized for max_prekeys_per_upload ML-KEM keys.
      bodyLimit: 64_000 + maxKeys * 16_384,
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: {
            bundle: { type: "string", minLength: 1, maxLength: 65_536 },
            one_time_prekeys: {
              type: "array",
              maxItems: maxKeys,
              items: { type: "string", minLength: 1, maxLength: 16_384 },
            },
          },
        },
      },
    },
    async (request) => {
      const username = await authenticate(context, request);
      const account = await context.store.accounts.get(username);
      if (account === null) throw new NanoError("account_not_found", "your account no longer exists");
      const bundle = request.body.bundle === undefined ? null : decodeBase64(request.body.bundle, "bundle");
      const oneTime = (request.body.one_time_prekeys ?? []).map((key, i) =>
        decodeBase64(key, `one_time_prekeys[${i}]`),
      );
      const now = context.clock.now();
      const inspected = context.verifier.inspectPrekeyUpload({
        bundle,
        oneTimePrekeys: oneTime,
        identityRecord: account.identityRecord,
        now,
      });
      if (inspected.bundle !== null)
        checkSuitePolicy(context, inspected.bundle.suite, inspected.bundle.postQuantum);
      const current = inspected.bundle ?? (await context.store.prekeys.getBundle(username));
      if (current === null) {
        throw new NanoError("prekeys_not_found", "upload a signed bundle before one-time prekeys");
      }
      for (const key of inspected.oneTimePrekeys) {
        if (key.suite !== current.suite) {
          throw new NanoError("prekey_upload_invalid", "one-time prekeys must match the bundle's suite");
        }
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
      const count = await context.store.prekeys.addOneTimePrekeys(
        username,
        inspected.oneTimePrekeys.map((key) => ({ id: key.id, prekey: key.prekey })),
      );
      context.audit.record({ type: "prekeys_uploaded", username, at: now, correlationId: request.id });
      return { one_time_count: count };
    },
  );

  app.get("/v1/prekeys", async (request) => {
    const username = await authenticate(context, request);
    const bundle = await context.store.prekeys.getBundle(username);
    const count = await context.store.prekeys.countOneTimePrekeys(username);
    const ageDays = bundle === null ? null : (context.clock.now() - bundle.signedPrekeyCreatedAt) / DAY_MS;
    return {
      has_bundle: bundle !== null,
      one_time_count: count,
      signed_prekey_age_days: ageDays === null ? null : Math.floor(ageDays),
      // The owner rotates when this is true; the relay keeps serving the old key meanwhile.
      rotation_due: ageDays !== null && ageDays >= context.config.security.key_rotation_days,
    };
  });

  app.get<{ Params: { username: string } }>("/v1/prekeys/:username", async (request) => {
    const requester = await authenticate(context, request);
    const target = normalizeUsername(request.params.username);
    await context.limits.consume("bundle_requester", requester);
    await context.limits.consume("bundle_target", target);
    // Proven before a one-time key is consumed, so a failure here never burns one.
    const transparency = await transparencyFields(context, target);
    const taken = await context.store.prekeys.takeBundle(target);
    if (taken === null) throw new NanoError("prekeys_not_found", "this user has no prekey bundle");
    return {
      username: target,
      suite: taken.bundle.suite,
      bundle: encodeBase64(taken.bundle.bundle),
      one_time_prekey: taken.oneTime === null ? null : encodeBase64(taken.oneTime.prekey),
      last_resort_prekey: encodeBase64(taken.bundle.lastResort),
      // Proof that this user's current identity binding is in the key-transparency log.
      transparency,
    };
  });
}
