import type { Command } from "commander";
import type { QuarantineEntry } from "../client/operations/quarantine.ts";
import type { IncomingMessage } from "../client/operations/receive.ts";
import { NanoError } from "../errors/index.ts";
import type { ClientCommandDeps } from "./_command-deps.ts";

/**
 * `nano-client quarantine [list | retry [ID] | discard ID|--all]` (issue 13, loss 4): the messages
 * that could not be opened, kept instead of dropped. Kept apart from client.ts, which registers it.
 */

function when(at: number): string {
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function renderQuarantine(entries: readonly QuarantineEntry[]): string {
  if (entries.length === 0) return "the quarantine is empty\n";
  const lines = entries.map(
    (e) =>
      `${e.messageId}\t${e.from}\t${when(e.quarantinedAt)}\t${e.code}${e.firstContact ? " (first contact)" : ""}\n`,
  );
  return `${lines.join("")}${entries.length} message(s) could not be opened; \`nano-client quarantine retry\` tries again (after restoring the right local.db), \`quarantine discard ID\` drops one\n`;
}

export interface QuarantineCommandDeps extends ClientCommandDeps {
  readonly show: (message: IncomingMessage) => void;
}

export function registerQuarantineCommand(program: Command, deps: QuarantineCommandDeps): void {
  program
    .command("quarantine")
    .description("messages that could not be opened: list, retry [ID], discard ID|--all")
    .argument("[action]", "list (default), retry or discard")
    .argument("[id]", "a quarantined message id (from the list)")
    .option("--all", "discard every quarantined message")
    .action(
      (action: string | undefined, id: string | undefined, options: { all?: boolean }, command: Command) => {
        if (action === undefined || action === "list") {
          return deps.withClient(command, "reading the quarantine", async (client) => {
            const quarantined = await client.quarantine();
            deps.print({ quarantined }, renderQuarantine(quarantined));
          });
        }
        if (action === "retry") {
          return deps.withClient(command, "opening quarantined messages", async (client) => {
            const result = await client.retryQuarantined({
              ...(id === undefined ? {} : { messageId: id }),
              onMessage: deps.show,
            });
            deps.print(
              { retried: result },
              `${result.opened} opened${result.failed.length === 0 ? "" : `, ${result.failed.length} still cannot be opened (${[...new Set(result.failed.map((f) => f.code))].join(", ")})`}\n`,
            );
          });
        }
        if (action === "discard") {
          if ((id === undefined) === (options.all !== true))
            throw new NanoError("invalid_argument", "quarantine discard needs one message ID or --all");
          return deps.withClient(command, "discarding", async (client) => {
            const dropped = await client.discardQuarantined(options.all === true ? "all" : id!);
            deps.print({ discarded: dropped }, `discarded ${dropped} quarantined message(s)\n`);
          });
        }
        throw new NanoError(
          "invalid_argument",
          `unknown quarantine action "${action}": use list, retry or discard`,
        );
      },
    );
}
