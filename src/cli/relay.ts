import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Argument, Command, CommanderError, Option } from "commander";
import { NanoError } from "../errors/index.ts";
import { environmentConfigPath, loadConfigFile } from "../relay/config/load.ts";
import { ENVIRONMENTS, type Environment } from "../relay/config/schema.ts";
import { renderConfigTemplate, type TemplateChoices } from "../relay/config/template.ts";
import { storeFailure } from "../store/sqlite/open-checked.ts";
import { completionScript, SHELLS, type Shell } from "./_completion.ts";
import { feedback } from "./_spinner.ts";
import { commandPath, hasOperand, usageReport } from "./_usage.ts";
import { versionText } from "./_version.ts";
import { CommandFailure, RELAY_EXIT, relayExitCode } from "./relay/_exit.ts";

function fail(message: string, hint?: string): never {
  throw new CommandFailure(message, RELAY_EXIT.usage, hint);
}

function environmentOption(): Option {
  return new Option("-e, --environment <name>", "configuration environment").choices(ENVIRONMENTS);
}

function configOption(): Option {
  return new Option("-c, --config <file>", "configuration file (TOML)");
}

interface ConfigSelection {
  config?: string;
  environment?: Environment;
}

function portArgument(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
      fail(`${flag} needs a port number 0..65535, got "${value}"`, "0 picks a free port");
    return Number(value);
  };
}

function countArgument(flag: string, max: number) {
  return (value: string): number => {
    if (!/^[1-9][0-9]{0,5}$/.test(value) || Number(value) > max)
      fail(`${flag} needs a whole number 1..${max}, got "${value}"`);
    return Number(value);
  };
}

function sizeArgument(what: string) {
  return (value: string): number => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(value))
      fail(`${what} needs a non-negative whole number, got "${value}"`);
    return Number(value);
  };
}

/** `--since`: an ISO 8601 time or milliseconds since the epoch. */
function sinceArgument(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) fail(`--since needs an ISO 8601 time or epoch milliseconds, got "${value}"`);
  return ms;
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
  if (!result.ok) process.exitCode = RELAY_EXIT.config;
}

interface InitConfigOptions {
  environment: Environment;
  output?: string;
  force: boolean;
  tlsSelfSigned?: string;
  tlsCert?: string;
  tlsKey?: string;
  dataDir?: string;
}

/**
 * `init-config`: a commented configuration that passes its own validate-config once the files it
 * names exist. With --tls-self-signed DIR it writes a throwaway certificate and names it, so a
 * production configuration can be tried at once; with --tls-cert/--tls-key it names real ones.
 */
async function initConfig(options: InitConfigOptions): Promise<void> {
  if (options.tlsSelfSigned !== undefined && (options.tlsCert !== undefined || options.tlsKey !== undefined))
    fail("give either --tls-self-signed DIR or --tls-cert and --tls-key, not both");
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
    fail("--tls-cert and --tls-key go together");
  if (options.output !== undefined && existsSync(options.output) && !options.force)
    throw new CommandFailure(
      `${options.output} already exists`,
      RELAY_EXIT.cannotCreate,
      "pass --force to overwrite it",
    );
  const choices: { tls?: TemplateChoices["tls"]; dataDir?: string } = {};
  if (options.dataDir !== undefined) choices.dataDir = resolve(options.dataDir);
  if (options.tlsCert !== undefined && options.tlsKey !== undefined)
    choices.tls = { cert: resolve(options.tlsCert), key: resolve(options.tlsKey), throwaway: false };
  if (options.tlsSelfSigned !== undefined) {
    const { writeThrowawayTls } = await import("./relay/throwaway-tls.ts");
    const pair = await writeThrowawayTls(options.tlsSelfSigned);
    choices.tls = { cert: pair.cert, key: pair.key, throwaway: true };
    process.stderr.write(
      `nano-relay: wrote a THROWAWAY self-signed certificate for localhost (until ${pair.notAfter.toISOString().slice(0, 10)}):\n  ${pair.cert}\n  ${pair.key}\nhint: clients trust it with --ca ${pair.cert}; replace it with a real certificate before anyone else uses the relay\n`,
    );
  }
  const text = renderConfigTemplate(options.environment, choices);
  if (options.output === undefined) {
    process.stdout.write(text);
    return;
  }
  // The file holds no secrets (they come from the environment), so ordinary permissions are right.
  await writeFile(options.output, text, { mode: 0o644 });
  const check = await loadConfigFile(options.output, options.environment);
  if (check.ok) {
    process.stderr.write(`nano-relay: wrote ${options.output} (${options.environment}); it validates\n`);
    return;
  }
  process.stderr.write(
    `nano-relay: wrote ${options.output} (${options.environment}); it will not validate until:\n${check.problems.map((problem) => `  ${problem.path}: ${problem.message}`).join("\n")}\n` +
      "hint: provide those files (the comments in the file say what each must be), or try it out with --tls-self-signed DIR and --data-dir DIR\n",
  );
}

