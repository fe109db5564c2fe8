import type { Command } from "commander";
import type { Conversation, HistoryEntry } from "../client/operations/history.ts";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "../client/operations/history-limits.ts";
import { NanoError } from "../errors/index.ts";
import type { ClientCommandDeps } from "./_command-deps.ts";
import { formatExpire, parseExpire } from "./_expiry.ts";
import { escapeControls } from "./_render.ts";

/**
 * `nano-client history [PEER] [--since WHEN] [--limit N]` and `nano-client conversations`: the sealed
 * local store's history (docs/client.md "History"). Kept apart from client.ts, which only registers them.
 */

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from now (`30m`, `12h`, `7d`, `2w`) or an ISO 8601 date or time. */
export function parseSince(text: string, now = Date.now()): number {
  const relative = /^(\d{1,6})([mhdw])$/.exec(text);
  if (relative !== null) return now - Number(relative[1]) * UNITS[relative[2]!]!;
  // Only ISO forms: Date.parse accepts much else, differently across engines.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text)) {
    const at = Date.parse(text.replace(" ", "T"));
    if (Number.isFinite(at)) return at;
  }
  throw new NanoError(
    "invalid_argument",
    `--since "${text}" is neither a duration (30m, 12h, 7d, 2w) nor an ISO date (2026-12-07, 2026-12-07T09:30Z)`,
  );
}

export function parseLimit(text: string): number {
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_HISTORY_LIMIT))
    throw new NanoError("invalid_argument", `--limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
  return limit;
}

function when(at: number): string {
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * One line per message: local time, who wrote to whom, the timer of a disappearing message and when it
 * goes, the text (control characters made visible).
 */
export function renderHistoryEntry(entry: HistoryEntry): string {
  const who = entry.direction === "in" ? `${entry.peer} -> me` : `me -> ${entry.peer}`;
  const suite = entry.suite === null ? "" : ` (${entry.suite})`;
  const timer =
    entry.expireAfterSeconds === null || entry.expiresAt === null
      ? ""
      : ` [disappears ${formatExpire(entry.expireAfterSeconds)}, at ${when(entry.expiresAt)}]`;
  return `[${when(entry.at)}] ${who}${suite}${timer}: ${escapeControls(entry.text)}\n`;
}

export function renderHistory(entries: readonly HistoryEntry[], peer: string | undefined): string {
  if (entries.length === 0)
    return peer === undefined ? "no messages yet\n" : `no messages with ${peer} yet\n`;
  return entries.map(renderHistoryEntry).join("");
}

export function renderConversations(conversations: readonly Conversation[]): string {
  if (conversations.length === 0) return "no conversations yet\n";
  return conversations
    .map((conversation) => {
      const unread = conversation.unread === 0 ? "" : ` (${conversation.unread} unread)`;
      const timer =
        conversation.expireAfterSeconds === null
          ? ""
          : ` [timer ${formatExpire(conversation.expireAfterSeconds)}]`;
      const last = conversation.last;
      const line = escapeControls(last.text.split("\n")[0] ?? "");
      const short = line.length > 60 ? `${line.slice(0, 59)}…` : line;
      return `${conversation.peer}${unread}${timer}\t${when(last.at)}\t${last.direction === "out" ? "me: " : ""}${short}\n`;
    })
    .join("");
}

export type HistoryCommandDeps = ClientCommandDeps;

export function registerHistoryCommands(program: Command, deps: HistoryCommandDeps): void {
  program
    .command("history")
    .description("show messages kept locally, with PEER or all (oldest first)")
    .argument("[peer]")
    .option("--since <when>", "from a duration back (30m, 12h, 7d, 2w) or an ISO date on")
    .option("--limit <n>", `the newest N messages (default ${DEFAULT_HISTORY_LIMIT})`)
    .action((peer: string | undefined, options: { since?: string; limit?: string }, command: Command) => {
      // Checked before the passphrase is asked for: a usage error costs nothing.
      const since = options.since === undefined ? undefined : parseSince(options.since);
      const limit = options.limit === undefined ? DEFAULT_HISTORY_LIMIT : parseLimit(options.limit);
      return deps.withClient(command, "reading history", async (client) => {
        const entries = await client.history({
          limit,
          ...(peer === undefined ? {} : { peer }),
          ...(since === undefined ? {} : { since }),
        });
        deps.print({ messages: entries }, renderHistory(entries, peer));
        // Shown to a person: that conversation is read now.
        if (peer !== undefined) await client.markRead(peer);
      });
    });

  const conversations = program
    .command("conversations")
    .description("list conversations (default), or set one's disappearing-message timer");
  conversations
    .command("list", { isDefault: true })
    .description("list conversations: newest message, unread count and timer")
    .action((_options: unknown, command: Command) =>
      deps.withClient(command, "reading conversations", async (client) => {
        const list = await client.conversations();
        deps.print({ conversations: list }, renderConversations(list));
      }),
    );
  conversations
    .command("set")
    .description("set the timer new messages to PEER get (received ones keep their sender's)")
    .argument("<peer>")
    .requiredOption("--expire <duration>", "delete messages this long after sending (30s..365d), or off")
    .action((peer: string, options: { expire: string }, command: Command) => {
      const expireAfterMs = parseExpire(options.expire);
      return deps.withClient(command, `setting the timer with ${peer}`, async (client) => {
        const seconds = await client.setConversationExpiry(peer, expireAfterMs);
        deps.print(
          { peer, expireAfterSeconds: seconds },
          seconds === null
            ? `messages you send to ${peer} no longer disappear (messages already sent keep their timer)\n`
            : `messages you send to ${peer} from now on disappear ${formatExpire(seconds)} after sending, on both sides\n`,
        );
      });
    });
}
