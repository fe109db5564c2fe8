import { NanoError } from "../errors/index.ts";
import type { ProtocolVerifier } from "./protocol-verifier.ts";

/**
 * The verifier used until src/protocol's implementation is wired in (at merge): it fails closed, so a
 * relay started from this build serves health, metrics and polling but accepts no claim, login,
 * bundle or envelope it cannot check.
 */
function unwired(): never {
  throw new NanoError("internal_error", "the protocol verifier is not wired into this build");
}

export const unwiredVerifier: ProtocolVerifier = Object.freeze({
  verifyIdentityRecord: unwired,
  verifyUsernameClaim: unwired,
  verifyIdentityUpdate: unwired,
  verifyDeviceCertificate: unwired,
  verifyChallengeResponse: unwired,
  inspectPrekeyUpload: unwired,
  inspectEnvelope: unwired,
});
