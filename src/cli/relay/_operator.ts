import { userInfo } from "node:os";

/**
 * Who ran an operator command, for the access audit: the OS user, and the user behind sudo when there
 * is one (`root` alone would not tell an auditor which administrator it was).
 */
export function operatorName(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? `uid ${process.getuid?.() ?? "unknown"}`;
  }
  const sudo = process.env.SUDO_USER;
  return sudo !== undefined && sudo !== name ? `${name} (sudo from ${sudo})` : name;
}
