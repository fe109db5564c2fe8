import type { SuiteName } from "../../crypto/index.ts";
import { deviceFingerprint, identityFingerprint, type UnlockedHome } from "../unlocked-home.ts";

export interface StatusReport {
  readonly home: string;
  readonly mode: SuiteName;
  readonly acceptedSuites: readonly SuiteName[];
  readonly identityFingerprint: string;
  readonly deviceFingerprint: string;
  readonly username: string | null;
  readonly relay: string | null;
  readonly ca: string | null;
  readonly outbox: number;
  readonly contacts: number;
  readonly createdAt: string;
}

export async function status(home: UnlockedHome): Promise<StatusReport> {
  const { config, seeds, store } = home;
  const [outbox, contacts] = await Promise.all([store.countOutbox(), store.listContacts()]);
  return {
    home: home.paths.root,
    mode: seeds.preferred.name,
    acceptedSuites: seeds.suites.map((entry) => entry.suite.name),
    identityFingerprint: identityFingerprint(seeds),
    deviceFingerprint: deviceFingerprint(seeds),
    username: config.username,
    relay: config.relay,
    ca: config.ca,
    outbox,
    contacts: contacts.length,
    createdAt: new Date(seeds.createdAt).toISOString(),
  };
}
