/**
 * The reason a file could not be used, in words (`no such file or directory`), for messages about
 * files named on the command line. Unknown codes are shown as they are.
 */
const WORDS: Readonly<Record<string, string>> = Object.freeze({
  ENOENT: "no such file or directory",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
});

export function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string") return (error as Error)?.message ?? String(error);
  return WORDS[code] ?? code;
}
