import type { Command } from "commander";
import type { PendingMessage } from "../client/operations/pending.ts";
import { NanoError } from "../errors/index.ts";
import { humanBytes } from "../text/human-bytes.ts";
import type { ClientCommandDeps } from "./_command-deps.ts";
import { escapeControls } from "./_render.ts";

/**
 * `nano-client outbox` (list what is committed and not yet acknowledged by the relay) and
 * `nano-client outbox cancel ID` (issue 13, loss 5). Kept apart from client.ts, which only registers it.
 */

function when(at: number): string {
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function renderPending(pending: readonly PendingMessage[]): string {
  if (pending.length === 0) return "the outbox is empty: everything sent reached the relay\n";
  const lines = pending.map((p) => {
    const text = p.text === null ? "(text not kept)" : escapeControls(p.text.split("\n")[0] ?? "");
    const short = text.length > 60 ? `${text.slice(0, 59)}…` : text;
    const tried =
      p.attempts === 0 ? "not tried yet" : `${p.attempts} attempt(s), last: ${p.lastError ?? "unknown"}`;
    return `${p.clientMessageId}\t${p.recipient}\t${when(p.createdAt)}\t${humanBytes(p.envelopeBytes)}\t${tried}\t${short}\n`;
  });
  return `${lines.join("")}${pending.length} pending; they go out with the next command that reaches the relay (\`nano-client outbox cancel ID\` drops one)\n`;
}

export type OutboxCommandDeps = ClientCommandDeps;

export function registerOutboxCommand(program: Command, deps: OutboxCommandDeps): void {
  program
    .command("outbox")
    .description("list messages not yet accepted by the relay; `outbox cancel ID` drops one")
    .argument("[action]", "list (default) or cancel")
    .argument("[id]", "the message id to cancel (from the list)")
    .action((action: string | undefined, id: string | undefined, _options: unknown, command: Command) => {
      if (action === undefined || action === "list") {
        if (id !== undefined) throw new NanoError("invalid_argument", "outbox list takes no id");
        return deps.withClient(command, "reading the outbox", async (client) => {
          const pending = await client.pending();
          deps.print({ pending }, renderPending(pending));
        });
      }
      if (action !== "cancel")
        throw new NanoError("invalid_argument", `unknown outbox action "${action}": use list or cancel ID`);
      if (id === undefined) throw new NanoError("invalid_argument", "outbox cancel needs the message ID");
      return deps.withClient(command, `cancelling ${id}`, async (client) => {
        const cancelled = await client.cancelPending(id);
        deps.print(
          { cancelled },
          `cancelled ${cancelled.clientMessageId} to ${cancelled.recipient}; it will not be sent\n`,
        );
      });
    });
}
