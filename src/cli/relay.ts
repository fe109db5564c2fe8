import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Command, CommanderError, Option } from "commander";
import { NanoError } from "../errors/index.ts";
import { environmentConfigPath, loadConfigFile } from "../relay/config/load.ts";
import { ENVIRONMENTS, type Environment } from "../relay/config/schema.ts";
import { renderConfigTemplate } from "../relay/config/template.ts";

/** Exit codes follow sysexits(3) so scripts can tell a usage error from a bad config or a crash. */
const EXIT = Object.freeze({ ok: 0, usage: 64, dataError: 65, unavailable: 69, software: 70, config: 78 });

function fail(message: string, hint?: string): never {
  throw new CliFailure(message, hint);
}

class CliFailure extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, hint?: string, exitCode: number = EXIT.usage) {
    super(message);
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

function environmentOption(): Option {
  return new Option("-e, --environment <name>", "configuration environment").choices(ENVIRONMENTS);
}

interface ConfigSelection {
  config?: string;
  environment?: Environment;
}

async function validateConfig(options: ConfigSelection, json: boolean): Promise<void> {
  if (options.config !== undefined && options.environment !== undefined) {
    fail("give either --config or --environment, not both");
  }
  if (options.config === undefined && options.environment === undefined) {
    fail("name what to validate", "use --environment production or --config FILE");
  }
  const file = options.config ?? environmentConfigPath(options.environment!);
  const result = await loadConfigFile(file, options.config === undefined ? options.environment : undefined);
  if (json) {
    process.stdout.write(
      `${JSON.stringify(result.ok ? { ok: true, source: file } : { ok: false, source: file, problems: result.problems })}\n`,
    );
  } else if (result.ok) {
    process.stdout.write(`${file}: valid (${result.config.environment})\n`);
  } else {
    process.stderr.write(`nano-relay: ${file} has ${result.problems.length} problem(s):\n`);
    for (const problem of result.problems) process.stderr.write(`  ${problem.path}: ${problem.message}\n`);
  }
  if (!result.ok) process.exitCode = EXIT.config;
}

async function initConfig(
  environment: Environment,
  output: string | undefined,
  force: boolean,
): Promise<void> {
  const text = renderConfigTemplate(environment);
  if (output === undefined) {
    process.stdout.write(text);
    return;
  }
  if (existsSync(output) && !force) fail(`${output} already exists`, "pass --force to overwrite it");
  // The file holds no secrets (they come from the environment), so ordinary permissions are right.
  await writeFile(output, text, { mode: 0o644 });
  process.stderr.write(`nano-relay: wrote ${output} (${environment})\n`);
}

function buildProgram(): Command {
  const program = new Command("nano-relay")
    .description("Nano-Messenger relay: stores and forwards ciphertext it cannot read")
    .option("-c, --config <file>", "configuration file (TOML)")
    .addOption(environmentOption())
    .option("--port-file <file>", "write the bound ports as JSON to this file once listening")
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  program.action(async (options: ConfigSelection & { portFile?: string }) => {
    const { startCommand } = await import("./relay/start.ts");
    await startCommand(options);
  });
  program
    .command("start")
    .description("run the relay (the default command)")
    .option("-c, --config <file>", "configuration file (TOML)")
    .addOption(environmentOption())
    .option("--port-file <file>", "write the bound ports as JSON to this file once listening")
    .action(async (options: ConfigSelection & { portFile?: string }) => {
      const { startCommand } = await import("./relay/start.ts");
      await startCommand({ ...program.opts(), ...options });
    });
  program
    .command("init-config")
    .description("write a commented, valid configuration for an environment")
    .addOption(environmentOption().makeOptionMandatory())
    .option("-o, --output <file>", "write to this file instead of standard output")
    .option("-f, --force", "overwrite an existing file", false)
    .action(async (options: { environment: Environment; output?: string; force: boolean }) => {
      await initConfig(options.environment, options.output, options.force);
    });
  program
    .command("validate-config")
    .description("check a configuration and print every problem with its path")
    .option("-c, --config <file>", "configuration file (TOML)")
    .addOption(environmentOption())
    .option("--json", "machine-readable output", false)
    .action(async (options: ConfigSelection & { json: boolean }) => {
      await validateConfig(options, options.json);
    });
  program
    .command("migrate")
    .description(
      "apply database migrations (all by default), or move to version N (down migrations roll back)",
    )
    .option("-c, --config <file>", "configuration file (TOML)")
    .addOption(environmentOption())
    .option("--to <version>", "target schema version", (value) => {
      if (!/^\d+$/.test(value)) fail(`--to needs a version number, got "${value}"`);
      return Number(value);
    })
    .option("--list", "list migrations and which are applied", false)
    .action(async (options: ConfigSelection & { to?: number; list: boolean }) => {
      const { migrateCommand } = await import("./relay/migrate.ts");
      await migrateCommand({ ...program.opts(), ...options });
    });
  program
    .command("status")
    .description("show health, connections, queue depths and rates of a running relay")
    .option("--url <url>", "relay base URL", "http://127.0.0.1:8080")
    .option("-w, --watch", "refresh in place until interrupted", false)
    .option("--interval <seconds>", "refresh interval with --watch", "2")
    .option("--json", "machine-readable output", false)
    .option("-c, --config <file>", "a cluster's configuration: show every relay, PostgreSQL and Redis")
    .action(
      async (options: { url: string; watch: boolean; interval: string; json: boolean; config?: string }) => {
        if (options.config !== undefined) {
          const { loadConfigOrThrow } = await import("../relay/config/load.ts");
          const { clusterStatusCommand } = await import("./relay/cluster-status.ts");
          await clusterStatusCommand(await loadConfigOrThrow({ file: options.config }), options);
          return;
        }
        const { statusCommand } = await import("./relay/status.ts");
        await statusCommand(options);
      },
    );
  auditCommands(program);
  return program;
}

function sizeArgument(what: string) {
  return (value: string): number => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(value))
      fail(`${what} needs a non-negative whole number, got "${value}"`);
    return Number(value);
  };
}