const EXAMPLES = `
Examples:
  # a production configuration to try out, with a throwaway certificate
  nano-relay init-config --environment production --data-dir ./relay-data \\
      --tls-self-signed ./relay-tls --output relay.toml
  nano-relay validate-config --config relay.toml      # every problem, with its path
  nano-relay --config relay.toml --port 9443          # run it (start is the default command)
  nano-relay status --url https://127.0.0.1:9443 --ca ./relay-tls/throwaway-cert.pem
  nano-relay check --config relay.toml                # the database, the logs, the blobs
  nano-relay backup --config relay.toml --output relay-backup.sqlite   # online, while it runs

Environment variables:
  NANO_DEBUG=1      print stack traces with errors
  the variables a configuration names in its *_env keys (e.g. the TLS key's passphrase)

Exit codes: 0 ok, 1 not ready (status), 64 usage, 65 damaged data, 66 missing input, 69 unavailable,
70 internal error, 73 cannot create, 74 disk refused, 78 bad configuration (docs/relay.md).
`;

function buildProgram(): Command {
  const program = new Command("nano-relay")
    .description("Nano-Messenger relay: stores and forwards ciphertext it cannot read")
    .version(versionText("nano-relay"), "-V, --version", "print the version and exit")
    // Accepted before the command name too (`nano-relay --config F start`), as before.
    .addOption(configOption())
    .addOption(environmentOption())
    .option("--port-file <file>", "write the bound ports as JSON to this file once listening")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .addHelpText("after", EXAMPLES)
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  program
    .command("start")
    .description("run the relay (the default command)")
    .addOption(configOption())
    .addOption(environmentOption())
    .option(
      "--port <port>",
      "API port, overriding server.api_port (0 picks a free one)",
      portArgument("--port"),
    )
    .option(
      "--websocket-port <port>",
      "WebSocket port, overriding server.websocket_port (default: follows --port when the config shares one)",
      portArgument("--websocket-port"),
    )
    .option("--bind <address>", "address to listen on, overriding server.bind_address")
    .option("--port-file <file>", "write the bound ports as JSON to this file once listening")
    .action(async (options) => {
      const { startCommand } = await import("./relay/start.ts");
      await startCommand({ ...program.opts(), ...options });
    });
  program
    .command("serve")
    .description("run a supervisor and N relay workers sharing the ports (SO_REUSEPORT); deployable")
    .addOption(configOption())
    .addOption(environmentOption())
    .option("-n, --instances <n>", "number of relay workers (1..64)", countArgument("--instances", 64), 1)
    .option("--control <path>", "control socket (0600; default: nano-relay.sock beside the database)")
    .option(
      "--port-file <file>",
      "write the shared ports, supervisor pid and control socket as JSON once serving",
    )
    .option(
      "--health-check-timeout <seconds>",
      "how long a starting worker may take to become ready",
      countArgument("--health-check-timeout", 3600),
      60,
    )
    .action(async (options) => {
      const { serveCommand } = await import("./relay/serve.ts");
      await serveCommand({ ...program.opts(), ...options });
    });
  program
    .command("deploy")
    .description("replace the workers of a running serve with the code and configuration on disk")
    .option("--strategy <strategy>", "rolling (one at a time) or blue-green (a full new set)", "rolling")
    .option(
      "--health-check-timeout <seconds>",
      "how long each new worker may take to pass /readyz before the deploy rolls back",
      countArgument("--health-check-timeout", 3600),
      60,
    )
    .option("--control <path>", "the supervisor's control socket")
    .addOption(configOption())
    .addOption(environmentOption())
    .option("--status", "show the workers of both generations and the deploy under way, then exit", false)
    .option("--json", "machine-readable output", false)
    .action(async (options) => {
      const { deployCommand, parseStrategy } = await import("./relay/deploy.ts");
      await deployCommand({ ...options, strategy: parseStrategy(options.strategy) });
    });
  program
    .command("worker", { hidden: true })
    .description("a relay worker of nano-relay serve (started by the supervisor, not by hand)")
    .action(async () => {
      const { runWorker } = await import("../relay/instances/worker.ts");
      const { relayVerifier } = await import("../relay/protocol-verifier.ts");
      await runWorker(relayVerifier);
    });
  program
    .command("init-config")
    .description("write a commented configuration for an environment")
    .addOption(environmentOption().makeOptionMandatory())
    .option("-o, --output <file>", "write to this file instead of standard output")
    .option("-f, --force", "overwrite an existing file", false)
    .option("--data-dir <dir>", "keep the database, blobs and log key in this folder")
    .option(
      "--tls-self-signed <dir>",
      "write a THROWAWAY self-signed certificate into this folder and use it",
    )
    .option("--tls-cert <file>", "the TLS certificate chain (PEM) to name")
    .option("--tls-key <file>", "its private key (PEM, mode 0600)")
    .action(async (options: InitConfigOptions) => {
      await initConfig(options);
    });
  program
    .command("validate-config")
    .description("check a configuration and print every problem with its path")
    .addOption(configOption())
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
    .addOption(configOption())
    .addOption(environmentOption())
    .option("--to <version>", "target schema version", (value) => {
      if (!/^\d+$/.test(value)) fail(`--to needs a version number, got "${value}"`);
      return Number(value);
    })
    .option("--list", "list migrations, their kind (expand or contract) and which are applied", false)
    .option(
      "--contract",
      "also apply contract steps: only once no older relay runs (refused otherwise)",
      false,
    )
    .option("--force", "with --contract: skip the check for older relays (you stopped them)", false)
    .action(
      async (
        options: ConfigSelection & { to?: number; list: boolean; contract: boolean; force: boolean },
      ) => {
        if (options.force && !options.contract) fail("--force goes with --contract");
        const { migrateCommand } = await import("./relay/migrate.ts");
        await withFeedback("migrating", false, () => migrateCommand({ ...program.opts(), ...options }));
      },
    );
  program
    .command("status")
    .description("show health, store, connections, queue depths and rates of a running relay")
    .option("--url <url>", "relay base URL", "http://127.0.0.1:8080")
    .option("--ca <file>", "CA certificate (PEM) to trust for this relay")
    .option("-w, --watch", "refresh in place until interrupted", false)
    .option("--interval <seconds>", "refresh interval with --watch", "2")
    .option("--json", "machine-readable output", false)
    .option("-c, --config <file>", "a cluster's configuration: show every relay, PostgreSQL and Redis")
    .option(
      "--control <path>",
      "a nano-relay serve's control socket: show its workers, generation by generation",
    )
    .action(
      async (options: {
        url: string;
        ca?: string;
        watch: boolean;
        interval: string;
        json: boolean;
        config?: string;
        control?: string;
      }) => {
        if (options.control !== undefined) {
          const { serveStatusCommand } = await import("./relay/deploy.ts");
          await serveStatusCommand({ ...options, control: options.control });
          return;
        }
        if (options.config !== undefined) {
          const { loadConfigOrThrow } = await import("../relay/config/load.ts");
          const { clusterStatusCommand } = await import("./relay/cluster-status.ts");
          await clusterStatusCommand(await loadConfigOrThrow({ file: options.config }), options);
          return;
        }
        const { statusCommand } = await import("./relay/status.ts");
        await statusCommand(options, feedback(process.stderr, { json: options.json || options.watch }));
      },
    );
  program
    .command("check")
    .description("check the database (SQLite integrity, every message reachable, logs verify, blobs present)")
    .addOption(configOption())
    .addOption(environmentOption())
    .option("--quick", "only what start checks: quick_check and the mailbox invariants", false)
    .option("--json", "machine-readable output", false)
    .action(async (options: ConfigSelection & { quick: boolean; json: boolean }) => {
      const { checkCommand } = await import("./relay/check.ts");
      await checkCommand({ ...program.opts(), ...options }, feedback(process.stderr, options));
    });
  program
    .command("backup")
    .description("write an online, consistent, verified copy of the database while the relay runs")
    .addOption(configOption())
    .addOption(environmentOption())
    .requiredOption("-o, --output <file>", "the backup file to write (mode 0600)")
    .option("-f, --force", "replace an existing file", false)
    .option("--json", "machine-readable output", false)
    .action(async (options: ConfigSelection & { output: string; force: boolean; json: boolean }) => {
      const { backupCommand } = await import("./relay/backup.ts");
      await backupCommand({ ...program.opts(), ...options }, feedback(process.stderr, options));
    });
  program
    .command("restore")
    .description("put a backup in place of the database (relay stopped; the old database is kept)")
    .addOption(configOption())
    .addOption(environmentOption())
    .requiredOption("-i, --input <file>", "a file written by nano-relay backup")
    .option("--json", "machine-readable output", false)
    .action(async (options: ConfigSelection & { input: string; json: boolean }) => {
      const { restoreCommand } = await import("./relay/restore.ts");
      await restoreCommand({ ...program.opts(), ...options }, feedback(process.stderr, options));
    });
  auditCommands(program);
  complianceCommands(program);
  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
  return program;
}

