import { link, lstat, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes, toHex } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * Crash-safe file replacement. A reader (or the next run after a power cut or SIGKILL) sees either the
 * old complete file or the new complete file, never a mix: the new bytes go to a temporary file in the
 * same directory (rename is only atomic within one file system), are fsynced, renamed over the target,
 * and the directory is fsynced so the rename itself is durable. The temporary file is created 0600 with
 * O_EXCL, so a secret is never briefly world-readable and an attacker's symlink is never followed.
 */

/** Prefix of temporary files; `sweepTemporaryFiles` removes leftovers of interrupted writes. */
export const TEMPORARY_PREFIX = ".nano-tmp-";

export const PRIVATE_FILE_MODE = 0o600;

/** link(2) failures that mean "this file system has no hard links", not "the name is taken". */
const NO_HARD_LINKS: ReadonlySet<string> = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"]);
export const PRIVATE_DIRECTORY_MODE = 0o700;

export interface AtomicWriteOptions {
  /** File mode of the result; defaults to 0600. Applied with fchmod so the umask cannot widen it. */
  readonly mode?: number;
  /**
   * Never replace: the new file is linked into place (link(2) fails on any existing entry, a dangling
   * symlink included) instead of renamed over it, so a file that appeared since the caller looked is
   * not clobbered: `output_exists`.
   */
  readonly noReplace?: boolean;
}

export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? PRIVATE_FILE_MODE;
  const directory = dirname(path);
  const temporary = join(directory, `${TEMPORARY_PREFIX}${basename(path)}.${toHex(randomBytes(6))}`);
  const handle = await open(temporary, "wx", mode);
  let renamed = false;
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    if (options.noReplace === true) {
      let linked = true;
      try {
        await link(temporary, path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (code === "EEXIST")
          throw new NanoError("output_exists", `${path} already exists; pass --force to replace it`);
        // A file system without hard links (FAT, some network shares): look, then rename — the
        // moment between the two is the only one in which an appearing file would be replaced.
        if (!NO_HARD_LINKS.has(code)) throw error;
        if ((await lstat(path).catch(() => null)) !== null)
          throw new NanoError("output_exists", `${path} already exists; pass --force to replace it`);
        await rename(temporary, path);
        linked = false;
      }
      if (linked) await unlink(temporary);
    } else {
      await rename(temporary, path);
    }
    renamed = true;
    await syncDirectory(directory);
  } finally {
    if (!renamed) {
      await handle.close().catch(() => {});
      await unlink(temporary).catch(() => {});
    }
  }
}

/** Makes a rename or unlink in `directory` durable (POSIX: the entry lives in the directory's data). */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temporary files left by writes that were killed before their rename. With `target`, only
 * those of that file, so a sweep never deletes the in-flight temporary file of another file's writer.
 */
export async function sweepTemporaryFiles(directory: string, target?: string): Promise<number> {
  const prefix = target === undefined ? TEMPORARY_PREFIX : `${TEMPORARY_PREFIX}${target}.`;
  let removed = 0;
  for (const name of await readdir(directory)) {
    if (!name.startsWith(prefix)) continue;
    await unlink(join(directory, name)).catch(() => {});
    removed += 1;
  }
  return removed;
}

/**
 * Creates `directory` (and parents) if needed and makes sure it is 0700 and a real directory: the home
 * holds the keystore and the local database, and a group-readable home leaks their metadata.
 */
export async function ensurePrivateDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const info = await lstat(directory);
  if (!info.isDirectory()) {
    throw new NanoError("invalid_argument", `${directory} exists and is not a directory`);
  }
  if ((info.mode & 0o077) !== 0) {
    const handle = await open(directory, "r");
    try {
      await handle.chmod(PRIVATE_DIRECTORY_MODE);
    } finally {
      await handle.close();
    }
  }
}

/**
 * Refuses a secret-bearing path that other users can read or write. Checked on every read, the way ssh
 * refuses a private key with loose permissions: a leak may already have happened, and the user must know.
 */
export async function assertPrivate(path: string, what: string): Promise<void> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    const wanted = info.isDirectory() ? "700" : "600";
    throw new NanoError(
      "insecure_permissions",
      `${what} ${path} is accessible by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod ${wanted} ${path}`,
    );
  }
}

/**
 * Refuses a directory that other users can write to: they could replace the keystore or the database
 * with their own (the user would then type the passphrase into, and store messages in, their file).
 */
export async function assertNotWritableByOthers(directory: string, what: string): Promise<void> {
  const info = await stat(directory);
  if ((info.mode & 0o022) !== 0) {
    throw new NanoError(
      "insecure_permissions",
      `${what} ${directory} is writable by other users (mode ${(info.mode & 0o777).toString(8)}); run chmod 700 ${directory}`,
    );
  }
}
