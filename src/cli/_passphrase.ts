import { readFile, stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { isCancel, password } from "@clack/prompts";
import { NanoError } from "../errors/index.ts";
import { humanBytes } from "../text/human-bytes.ts";
import { describeErrno } from "./_errno.ts";

/**
 * Where the passphrase comes from, in order: --passphrase-file FILE, then NANO_PASSPHRASE, then a
 * no-echo prompt when stdin is a terminal. Anything else is `passphrase_required`: a script must never
 * hang on a prompt it cannot answer.
 */
export interface PassphraseSources {
  readonly file: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly input: Readable & { isTTY?: boolean };
  readonly output: Writable;
}

const MAX_PASSPHRASE_FILE_BYTES = 4096;

/** The file is a secret: refused when group or others can read it. One trailing newline is dropped. */
export async function readPassphraseFile(path: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new NanoError(
      "input_unreadable",
      `cannot read the passphrase file ${path}: ${describeErrno(error)}`,
    );
  }
  if ((info.mode & 0o077) !== 0) {
    throw new NanoError(
      "insecure_permissions",
      `passphrase file ${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
  }
  if (info.size > MAX_PASSPHRASE_FILE_BYTES) {
    throw new NanoError(
      "invalid_argument",
      `passphrase file ${path} is larger than ${humanBytes(MAX_PASSPHRASE_FILE_BYTES)}`,
    );
  }
  return (await readFile(path, "utf8")).replace(/\r?\n$/, "");
}

async function prompt(message: string, sources: PassphraseSources): Promise<string> {
  const answer = await password({ message, mask: "", input: sources.input, output: sources.output });
  if (isCancel(answer)) throw new NanoError("invalid_argument", "cancelled");
  return answer;
}

/**
 * The new passphrase of `passphrase`: --new-passphrase-file FILE, then NANO_NEW_PASSPHRASE, then two
 * prompts on a terminal.
 */
export async function obtainNewPassphrase(sources: PassphraseSources): Promise<string> {
  return obtainPassphrase(
    { ...sources, env: { NANO_PASSPHRASE: sources.env.NANO_NEW_PASSPHRASE } },
    { creating: true },
  );
}

export async function obtainPassphrase(
  sources: PassphraseSources,
  options: { creating: boolean; label?: string },
): Promise<string> {
  if (sources.file !== undefined) return readPassphraseFile(sources.file);
  const fromEnv = sources.env.NANO_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (sources.input.isTTY !== true) {
    throw new NanoError("passphrase_required", "no passphrase: stdin is not a terminal and none was given");
  }
  if (!options.creating) return prompt(options.label ?? "keystore passphrase", sources);
  // A typo in a passphrase typed twice without echo is common: ask again instead of starting over.
  for (let attempt = 1; ; attempt++) {
    const first = await prompt("new keystore passphrase (8 characters or more)", sources);
    const second = await prompt("the same passphrase again", sources);
    if (first === second) return first;
    if (attempt === MISMATCH_ATTEMPTS)
      throw new NanoError(
        "passphrase_mismatch",
        `the two passphrases did not match, ${MISMATCH_ATTEMPTS} times`,
      );
    sources.output.write("nano-client: the two passphrases do not match; type them again\n");
  }
}

/** How often `init` (and `passphrase`) ask for the new passphrase twice before giving up. */
const MISMATCH_ATTEMPTS = 3;
