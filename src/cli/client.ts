import { readFile, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { type Readable, Writable } from "node:stream";
import { Argument, Command, CommanderError, Option } from "commander";
import type { Passphrase } from "../client/keystore/keystore.ts";
import type { NanoClient } from "../client/nano-client.ts";
import type { TimeFailure } from "../client/operations/receive.ts";
import { MAX_FILE_BYTES, MAX_TEXT_BYTES, TEXT_WITH_FILE } from "../client/operations/send-limits.ts";
import { wipe } from "../crypto/bytes.ts";
import type { Argon2idParameters, SuiteName } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import { humanBytes } from "../text/human-bytes.ts";
import { humanDuration } from "../text/human-duration.ts";
import { completionScript, SHELLS, type Shell } from "./_completion.ts";
import { describeErrno } from "./_errno.ts";
import { CliUsageError, EXIT, reportError } from "./_errors.ts";
import { registerHistoryCommands } from "./_history.ts";
import { registerOutboxCommand } from "./_outbox.ts";
import { progressBar } from "./_progress.ts";
import { registerQuarantineCommand } from "./_quarantine.ts";
import { renderContacts, renderInit, renderMessage, renderStatus } from "./_render.ts";
import type { Feedback } from "./_spinner.ts";
import { commandPath, usageReport } from "./_usage.ts";
import { versionText } from "./_version.ts";

// The client, the crypto, the prompts and the QR code are loaded when a command that needs them runs,
// never at import: `--help`, `completion` and usage errors load commander and the usage text only,
// and each command loads only what it uses (issue 17 goal 7; docs/performance.md "CLI start").
const loadClient = async () => (await import("../client/nano-client.ts")).NanoClient;
const loadPassphrase = () => import("./_passphrase.ts");

/**
 * Starts opening the home's keystore (argon2id, on the thread pool) before the client's ~250 modules
 * load, so the two overlap instead of adding up: `send` and `status` cost about the unlock plus the
 * command rather than the unlock plus the loading plus the command. The file is read here first, so
 * the derivation is running before the loading takes the main thread. Any failure here is left for
 * `NanoClient.open`, which checks the home in its own order and reports the same errors as without
 * this (null: nothing started).
 */
async function startKeystoreOpening(
  home: string | undefined,
  env: NodeJS.ProcessEnv,
  passphrase: Passphrase,
): Promise<{ readonly opening: Promise<Uint8Array> } | null> {
  const { resolveHome } = await import("../client/home/home-paths.ts");
  const { assertNotWritableByOthers } = await import("../client/home/atomic-file.ts");
  const { openKeystore, readKeystoreFile } = await import("../client/keystore/keystore.ts");
  const paths = resolveHome(home, env);
  // The passphrase meets no keystore in a home others may write to (they could have planted it, with
  // the costliest work factor the format allows): the same check unlockHome makes first.
  const trusted = await assertNotWritableByOthers(paths.root, "home directory").then(
    () => true,
    () => false,
  );
  if (!trusted) return null;
  const bytes = await readKeystoreFile(paths.keystore).catch(() => null);
  if (bytes === null) return null;
  const opening = openKeystore(bytes, passphrase);
  // Its rejection (a wrong passphrase) is reported by open, which awaits it where it reads the keystore.
  opening.catch(() => {});
  // Wrapped: an async function returning the promise itself would wait for the derivation.
  return { opening };
}

/** `--kdf-memory` / `--kdf-passes`: integers, checked against the keystore's bounds by init. */
async function kdfParameters(
  memory: string | undefined,
  passes: string | undefined,
): Promise<Argon2idParameters | undefined> {
  if (memory === undefined && passes === undefined) return undefined;
  const { checkArgon2idParameters, DEFAULT_ARGON2ID } = await import("../crypto/index.ts");
  const number = (text: string | undefined, fallback: number, flag: string) => {
    if (text === undefined) return fallback;
    if (!/^\d{1,9}$/.test(text)) throw new NanoError("invalid_argument", `${flag} must be a whole number`);
    return Number(text);
  };
  const parameters = {
    memoryKiB: number(memory, DEFAULT_ARGON2ID.memoryKiB, "--kdf-memory"),
    passes: number(passes, DEFAULT_ARGON2ID.passes, "--kdf-passes"),
    parallelism: DEFAULT_ARGON2ID.parallelism,
  };
  try {
    checkArgon2idParameters(parameters);
  } catch (error) {
    // Out of bounds here is a usage error (exit 64), not a damaged keystore.
    if (NanoError.is(error)) throw new NanoError("invalid_argument", error.message);
    throw error;
  }
  return parameters;
}

/** `receive --watch` runs until SIGINT/SIGTERM, then closes the connection and the store cleanly. */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

/** `nano-client`: the client's command line (docs/client.md). */

interface GlobalOptions {
  readonly home?: string;
  readonly relay?: string;
  readonly ca?: string;
  readonly json?: boolean;
  readonly passphraseFile?: string;
}

export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

const MODES = ["classical", "hybrid", "quantum"] as const;

async function readStdin(stdin: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    total += buffer.length;
    if (total > limit)
      throw new NanoError("invalid_argument", `stdin is longer than ${humanBytes(limit)}; use --file`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readInputFile(path: string, limit: number): Promise<{ name: string; bytes: Uint8Array }> {
  let bytes: Buffer;
  try {
    const size = (await stat(path)).size;
    if (size > limit) {
      throw new NanoError(
        "invalid_argument",
        `${path} is ${humanBytes(size)}, larger than the ${humanBytes(limit)} an attachment may be`,
      );
    }
    bytes = await readFile(path);
  } catch (error) {
    if (NanoError.is(error)) throw error;
    // Not a usage error: the command was right, the file is not there (or not readable).
    throw new NanoError("input_unreadable", `cannot read ${path}: ${describeErrno(error)}`);
  }
  return { name: basename(path), bytes: new Uint8Array(bytes) };
}

interface CliState {
  json: boolean;
  /** The spinner of the command running now, stopped before anything is printed. */
  spinner: Feedback | null;
}

const EXAMPLES = `
Examples:
  export NANO_PASSPHRASE='a long passphrase'       # or answer the no-echo prompt
  nano-client --home ~/alice init --relay https://relay.example:8443
  nano-client --home ~/alice claim-username alice
  nano-client --home ~/alice send bob "hello bob"
  echo "from a script" | nano-client --home ~/alice send bob
  nano-client --home ~/alice send bob --file report.pdf
  nano-client --home ~/alice receive --watch       # until Ctrl-C
  nano-client --home ~/alice verify bob --qr       # the 60 digits, and a QR code for bob to scan
  nano-client --home ~/alice verify bob --confirm "DIGITS AS BOB'S SCREEN SHOWS THEM"
  nano-client --home ~/alice block mallory         # drop mallory's messages unread

Environment variables:
  NANO_CLIENT_HOME      home directory when --home is not given (default ~/.nano-messenger)
  NANO_PASSPHRASE       keystore passphrase for scripts (prefer --passphrase-file FILE, mode 0600)
  NANO_NEW_PASSPHRASE   the new passphrase for \`nano-client passphrase\`
  NANO_DEBUG=1          print stack traces with errors

Exit codes: 0 ok, 64 usage, 65 damaged or refused data, 66 missing input, 69 relay unavailable,
70 internal error, 73 cannot create, 74 disk full, 77 permission or passphrase, 78 clock or Node
version, 130 interrupted (docs/client.md).
`;

function buildProgram(io: CliIo, state: CliState): Command {
  const program = new Command("nano-client");
  const globals = (command: Command): GlobalOptions => {
    const options = command.optsWithGlobals<GlobalOptions>();
    state.json = options.json === true;
    return options;
  };
  const print = (value: unknown, text: string) => {
    state.spinner?.stop();
    io.stdout.write(state.json ? `${JSON.stringify(value)}\n` : text);
  };
  /** Feedback for work that may take more than half a second (unlocking, the network). */
  const spin = async (what: string): Promise<Feedback> => {
    const { feedback } = await import("./_spinner.ts");
    state.spinner?.stop();
    state.spinner = feedback(io.stderr as Writable & { isTTY?: boolean }, { json: state.json });
    state.spinner.update(what);
    return state.spinner;
  };
  const withClient = async <T>(
    command: Command,
    doing: string,
    work: (client: NanoClient) => Promise<T>,
  ): Promise<T> => {
    const options = globals(command);
    const { obtainPassphrase } = await loadPassphrase();
    const passphrase = await obtainPassphrase(
      { file: options.passphraseFile, env: io.env, input: io.stdin, output: io.stderr },
      { creating: false },
    );
    const spinner = await spin("unlocking the keystore");
    const keystore = await startKeystoreOpening(options.home, io.env, passphrase);
    try {
      const NanoClient = await loadClient();
      const client = await NanoClient.open({
        passphrase,
        ...(keystore === null ? {} : { keystoreOpening: keystore.opening }),
        env: io.env,
        ...(options.home === undefined ? {} : { home: options.home }),
        ...(options.relay === undefined ? {} : { relay: options.relay }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      });
      try {
        spinner.update(doing);
        return await work(client);
      } finally {
        await client.close();
      }
    } finally {
      spinner.stop();
      // open wiped the payload it took; this one covers an open that failed before taking it.
      keystore?.opening.then(
        (payload) => wipe(payload),
        () => {},
      );
    }
  };

  program
    .description("post-quantum end-to-end encrypted messenger client")
    .version(versionText("nano-client"), "-V, --version", "print the version and exit")
    .addHelpText("after", EXAMPLES)
    .option("--home <dir>", "client home directory (default: $NANO_CLIENT_HOME or ~/.nano-messenger)")
    .option("--relay <url>", "relay URL (https or wss)")
    .option("--ca <file>", "CA certificate to trust for the relay")
    .option("--json", "machine-readable output (errors too)")
    .option("--passphrase-file <file>", "read the passphrase from FILE (mode 0600) instead of prompting")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => {},
    });

  program
    .command("init")
    .description("create the home directory, identity keys and keystore")
    .addOption(
      new Option("--crypto-mode <mode>", "preferred mode and floor").choices(MODES).default("hybrid"),
    )
    .option("--replace", "replace this home's identity keys (the username stays; peers must re-verify)")
    .option("--kdf-memory <KiB>", "argon2id memory for the keystore, 19456..1048576 KiB (default 65536)")
    .option("--kdf-passes <n>", "argon2id passes for the keystore, 2..10 (default 3)")
    .action(
      async (
        options: { cryptoMode: SuiteName; replace?: boolean; kdfMemory?: string; kdfPasses?: string },
        command: Command,
      ) => {
        const global = globals(command);
        const { obtainPassphrase } = await loadPassphrase();
        if (options.replace === true) {
          const passphrase = await obtainPassphrase(
            { file: global.passphraseFile, env: io.env, input: io.stdin, output: io.stderr },
            { creating: false },
          );
          await spin("replacing the identity keys");
          const NanoClient = await loadClient();
          const replaced = await NanoClient.replaceIdentity({
            mode: options.cryptoMode,
            passphrase,
            env: io.env,
            ...(global.home === undefined ? {} : { home: global.home }),
          });
          print(
            replaced,
            `replaced the identity${replaced.username === null ? "" : ` of ${replaced.username}`} with new ${replaced.mode} keys; contacts must verify it again\n`,
          );
          return;
        }
        const argon2id = await kdfParameters(options.kdfMemory, options.kdfPasses);
        const passphrase = await obtainPassphrase(
          { file: global.passphraseFile, env: io.env, input: io.stdin, output: io.stderr },
          { creating: true },
        );
        await spin("creating the identity keys and sealing the keystore");
        const NanoClient = await loadClient();
        const result = await NanoClient.init({
          ...(argon2id === undefined ? {} : { argon2id }),
          mode: options.cryptoMode,
          passphrase,
          env: io.env,
          ...(global.home === undefined ? {} : { home: global.home }),
          ...(global.relay === undefined ? {} : { relay: global.relay }),
          ...(global.ca === undefined ? {} : { ca: global.ca }),
        });
        print(result, renderInit(result));
      },
    );

  program
    .command("claim-username")
    .description("claim NAME on the relay for this identity")
    .argument("<name>")
    .action((name: string, _options: unknown, command: Command) =>
      withClient(command, `claiming ${name}`, async (client) => {
        const result = await client.claimUsername(name);
        print(
          result,
          `${result.created ? "claimed" : "already claimed"} ${result.username} on ${result.relay} (${result.oneTimePrekeys} one-time prekeys uploaded)\n`,
        );
      }),
    );

  program
    .command("export")
    .description("write your account, contacts (with safety numbers) and decrypted history as JSON")
    .requiredOption("-o, --output <file>", "the export file (mode 0600)")
    .option("--encrypt", "seal it under a new passphrase (keystore format)", false)
    .option("--export-passphrase-file <file>", "with --encrypt: read that passphrase from FILE (mode 0600)")
    .option("-f, --force", "replace an existing file", false)
    .action(
      async (
        options: { output: string; encrypt: boolean; exportPassphraseFile?: string; force: boolean },
        command: Command,
      ) => {
        // Asked before the home is unlocked, so the two passphrase prompts never interleave.
        const passphrase = options.encrypt
          ? await (await loadPassphrase()).obtainNewPassphrase({
              env: io.env,
              input: io.stdin,
              output: io.stderr,
              file: options.exportPassphraseFile,
            })
          : undefined;
        await withClient(command, "exporting", async (client) => {
          const result = await client.exportData({
            output: resolve(options.output),
            force: options.force,
            ...(passphrase === undefined ? {} : { passphrase }),
          });
          print(
            result,
            `wrote ${result.output}${result.encrypted ? " (sealed under the export passphrase)" : ""}: ${result.contacts} contact(s), ${result.messages} message(s)\n`,
          );
        });
      },
    );

  program
    .command("account")
    .description("your account at the relay")
    .command("delete")
    .description("delete your account at the relay, signed by your identity keys (cannot be undone)")
    .requiredOption("--confirm <username>", "repeat your username to confirm")
    .action((options: { confirm: string }, command: Command) =>
      withClient(command, "deleting the account", async (client) => {
        const result = await client.deleteAccount(options.confirm);
        print(
          result,
          `deleted ${result.username} on ${result.relay}; the name stays unclaimable for the relay's cooling-off period; this home (keys, history) is left as it was: delete its folder to remove it\n`,
        );
      }),
    );

  program
    .command("send")
    .description("send TEXT (or stdin, or --file) to NAME")
    .argument("<name>")
    .argument("[text]")
    .addOption(new Option("--crypto-mode <mode>", "require exactly this mode").choices(MODES))
    .option("--file <path>", "send a file as an attachment")
    .option("--again", "send a new copy even if the same text to NAME is still in the outbox")
    .action(
      async (
        name: string,
        text: string | undefined,
        options: { cryptoMode?: SuiteName; file?: string; again?: boolean },
        command: Command,
      ) => {
        globals(command);
        // Checked before the file is read or the keystore unlocked: a usage error, whatever the file.
        if (text !== undefined && text !== "" && options.file !== undefined)
          throw new NanoError("invalid_argument", TEXT_WITH_FILE);
        const file = options.file === undefined ? null : await readInputFile(options.file, MAX_FILE_BYTES);
        let body: string | null = text ?? null;
        if (body === null && file === null && io.stdin.isTTY !== true)
          body = await readStdin(io.stdin, MAX_TEXT_BYTES);
        await withClient(command, `sending to ${name}`, async (client) => {
          const bar = progressBar(io.stderr, "uploading");
          const progress =
            bar === undefined
              ? undefined
              : (done: number, total: number) => {
                  state.spinner?.stop();
                  bar(done, total);
                };
          const result = await client.send({
            recipient: name,
            text: body,
            file,
            cryptoMode: options.cryptoMode ?? null,
            // A person who retries a send that was killed or queued means the same message.
            reusePending: options.again !== true,
            ...(progress === undefined ? {} : { onProgress: progress }),
          });
          print(result, renderSent(result));
        });
      },
    );

  program
    .command("receive")
    .description("fetch, decrypt and print new messages")
    .option("--watch", "keep waiting for messages")
    .option("--save-dir <dir>", "write attachments into DIR (default: downloads/ in the home)")
    .option("--no-receipts", "send no delivery receipts for the messages received")
    .action((options: { watch?: boolean; saveDir?: string; receipts: boolean }, command: Command) =>
      withClient(command, "fetching messages", async (client) => {
        const signal = options.watch === true ? stopSignal() : undefined;
        if (signal !== undefined) {
          state.spinner?.stop();
          if (!state.json) io.stderr.write("nano-client: waiting for messages; press Ctrl-C to stop\n");
        }
        const bar = progressBar(io.stderr, "downloading");
        const progress =
          bar === undefined
            ? undefined
            : (done: number, total: number) => {
                state.spinner?.stop();
                bar(done, total);
              };
        const noticed = new Set<string>();
        const result = await client.receive({
          ...(progress === undefined ? {} : { onProgress: progress }),
          watch: options.watch === true,
          saveDir: options.saveDir ?? null,
          receipts: options.receipts,
          // Printed for a person: read (conversations counts what nobody has seen yet).
          markRead: true,
          onMessage: (message) => {
            print(message, renderMessage(message));
          },
          onReceipt: (receipt) => {
            // Receipts are bookkeeping: machine-readable output only, a terminal stays quiet.
            if (state.json) io.stdout.write(`${JSON.stringify({ receipt })}\n`);
          },
          onRejected: (rejected) => {
            state.spinner?.stop();
            if (state.json) io.stdout.write(`${JSON.stringify({ rejected })}\n`);
            else if (rejected.firstContact)
              // Named after the relay-authenticated sender, never after the name inside the refused message.
              io.stderr.write(
                `nano-client: refused a first contact from ${rejected.from}: ${rejected.message} (${rejected.code}); nothing from it is shown\n`,
              );
            else if (rejected.quarantined === true)
              io.stderr.write(
                `nano-client: message ${rejected.messageId} from ${rejected.from} could not be opened: ${rejected.message} (${rejected.code}); kept in quarantine (nano-client quarantine list)\n`,
              );
            else
              io.stderr.write(
                `nano-client: message ${rejected.messageId} from ${rejected.from} was dropped: ${rejected.message} (${rejected.code})\n`,
              );
          },
          onTimeFailure: (failure) => {
            state.spinner?.stop();
            if (state.json) io.stdout.write(`${JSON.stringify({ timeFailure: failure })}\n`);
            else if (!noticed.has("\0clock")) io.stderr.write(`${describeTimeFailure(failure)}\n`);
            noticed.add("\0clock");
          },
          onIdentityChanged: (username) => {
            if (noticed.has(username)) return;
            noticed.add(username);
            state.spinner?.stop();
            if (state.json) io.stdout.write(`${JSON.stringify({ identityChanged: username })}\n`);
            else
              io.stderr.write(
                `nano-client: ${username}'s identity changed; their messages wait at the relay\nhint: compare safety numbers with \`nano-client verify ${username}\`, then \`nano-client trust ${username}\`\n`,
              );
          },
          ...(signal === undefined ? {} : { signal }),
        });
        state.spinner?.stop();
        if (!state.json && result.outboxSent > 0)
          io.stdout.write(`delivered ${result.outboxSent} queued message(s) to the relay\n`);
        if (!state.json && result.received === 0) io.stdout.write("no new messages\n");
      }),
    );

  registerHistoryCommands(program, { withClient, print });
  registerOutboxCommand(program, { withClient, print });
  registerQuarantineCommand(program, {
    withClient,
    print,
    show: (message) => print(message, renderMessage(message)),
  });

  const contacts = program.command("contacts").description("list contacts (default), or remove one");
  contacts
    .command("list", { isDefault: true })
    .description("list contacts and their verification state")
    .action((_options: unknown, command: Command) =>
      withClient(command, "reading contacts", async (client) => {
        const list = await client.contacts();
        print({ contacts: list }, renderContacts(list));
      }),
    );
  contacts
    .command("remove")
    .description("forget NAME: pinned identity, verification and sessions (block NAME stops messages)")
    .argument("<name>")
    .action((name: string, _options: unknown, command: Command) =>
      withClient(command, `removing ${name}`, async (client) => {
        const removed = await client.removeContact(name);
        print(
          { removed },
          `removed ${removed.username} and ${removed.sessions} session(s); a message from ${removed.username} is a first contact again\n`,
        );
      }),
    );

  for (const blocked of [true, false]) {
    const verb = blocked ? "block" : "unblock";
    program
      .command(verb)
      .description(
        blocked
          ? "drop NAME's messages unread (acknowledged at the relay, counted in status)"
          : "receive NAME's messages again",
      )
      .argument("<name>")
      .action((name: string, _options: unknown, command: Command) =>
        withClient(command, `${verb}ing ${name}`, async (client) => {
          const result = await client.setBlocked(name, blocked);
          const state = blocked ? "blocked" : "not blocked";
          print(result, `${result.changed ? `${verb}ed` : `already ${state}:`} ${result.username}\n`);
        }),
      );
  }

  program
    .command("verify")
    .description("show the safety number for NAME; --confirm DIGITS checks and records it")
    .argument("<name>")
    .option(
      "--confirm [digits]",
      "record that the safety numbers match; with DIGITS (NAME's number, spaces allowed), only if they do",
    )
    .option("--qr", "also draw the safety number as a QR code for NAME to scan")
    .action((name: string, options: { confirm?: boolean | string; qr?: boolean }, command: Command) =>
      withClient(command, `checking ${name} in key transparency`, async (client) => {
        const result = await client.verify(name, options.confirm ?? false);
        const qr =
          options.qr === true && !state.json
            ? (await import("./_qr.ts")).safetyNumberQr(result.qrPayload)
            : "";
        print(
          result,
          `${qr}${result.username}: ${result.safetyNumber}${result.verified ? " (verified)" : ""}\n${result.transparency.line}\n`,
        );
      }),
    );

  program
    .command("renew-device")
    .description("issue a new device certificate with the identity key (after a wrong clock, or expiry)")
    .action((_options: unknown, command: Command) =>
      withClient(command, "certifying a new device key", async (client) => {
        const renewed = await client.renewDevice();
        print(
          renewed,
          `renewed the device certificate of ${renewed.username}: valid ${renewed.validFrom} to ${renewed.validUntil}\n`,
        );
      }),
    );

  program
    .command("trust")
    .description("accept NAME's changed identity without verifying it")
    .argument("<name>")
    .action((name: string, _options: unknown, command: Command) =>
      withClient(command, `fetching ${name}'s new identity`, async (client) => {
        const contact = await client.trust(name);
        print({ contact }, `trusted ${contact.username}'s current identity (unverified)\n`);
      }),
    );

  program
    .command("passphrase")
    .description("change the keystore passphrase")
    .option("--new-passphrase-file <file>", "read the new passphrase from FILE (mode 0600)")
    .action(async (options: { newPassphraseFile?: string }, command: Command) => {
      const global = globals(command);
      const streams = { env: io.env, input: io.stdin, output: io.stderr };
      const { obtainNewPassphrase, obtainPassphrase } = await loadPassphrase();
      const passphrase = await obtainPassphrase(
        { ...streams, file: global.passphraseFile },
        { creating: false },
      );
      const newPassphrase = await obtainNewPassphrase({ ...streams, file: options.newPassphraseFile });
      await spin("re-sealing the keystore");
      const NanoClient = await loadClient();
      await NanoClient.changePassphrase({
        passphrase,
        newPassphrase,
        env: io.env,
        ...(global.home === undefined ? {} : { home: global.home }),
      });
      print({ changed: true }, "passphrase changed\n");
    });

  program
    .command("status")
    .description("identity, mode, relay and outbox of this home")
    .action((_options: unknown, command: Command) =>
      withClient(command, "reading the home", async (client) => {
        const report = await client.status();
        print(report, renderStatus(report));
      }),
    );

  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action((shell: Shell) => {
      io.stdout.write(completionScript(program, shell));
    });

  return program;
}

/** The line `send` prints: sizes in human units; a queued message says why it is queued. */
function renderSent(result: Awaited<ReturnType<NanoClient["send"]>>): string {
  const to = `${result.clientMessageId} to ${result.recipient} (${result.suite ?? "session not started yet"}`;
  if (result.earlierCopy) {
    const state = result.queued
      ? `is still queued (${result.queuedBecause ?? "waiting"})`
      : "is now delivered to the relay";
    return `an earlier copy of this text, ${to}), was still in the outbox: it ${state} instead of a second copy (\`send --again\` sends another; \`nano-client outbox\` lists them)\n`;
  }
  if (!result.queued) {
    const attachment =
      result.attachment === null ? "" : `; attachment of ${humanBytes(result.attachment.size)}`;
    return `sent ${to}, ${humanBytes(result.envelopeBytes)}${attachment})\n`;
  }
  const why =
    result.queuedBecause === null
      ? "not sent yet, it waits behind messages queued before it"
      : result.queuedBecause === "relay_unreachable"
        ? "the relay is unreachable"
        : `the relay answered ${result.queuedBecause}`;
  return `queued ${to}): ${why}; it is kept in the outbox and goes out with the next command or \`receive --watch\`\n`;
}

/** What the user should know about a message that waits because of a clock (issue 13, loss 3). */
function describeTimeFailure(failure: TimeFailure): string {
  const skew = failure.clockSkewMs;
  const off =
    skew === null
      ? "the relay's clock could not be read to compare"
      : skew === 0
        ? "this machine's clock agrees with the relay's, so the sender's clock may be off"
        : `this computer's clock is ${humanDuration(skew)} ${skew > 0 ? "behind" : "ahead of"} the relay's`;
  return `nano-client: a message from ${failure.from} is not valid by this machine's clock (${failure.code}); ${off}\nhint: the message waits at the relay; correct the clock and run \`nano-client receive\` again`;
}

const HELP_CODES = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

/** Commander's usage errors become `invalid_argument`, with "did you mean" or the command's own help. */
function fromCommander(error: CommanderError, command: readonly string[]): NanoError {
  const report = usageReport(error, "nano-client", command);
  return new CliUsageError(report.message, report.hint);
}

/**
 * The command tree as the parser defines it, for documentation checks (test/client/cli-docs.test.ts):
 * nothing is run, nothing is written.
 */
export function commandTree(): Command {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  return buildProgram(
    { stdin: process.stdin, stdout: discard, stderr: discard, env: {} },
    { json: false, spinner: null },
  );
}

export async function main(argv: readonly string[], io: CliIo = process): Promise<void> {
  const state: CliState = { json: argv.includes("--json"), spinner: null };
  const program = buildProgram(io, state);
  const command = commandPath(program, argv);
  try {
    await program.parseAsync([...argv], { from: "user" });
    process.exitCode = EXIT.ok;
  } catch (thrown) {
    let error = thrown;
    if (error instanceof CommanderError) {
      if (HELP_CODES.has(error.code) || error.exitCode === 0) {
        // Help asked for exits 0; help shown because a command was missing is a usage error.
        process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
        return;
      }
      error = fromCommander(error, command);
    }
    state.spinner?.stop();
    const homeOption = argv.indexOf("--home");
    const { resolveHome } = await import("../client/home/home-paths.ts");
    process.exitCode = reportError(error, {
      stdout: io.stdout,
      stderr: io.stderr,
      json: state.json,
      debug: io.env.NANO_DEBUG === "1",
      home: resolveHome(homeOption >= 0 ? argv[homeOption + 1] : undefined, io.env).root,
      command,
    });
  }
}