function logOption(): Option {
  return new Option("--log <log>", "which log").choices(["audit", "kt"]);
}

/** `nano-relay audit ...` (docs/audit.md): the audit and key-transparency logs in the relay's database. */
function auditCommands(program: Command): void {
  const audit = program.command("audit").description("verify and read the audit and key-transparency logs");
  const base = (command: Command) =>
    command
      .option("-c, --config <file>", "configuration file (TOML)")
      .addOption(environmentOption())
      .option("--json", "machine-readable output", false);
  const load = () => import("./relay/audit.ts");
  base(audit.command("verify"))
    .description("recompute the logs, check every checkpoint and name the first bad entry (exit 65)")
    .option("--from <n>", "start at the newest checkpoint at or below entry N", sizeArgument("--from"))
    .addOption(logOption())
    .action(async (options) => {
      await (await load()).auditVerifyCommand({ ...program.opts(), ...options });
    });
  base(audit.command("checkpoint"))
    .description("print the latest signed checkpoint")
    .addOption(logOption())
    .option("--issue", "sign a checkpoint of the current size first (needs the log key)", false)
    .action(async (options) => {
      await (await load()).auditCheckpointCommand({ ...program.opts(), ...options });
    });
  base(audit.command("prove"))
    .description("print an inclusion proof of ENTRY at the latest checkpoint")
    .argument("<entry>", "entry index", sizeArgument("ENTRY"))
    .addOption(logOption())
    .action(async (entry: number, options) => {
      await (await load()).auditProveCommand({ ...program.opts(), ...options, entry });
    });
  base(audit.command("export"))
    .description("print log entries since TIME for SIEM ingestion")
    .requiredOption("--since <time>", "ISO 8601 time or milliseconds since the epoch", (value: string) => {
      const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (!Number.isFinite(ms)) fail(`--since needs an ISO 8601 time or epoch milliseconds, got "${value}"`);
      return ms;
    })
    .addOption(new Option("--format <format>", "output format").choices(["jsonl"]).default("jsonl"))
    .addOption(logOption())
    .option("--personal-data", "include usernames and addresses still in the side table", false)
    .action(async (options) => {
      await (await load()).auditExportCommand({ ...program.opts(), ...options });
    });
  base(audit.command("erase"))
    .description("erase a username from the logs' personal-data side tables (the logs stay verifiable)")
    .requiredOption("--username <name>", "the normalized username to forget")
    .action(async (options) => {
      const { normalizeUsername } = await import("../relay/usernames.ts");
      await (await load()).auditEraseCommand({
        ...program.opts(),
        ...options,
        username: normalizeUsername(options.username),
      });
    });
  base(audit.command("log-keys"))
    .description("print the log verifier keys for clients to pin")
    .action(async (options) => {
      await (await load()).auditLogKeysCommand({ ...program.opts(), ...options });
    });
}

/** `nano-relay`: the relay server's command line. Errors go to stderr in the age voice, no stack traces. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode !== 0) process.exitCode = EXIT.usage;
      return;
    }
    if (error instanceof CliFailure) {
      process.stderr.write(`nano-relay: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (NanoError.is(error)) {
      process.stderr.write(`nano-relay: ${error.message}\n`);
      process.exitCode = error.code === "config_invalid" ? EXIT.config : EXIT.software;
      return;
    }
    throw error;
  }
}
