import { createDevice } from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import {
  deviceValidFrom,
  loadOwnIdentity,
  requireOwnIdentity,
  storeOwnIdentity,
} from "../home/local-identity.ts";

export interface RenewDeviceResult {
  readonly username: string;
  /** The new certificate's validity (ISO 8601). */
  readonly validFrom: string;
  readonly validUntil: string;
}

/**
 * `renew-device`: a new device key, certified now by the identity key of the same suite, replaces the
 * stored one (docs/client.md). For a certificate that starts in the future (made while the clock was
 * fast) or has expired: the relay checks each login's certificate against the identity record, so
 * nothing at the relay changes, and the identity, contacts and sessions stay as they are.
 */
export async function renewDevice(context: ClientContext, now = Date.now()): Promise<RenewDeviceResult> {
  const home = context.home;
  const own = requireOwnIdentity(await loadOwnIdentity(context.provider, home.store, home.seeds));
  const { deviceKey, certificate } = await createDevice(context.provider, own.keys, own.certificate.suite, {
    created: deviceValidFrom(now),
    deviceId: own.certificate.deviceId,
  });
  const renewed = { ...own, certificate, deviceSeed: deviceKey.seed };
  await home.store.transaction((tables) => storeOwnIdentity(tables, renewed));
  // The link holds the old device: the next command on this client logs in with the new one.
  context.retireLink();
  return {
    username: renewed.record.username,
    validFrom: new Date(renewed.certificate.created).toISOString(),
    validUntil: new Date(renewed.certificate.expires).toISOString(),
  };
}
