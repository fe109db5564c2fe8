import type { FastifyInstance } from "fastify";
import { NanoError } from "../../errors/index.ts";
import type { ConsistencyAnswer, LogKeysAnswer, TransparencyProof } from "../../wire/index.ts";
import { LOG_IDS, type LogId, publishedVerifierKeys } from "../audit-log-key.ts";
import type { RelayContext } from "../context.ts";
import { encodeBase64 } from "./_http.ts";

/**
 * The proof that `username`'s newest binding is in the key-transparency log, at a signed checkpoint
 * that covers it (signed on demand if the latest does not). Null when the relay runs without logs or
 * the binding was erased.
 */
export async function transparencyFields(
  context: RelayContext,
  username: string,
): Promise<TransparencyProof | null> {
  const proof = await context.transparency?.ktProof(username);
  if (proof === undefined) return null;
  return {
    log_index: proof.index,
    leaf: encodeBase64(proof.leaf),
    username_salt: encodeBase64(proof.usernameSalt),
    inclusion_proof: proof.inclusionProof.map(encodeBase64),
    tree_size: proof.checkpoint.size,
    checkpoint: proof.checkpoint.note,
  };
}

const SIZE = { type: "string", pattern: "^(0|[1-9][0-9]{0,15})$" } as const;

function logParam(value: string): LogId {
  if (!(LOG_IDS as readonly string[]).includes(value))
    throw new NanoError(
      "route_not_found",
      `no log ${JSON.stringify(value.slice(0, 16))}; logs are audit and kt`,
    );
  return value as LogId;
}

/**
 * Public, unauthenticated: verifier keys, the latest checkpoints and consistency proofs reveal nothing
 * about users (roots are hashes over salted commitments) and monitors must be able to read them.
 */
export function transparencyRoutes(app: FastifyInstance, context: RelayContext): void {
  const transparency = context.transparency;
  if (transparency === undefined) return;
  app.get("/v1/transparency/log-keys", async (): Promise<LogKeysAnswer> => {
    const vkeys = publishedVerifierKeys(transparency.key);
    return {
      audit: { origin: transparency.key.verifier.audit.name, verifier_keys: vkeys.audit },
      kt: { origin: transparency.key.verifier.kt.name, verifier_keys: vkeys.kt },
    };
  });
  app.get<{ Params: { log: string } }>("/v1/transparency/:log/checkpoint", async (request) => {
    const logId = logParam(request.params.log);
    const checkpoint = (await transparency.latestCheckpoint(logId)) ?? (await transparency.checkpoint(logId));
    return {
      log: logId,
      tree_size: checkpoint.size,
      issued_at: checkpoint.issuedAt,
      checkpoint: checkpoint.note,
    };
  });
  app.get<{ Params: { log: string }; Querystring: { from: string; to: string } }>(
    "/v1/transparency/:log/consistency",
    {
      schema: {
        querystring: {
          type: "object",
          required: ["from", "to"],
          additionalProperties: false,
          properties: { from: SIZE, to: SIZE },
        },
      },
    },
    async (request): Promise<ConsistencyAnswer> => {
      const logId = logParam(request.params.log);
      const from = Number(request.query.from);
      const to = Number(request.query.to);
      // Only sizes the relay has signed: a proof to an unsigned size commits the relay to nothing.
      const latest = await transparency.latestCheckpoint(logId);
      if (latest === undefined || to > latest.size)
        throw new NanoError("log_index_out_of_range", `size ${to} is beyond the latest checkpoint`);
      const proof = await transparency.consistency(logId, from, to);
      return { log: logId, from, to, proof: proof.map(encodeBase64) };
    },
  );
}
