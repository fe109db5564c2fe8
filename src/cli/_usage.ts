import type { Command, CommanderError } from "commander";

/**
 * Usage errors of both CLIs in one voice (STYLE.md item 9): `TOOL: <lowercase message>` and a hint
 * that names the real command (`see nano-client send --help`), or commander's "did you mean" when it
 * has one. Only usage errors get a usage hint: a file that cannot be read is not a usage error.
 */
export interface UsageReport {
  readonly message: string;
  readonly hint: string;
}

/** The options (of `command`) that take a value, by every flag spelling, for scanning argv. */
function valueFlags(command: Command): Set<string> {
  const flags = new Set<string>();
  for (const option of command.options) {
    if (!option.required && !option.optional) continue;
    if (option.long !== undefined) flags.add(option.long);
    if (option.short !== undefined) flags.add(option.short);
  }
  return flags;
}

/**
 * The subcommand path argv names (`["audit", "verify"]`), or [] when it names none. Skips options and
 * their values, so `--home DIR send bob` finds `send`.
 */
export function commandPath(program: Command, argv: readonly string[]): string[] {
  const path: string[] = [];
  let current = program;
  let takesValue = valueFlags(current);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (token.startsWith("-")) {
      if (!token.includes("=") && takesValue.has(token)) i++;
      continue;
    }
    const next = current.commands.find(
      (command) => command.name() === token || command.aliases().includes(token),
    );
    if (next === undefined) break;
    path.push(next.name());
    current = next;
    takesValue = valueFlags(current);
  }
  return path;
}

/**
 * Whether argv holds an operand at all (a command name or anything else that is not an option), for
 * a program whose default command is `defaults` (its options may come without the command's name).
 */
export function hasOperand(
  program: Command,
  defaults: Command | undefined,
  argv: readonly string[],
): boolean {
  const takesValue = new Set([
    ...valueFlags(program),
    ...(defaults === undefined ? [] : valueFlags(defaults)),
  ]);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") return i + 1 < argv.length;
    if (token.startsWith("-")) {
      if (!token.includes("=") && takesValue.has(token)) i++;
      continue;
    }
    return true;
  }
  return false;
}

export function usageReport(error: CommanderError, tool: string, path: readonly string[]): UsageReport {
  const [first = "", ...rest] = error.message.replace(/^error: /, "").split("\n");
  const suggestion = rest.join(" ").match(/\(Did you mean (.+)\?\)/);
  const help = [tool, ...path, "--help"].join(" ");
  return {
    message: first,
    hint: suggestion ? `did you mean ${suggestion[1]}?` : `see \`${help}\` for the accepted forms`,
  };
}
