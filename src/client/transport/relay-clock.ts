import { NanoError } from "../../errors/index.ts";
import { humanDuration } from "../../text/human-duration.ts";
import { type RelayEndpoint, requestRaw } from "./relay-request.ts";

/**
 * Whether this computer's clock is why the relay refused the device certificate (issue 14: a home
 * made with the clock a day fast was broken for good, with no word about the clock). The relay's own
 * time comes from the Date header of its health endpoint (one-second resolution, no authentication);
 * beyond CLOCK_TOLERANCE_MS apart, the clock is named as the cause.
 */
/**
 * What the explanation reads of a device certificate (protocol/device-certificate.ts): its validity,
 * by structure, so this module — which the browser app bundles — does not reach src/protocol.
 */
export interface CertificateValidity {
  readonly created: number;
  readonly expires: number;
}

export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** The relay's clock as its Date header states it, or null when it sent none that parses. */
export async function relayTime(endpoint: RelayEndpoint): Promise<number | null> {
  const { headers } = await requestRaw(endpoint, { method: "GET", path: "/healthz" });
  const header = headers.date;
  const date = Date.parse(typeof header === "string" ? header : "");
  return Number.isFinite(date) ? date : null;
}

/**
 * The relay's Date beside this computer's clock at the middle of the round trip (on a loaded machine
 * the request takes seconds), or null when the relay sent no Date that parses.
 */
async function readClocks(endpoint: RelayEndpoint): Promise<{ relayNow: number; localNow: number } | null> {
  const before = Date.now();
  const relayNow = await relayTime(endpoint);
  return relayNow === null ? null : { relayNow, localNow: (before + Date.now()) / 2 };
}

const minute = (time: number) => new Date(time).toISOString().replace(/:\d\d\.\d+Z$/, "Z");

/**
 * The error to report for a `certificate_expired` answer: `clock_skew` when the clocks differ, else
 * what is wrong with the certificate as the relay's clock sees it (made for the future, or expired),
 * with `renew-device` as the way out. `refused` is returned when neither explains it.
 */
export async function explainCertificateRefusal(
  endpoint: RelayEndpoint,
  certificate: CertificateValidity,
  refused: NanoError,
): Promise<NanoError> {
  let clocks: Awaited<ReturnType<typeof readClocks>>;
  try {
    clocks = await readClocks(endpoint);
  } catch {
    return refused;
  }
  if (clocks === null) return refused;
  const { relayNow, localNow } = clocks;
  const skew = localNow - relayNow;
  if (Math.abs(skew) > CLOCK_TOLERANCE_MS) {
    return new NanoError(
      "clock_skew",
      `this computer's clock is ${humanDuration(skew)} ${skew > 0 ? "ahead of" : "behind"} the relay's (here ${minute(localNow)}, relay ${minute(relayNow)}); the relay refused the device certificate`,
      { cause: refused },
    );
  }
  if (certificate.created > relayNow) {
    return new NanoError(
      "certificate_not_yet_valid",
      `this device's certificate starts ${minute(certificate.created)}, ${humanDuration(certificate.created - relayNow)} in the future: it was made while this computer's clock was ahead`,
      { cause: refused },
    );
  }
  if (certificate.expires <= relayNow) {
    return new NanoError(
      "certificate_expired",
      `this device's certificate expired ${minute(certificate.expires)}`,
      { cause: refused },
    );
  }
  return refused;
}

/**
 * The relay's clock minus this computer's, in ms (0 within the Date header's one-second resolution);
 * null when the relay cannot be asked or sends no Date. For a message that failed for a time reason
 * (receive.ts): the user is told whose clock is off.
 */
export async function relayClockSkew(endpoint: RelayEndpoint): Promise<number | null> {
  let clocks: Awaited<ReturnType<typeof readClocks>>;
  try {
    clocks = await readClocks(endpoint);
  } catch (error) {
    if (NanoError.is(error)) return null;
    throw error;
  }
  if (clocks === null) return null;
  const skew = clocks.relayNow - clocks.localNow;
  return Math.abs(skew) < 2_000 ? 0 : Math.round(skew);
}
