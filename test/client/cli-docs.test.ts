import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "commander";
import { EXIT, EXIT_BY_CODE } from "../../src/cli/_errors.ts";
import { commandTree } from "../../src/cli/client.ts";
import { REPO_ROOT } from "./_helpers.ts";

/**
 * docs/client.md promises to list every command and every exit code (issue 14, "done when"). These
 * checks read the document and the parser's own definitions, so a command added without its line, or
 * a line left behind by a removed command, fails here.
 */
const DOC = readFileSync(join(REPO_ROOT, "docs/client.md"), "utf8");

/** Leaf command paths as commander defines them: `send`, `contacts list`, `contacts remove`... */
function parserCommands(): string[] {
  const paths: string[] = [];
  const walk = (command: Command, prefix: readonly string[]) => {
    for (const child of command.commands) {
      if (child.name() === "help") continue;
      const path = [...prefix, child.name()];
      if (child.commands.length === 0) paths.push(path.join(" "));
      else walk(child, path);
    }
  };
  walk(commandTree(), []);
  return paths.sort();
}

/**
 * The command lines of the "Command line" block, as paths: `  send NAME ...` -> `send`,
 * `  contacts remove NAME` -> `contacts remove`, `  contacts [list]` -> `contacts list`,
 * `  outbox [list | cancel ID]` -> `outbox list`, `outbox cancel`. A lowercase word after the name is a
 * subcommand (bracketed: optional, `|` between alternatives); `bash|zsh|fish` is an argument's choices.
 */
function documentedCommands(): string[] {
  const section = DOC.slice(DOC.indexOf("## Command line"));
  const open = section.indexOf("```\n") + 4;
  const block = section.slice(open, section.indexOf("\n```", open));
  const paths = new Set<string>();
  const word = /^[a-z][a-z-]*$/;
  for (const line of block.split("\n")) {
    const command = line.match(/^ {2}([a-z][a-z-]*)(?: (.*))?$/);
    if (command === null) continue;
    const [, name = "", rest = ""] = command;
    // Options in brackets (`[--crypto-mode classical|hybrid|quantum]`) are not subcommands.
    const bracketed = rest.match(/^\[([^\]-][^\]]*)\]/);
    const alternatives = bracketed
      ? bracketed[1]!.split("|").map((alternative) => alternative.trim().split(/\s+/)[0] ?? "")
      : rest.startsWith("[")
        ? []
        : [rest.split(/\s+/)[0] ?? ""];
    const subcommands = alternatives.filter((candidate) => word.test(candidate));
    if (subcommands.length === 0) paths.add(name);
    for (const sub of subcommands) paths.add(`${name} ${sub}`);
  }
  return [...paths].sort();
}

test("docs/client.md lists exactly the commands the parser defines", () => {
  const parsed = parserCommands();
  assert.ok(parsed.includes("send") && parsed.includes("contacts remove"), "the tree was read");
  assert.deepEqual(documentedCommands(), parsed);
});

test("docs/client.md lists every exit code, each with the error codes the CLI maps to it", () => {
  const section = DOC.slice(DOC.indexOf("### Exit codes"));
  const rows = new Map<number, string>();
  for (const line of section.split("\n")) {
    const row = line.match(/^\| (\d+) \|(.*)$/);
    if (row !== null) rows.set(Number(row[1]), row[2]!);
  }
  for (const code of [...Object.values(EXIT), 130]) assert.ok(rows.has(code), `exit ${code} has a row`);
  for (const [error, exit] of Object.entries(EXIT_BY_CODE))
    assert.match(rows.get(exit!) ?? "", new RegExp(`\`${error}\``), `${error} is listed under exit ${exit}`);
});

test("nano-client --help names every command and the exit codes", () => {
  let help = "";
  const program = commandTree();
  program.configureOutput({ writeOut: (text) => (help += text) });
  program.outputHelp();
  for (const path of parserCommands()) {
    const top = path.split(" ")[0]!;
    assert.match(help, new RegExp(`\\n  ${top}\\b`), `${top} in --help`);
  }
  for (const code of [...Object.values(EXIT), 130])
    assert.match(help, new RegExp(`\\b${code} `), `exit ${code}`);
});
