import type { Command, Option } from "commander";

/**
 * `completion bash|zsh|fish` for both CLIs: a script generated from the same commander definitions
 * that parse the command line, so a new command or option completes the day it exists. Completes
 * command names (nested ones such as `audit verify` too), each command's options, the choices of
 * options that have them (`--environment`, `--crypto-mode`) and file names for options that take a
 * file or folder. Install: docs/client.md and docs/relay.md, "Shell completion".
 */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

interface OptionSpec {
  readonly flags: readonly string[];
  readonly description: string;
  /** Takes a value: "file" completes file names, a list completes those words, "other" nothing. */
  readonly value: "none" | "file" | "other" | readonly string[];
}

interface CommandSpec {
  /** "" for the program itself, else the space-separated path ("audit verify"). */
  readonly path: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly children: readonly string[];
}

const FILE_ARGUMENT = /<(file|dir|path|folder)>/i;

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((flag): flag is string => flag !== undefined);
  const choices = option.argChoices;
  const value =
    !option.required && !option.optional
      ? "none"
      : choices !== undefined
        ? choices
        : FILE_ARGUMENT.test(option.flags)
          ? "file"
          : "other";
  return { flags, description: option.description, value };
}

function collect(command: Command, path: string, out: CommandSpec[]): void {
  const visible = command.commands.filter((child) => child.name() !== "help");
  out.push({
    path,
    description: command.description(),
    options: [
      ...command.options.map(optionSpec),
      { flags: ["--help"], description: "show help", value: "none" },
    ],
    children: visible.map((child) => child.name()),
  });
  for (const child of visible) collect(child, path === "" ? child.name() : `${path} ${child.name()}`, out);
}

function functionName(tool: string): string {
  return `_${tool.replace(/[^a-zA-Z0-9]/g, "_")}`;
}

/** Single-quoted for sh-like shells: nothing inside is interpreted. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function valueCases(
  specs: readonly CommandSpec[],
  files: string,
  choices: (words: string) => string,
): string {
  const fileFlags = new Set<string>();
  const choiceFlags = new Map<string, string>();
  for (const spec of specs)
    for (const option of spec.options) {
      if (option.value === "file") for (const flag of option.flags) fileFlags.add(flag);
      else if (Array.isArray(option.value))
        for (const flag of option.flags) choiceFlags.set(flag, option.value.join(" "));
    }
  const lines: string[] = [];
  if (fileFlags.size > 0) lines.push(`    ${[...fileFlags].join("|")}) ${files} return ;;`);
  const byWords = new Map<string, string[]>();
  for (const [flag, words] of choiceFlags) byWords.set(words, [...(byWords.get(words) ?? []), flag]);
  for (const [words, flags] of byWords) lines.push(`    ${flags.join("|")}) ${choices(words)} return ;;`);
  return lines.join("\n");
}

function pathCases(specs: readonly CommandSpec[]): string {
  return specs
    .filter((spec) => spec.children.length > 0)
    .flatMap((spec) =>
      spec.children.map(
        (child) =>
          `      ${quote(spec.path === "" ? ` ${child}` : `${spec.path} ${child}`)}) path=${quote(spec.path === "" ? child : `${spec.path} ${child}`)} ;;`,
      ),
    )
    .join("\n");
}

function wordCases(specs: readonly CommandSpec[], offer: (words: string) => string): string {
  return specs
    .map((spec) => {
      const words = [...spec.children, ...spec.options.flatMap((option) => option.flags)].join(" ");
      return `    ${quote(spec.path)}) ${offer(words)} ;;`;
    })
    .join("\n");
}

function bash(tool: string, specs: readonly CommandSpec[]): string {
  const name = functionName(tool);
  return `# ${tool} completion for bash. Load it in ~/.bashrc:  eval "$(${tool} completion bash)"
${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$path $word" in
${pathCases(specs)}
    esac
  done
  case "$prev" in
${valueCases(specs, 'COMPREPLY=($(compgen -f -- "$cur"));', (words) => `COMPREPLY=($(compgen -W ${quote(words)} -- "$cur"));`)}
  esac
  case "$path" in
${wordCases(specs, (words) => `COMPREPLY=($(compgen -W ${quote(words)} -- "$cur"))`)}
  esac
}
complete -o default -F ${name} ${tool}
`;
}

function zsh(tool: string, specs: readonly CommandSpec[]): string {
  const name = functionName(tool);
  return `#compdef ${tool}
# ${tool} completion for zsh. Load it in ~/.zshrc after compinit:  eval "$(${tool} completion zsh)"
${name}() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" path="" word
  for word in "\${(@)words[2,CURRENT-1]}"; do
    case "$path $word" in
${pathCases(specs)}
    esac
  done
  case "$prev" in
${valueCases(specs, "_files;", (words) => `compadd -- ${words};`)}
  esac
  case "$path" in
${wordCases(specs, (words) => `compadd -- ${words}`)}
  esac
}
compdef ${name} ${tool}
`;
}

function fish(tool: string, specs: readonly CommandSpec[]): string {
  const lines = [
    `# ${tool} completion for fish. Install:  ${tool} completion fish > ~/.config/fish/completions/${tool}.fish`,
    `complete -c ${tool} -f`,
  ];
  const fishQuote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  for (const spec of specs) {
    const parts = spec.path === "" ? [] : spec.path.split(" ");
    // Fish's helpers see every word typed so far: "after exactly this path, before any child".
    const condition =
      parts.length === 0
        ? "__fish_use_subcommand"
        : [
            ...parts.map((part) => `__fish_seen_subcommand_from ${part}`),
            ...(spec.children.length > 0
              ? [`not __fish_seen_subcommand_from ${spec.children.join(" ")}`]
              : []),
          ].join("; and ");
    for (const child of spec.children)
      lines.push(`complete -c ${tool} -n ${fishQuote(condition)} -a ${child}`);
    for (const option of spec.options) {
      const flags = option.flags
        .map((flag) => (flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`))
        .join(" ");
      const value =
        option.value === "none"
          ? ""
          : option.value === "file"
            ? " -r -F"
            : option.value === "other"
              ? " -r"
              : ` -r -a ${fishQuote(option.value.join(" "))}`;
      lines.push(
        `complete -c ${tool} -n ${fishQuote(condition)} ${flags}${value} -d ${fishQuote(option.description)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(program: Command, shell: Shell): string {
  const specs: CommandSpec[] = [];
  collect(program, "", specs);
  const tool = program.name();
  if (shell === "bash") return bash(tool, specs);
  if (shell === "zsh") return zsh(tool, specs);
  return fish(tool, specs);
}
