import type { ContactSummary } from "../client/operations/contacts.ts";
import type { InitResult } from "../client/operations/init.ts";
import type { IncomingMessage } from "../client/operations/receive.ts";
import type { StatusReport } from "../client/operations/status.ts";
import { formatExpire } from "./_expiry.ts";

/** Human-readable output of the commands; --json prints the same objects as JSON instead. */

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}${value}\n`).join("");
}

export function renderInit(result: InitResult): string {
  return (
    `initialized ${result.home}\n` +
    table([
      ["crypto mode", `${result.mode} (accepts ${result.acceptedSuites.join(", ")})`],
      ["identity", result.identityFingerprint],
      ["device key", result.deviceFingerprint],
      ["relay", result.relay ?? "not set"],
    ]) +
    `next: nano-client claim-username NAME${result.relay === null ? " --relay URL" : ""}\n`
  );
}

export function renderStatus(report: StatusReport): string {
  return table([
    ["home", report.home],
    ["crypto mode", `${report.mode} (accepts ${report.acceptedSuites.join(", ")})`],
    ["identity", report.identityFingerprint],
    ["device key", report.deviceFingerprint],
    ["username", report.username ?? "not claimed (nano-client claim-username NAME)"],
    ["relay", report.relay ?? "not set (pass --relay URL)"],
    [
      "outbox",
      report.outbox === 0 ? "0 pending" : `${report.outbox} pending (nano-client outbox lists them)`,
    ],
    [
      "quarantine",
      report.quarantined === 0
        ? "empty"
        : `${report.quarantined} message(s) could not be opened (nano-client quarantine list)`,
    ],
    ["contacts", String(report.contacts)],
    [
      "blocked",
      report.blocked.senders.length === 0 && report.blocked.droppedMessages === 0
        ? "nobody"
        : `${report.blocked.senders.length === 0 ? "nobody now" : report.blocked.senders.join(", ")}; ${report.blocked.droppedMessages} message(s) dropped unread`,
    ],
    [
      "prekeys",
      `${report.prekeys.oneTimeUnused} one-time unused, ${report.prekeys.oneTimeUsed} used; signed ${report.prekeys.signedCreatedAt ?? "none yet"}`,
    ],
    ["created", report.createdAt],
  ]);
}

export function renderContacts(contacts: readonly ContactSummary[]): string {
  if (contacts.length === 0) return "no contacts yet\n";
  return contacts
    .map((contact) => {
      const state = contact.identityChanged
        ? "IDENTITY CHANGED (nano-client verify or trust)"
        : contact.verified
          ? "verified"
          : "unverified";
      return `${contact.username}\t${contact.pinnedSuite}\t${state}\n`;
    })
    .join("");
}

/** One received message: time, sender, suite, then the text (control characters made visible). */
export function renderMessage(message: IncomingMessage): string {
  const time = new Date(message.sentAt)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  const timer =
    message.expireAfterSeconds === null ? "" : ` [disappears ${formatExpire(message.expireAfterSeconds)}]`;
  return `[${time}] ${message.sender} (${message.suite})${timer}: ${escapeControls(message.text)}\n`;
}

/** A peer's text must not drive the terminal (escape sequences could rewrite earlier lines). */
export function escapeControls(text: string): string {
  let safe = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const control = (code < 0x20 && code !== 0x0a && code !== 0x09) || (code >= 0x7f && code <= 0x9f);
    safe += control ? `\\u${code.toString(16).padStart(4, "0")}` : char;
  }
  return safe;
}