/** A spinner for a command that prints its result only at the end (so nothing interleaves with it). */
async function withFeedback(what: string, json: boolean, work: () => Promise<void>): Promise<void> {
  const spinner = feedback(process.stderr, { json });
  spinner.update(what);
  try {
    await work();
  } finally {
    spinner.stop();
  }
}

function logOption(): Option {
  return new Option("--log <log>", "which log").choices(["audit", "kt"]);
}

/** `nano-relay audit ...` (docs/audit.md): the audit and key-transparency logs in the relay's database. */
function auditCommands(program: Command): void {
  const audit = program.command("audit").description("verify and read the audit and key-transparency logs");
  const base = (command: Command) =>
    command
      .addOption(configOption())
      .addOption(environmentOption())
      .option("--json", "machine-readable output", false);
  const load = () => import("./relay/audit.ts");
  base(audit.command("verify"))
    .description("recompute the logs, check every checkpoint and name the first bad entry (exit 65)")
    .option("--from <n>", "start at the newest checkpoint at or below entry N", sizeArgument("--from"))
    .addOption(logOption())
    .action(async (options) => {
      const { auditVerifyCommand } = await load();
      await withFeedback("recomputing the logs", options.json === true, () =>
        auditVerifyCommand({ ...program.opts(), ...options }),
      );
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
    .requiredOption("--since <time>", "ISO 8601 time or milliseconds since the epoch", sinceArgument)
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

/** `nano-relay compliance ...` (docs/compliance.md): data-subject rights, holds, access audit. */
function complianceCommands(program: Command): void {
  const compliance = program
    .command("compliance")
    .description(
      "data-subject rights, legal holds, access audit, change control and reports (docs/compliance.md)",
    );
  const base = (command: Command) =>
    command
      .addOption(configOption())
      .addOption(environmentOption())
      .option("--json", "machine-readable output", false);
  const user = (command: Command) =>
    command.requiredOption("-u, --user <name>", "the account's username", (value: string) => value);
  const reason = (command: Command) =>
    command.option("--reason <text>", "why (recorded in the audit log as a salted commitment)");
  const load = () => import("./relay/compliance.ts");
  const normalized = async (name: string) => (await import("../relay/usernames.ts")).normalizeUsername(name);
  reason(user(base(compliance.command("export"))))
    .description("write everything the relay holds about an account as signed JSON (GDPR Art. 15/20)")
    .requiredOption("-o, --output <file>", "the export file to write (mode 0600)")
    .option("--include-envelopes", "add the pending messages' envelopes (ciphertext) too", false)
    .option("-f, --force", "replace an existing file", false)
    .action(async (options) => {
      await (await load()).exportCommand({
        ...program.opts(),
        ...options,
        user: await normalized(options.user),
      });
    });
  reason(user(base(compliance.command("erase"))))
    .description(
      "delete an account and everything naming it; its name stays unclaimable for the cooling-off period (GDPR Art. 17)",
    )
    .option("--no-vacuum", "skip rewriting the database (deleted bytes may stay in free pages)")
    .action(async (options) => {
      await (await load()).eraseCommand({
        ...program.opts(),
        ...options,
        user: await normalized(options.user),
      });
    });
  for (const release of [false, true])
    reason(user(base(compliance.command(release ? "release" : "hold"))))
      .description(
        release
          ? "lift a legal hold"
          : "place a legal hold: the account cannot be erased and retention keeps its audit data (Art. 18)",
      )
      .action(async (options) => {
        await (await load()).holdCommand({
          ...program.opts(),
          ...options,
          user: await normalized(options.user),
          release,
        });
      });
  reason(user(base(compliance.command("access-log"))))
    .description("list every operator action on an account's data, with who and why (HIPAA access audit)")
    .action(async (options) => {
      await (await load()).accessLogCommand({
        ...program.opts(),
        ...options,
        user: await normalized(options.user),
      });
    });
  compliance
    .command("admin-key")
    .description("create an administrator's approval key and print its [[compliance.approvers]] entry")
    .requiredOption("--name <name>", "the administrator's name on the key (no spaces or '+')")
    .requiredOption("-o, --output <file>", "the secret key file to write (mode 0600)")
    .option("-f, --force", "replace an existing file", false)
    .action(async (options: { name: string; output: string; force: boolean }) => {
      await (await load()).adminKeyCommand(options);
    });
  reason(base(compliance.command("approve")))
    .description("approve a configuration change that weakens security (SOX change control)")
    .requiredOption("-k, --key <file>", "your administrator key (from compliance admin-key)")
    .option("-o, --output <file>", "where to write the approval (default: the approvals folder)")
    .action(async (options) => {
      await (await load()).approveCommand({ ...program.opts(), ...options });
    });
  base(compliance.command("report"))
    .description("judge the configuration and the logs against GDPR, HIPAA or SOX, one row per control")
    .addOption(
      new Option("--framework <name>", "the framework")
        .choices(["gdpr", "hipaa", "sox"])
        .makeOptionMandatory(),
    )
    .addOption(new Option("--format <format>", "output format").choices(["md", "json"]).default("md"))
    .action(async (options) => {
      const { reportCommand } = await import("./relay/compliance-report.ts");
      await reportCommand({ ...program.opts(), ...options });
    });
  base(compliance.command("transparency-report"))
    .description("count exports, erasures, holds and other operator actions since a date")
    .requiredOption("--since <time>", "ISO 8601 time or milliseconds since the epoch", sinceArgument)
    .addOption(new Option("--format <format>", "output format").choices(["md", "json"]).default("md"))
    .action(async (options) => {
      const { transparencyReportCommand } = await import("./relay/compliance-report.ts");
      await transparencyReportCommand({ ...program.opts(), ...options });
    });
  compliance
    .command("verify-export")
    .description("check both signatures of an export (and, with a configuration, that it is this relay's)")
    .argument("<file>", "a file written by nano-relay compliance export")
    .addOption(configOption())
    .addOption(environmentOption())
    .option("--json", "machine-readable output", false)
    .action(async (file: string, options) => {
      await (await load()).verifyExportCommand({ ...options, file });
    });
}

/** Hints for the relay's own errors where the catalogue's "fix" is written for API callers. */
const RELAY_HINTS: Readonly<Partial<Record<string, string>>> = Object.freeze({
  config_invalid: "run nano-relay validate-config for every problem; docs/configuration.md has each key",
  store_damaged:
    "run nano-relay check for every problem, then stop the relay and restore the newest good backup: nano-relay restore --input FILE (docs/relay.md, Recovering)",
  store_unavailable:
    "check the disk (free space, mounts, permissions) under storage.path and storage.blob_dir",
  relay_unreachable: "check --url (and --ca for a private CA); is the relay running? (nano-relay start)",
});

function write(message: string, hint: string | undefined): void {
  process.stderr.write(`nano-relay: ${message}\n${hint === undefined ? "" : `hint: ${hint}\n`}`);
}

/**
 * `nano-relay`: the relay server's command line. Errors go to stderr in the client's voice
 * (`nano-relay: <message>` and a `hint:` line) with the exit codes of docs/relay.md; a stack trace only
 * with NANO_DEBUG=1, never for an error the operator can act on, so a supervisor's log says what to do.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  const asked = ["-h", "--help", "-V", "--version"].some((flag) => argv.includes(flag));
  // `nano-relay --config F` runs `start`: the default command, without taking other words for options.
  const start = program.commands.find((command) => command.name() === "start");
  const args = !hasOperand(program, start, argv) && !asked ? ["start", ...argv] : [...argv];
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (thrown) {
    let error = thrown;
    if (error instanceof CommanderError) {
      if (
        error.exitCode === 0 ||
        error.code === "commander.version" ||
        error.code === "commander.helpDisplayed"
      ) {
        process.exitCode = RELAY_EXIT.ok;
        return;
      }
      if (error.code === "commander.help") {
        process.exitCode = RELAY_EXIT.usage;
        return;
      }
      const report = usageReport(error, "nano-relay", commandPath(program, args));
      write(report.message, report.hint);
      process.exitCode = RELAY_EXIT.usage;
      return;
    }
    if (error instanceof CommandFailure) {
      write(error.message, error.hint);
      process.exitCode = error.exitCode;
      return;
    }
    error = storeFailure(error, "the relay database") ?? error;
    if (NanoError.is(error)) {
      write(error.message, RELAY_HINTS[error.code]);
      process.exitCode = relayExitCode(error);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    write(
      `internal error: ${message}`,
      "this is a bug: report it with the output of NANO_DEBUG=1 nano-relay ...",
    );
    if (process.env.NANO_DEBUG === "1" && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    process.exitCode = RELAY_EXIT.software;
  }
}
