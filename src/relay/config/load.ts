import { accessSync, constants, existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml, TomlError } from "smol-toml";
import { parseVerifierKeys } from "../../audit/log-key.ts";
import { sha256 } from "../../crypto/hash.ts";
import { NanoError } from "../../errors/index.ts";
import {
  AUDIT_RETENTION_MINIMUM_DAYS,
  CRYPTO_MODE_RANK,
  type Environment,
  type RelayConfig,
  relayConfigSchema,
} from "./schema.ts";

/** One thing wrong with a configuration, at a dotted path such as `server.tls.cert_file`. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: RelayConfig; readonly source: string }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly source: string };

/** The project's config/ folder, found from this file so the commands work from any directory. */
export const CONFIG_DIR = fileURLToPath(new URL("../../../config/", import.meta.url));

export function environmentConfigPath(environment: Environment): string {
  return resolve(CONFIG_DIR, `${environment}.toml`);
}

function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || address.startsWith("127.");
}

/** Why the relay could not create or write `folder`, or null: the nearest existing ancestor decides. */
function unwritableFolder(folder: string): string | null {
  let existing = folder;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  try {
    if (!statSync(existing).isDirectory())
      return `${existing} is not a folder, so ${folder} cannot be created`;
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return existing === folder
      ? `${folder} is not writable by this user`
      : `${folder} cannot be created: ${existing} is not writable by this user`;
  }
  return null;
}

/**
 * Rules the schema cannot express because they relate several keys or the file system. Production
 * refuses what is unsafe; other environments get the same structural checks (a contradiction is a
 * contradiction everywhere) but may run without TLS on loopback.
 */
export function semanticProblems(config: RelayConfig, baseDir = process.cwd()): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { server, security } = config;
  const production = config.environment === "production";
  if (security.require_post_quantum && CRYPTO_MODE_RANK[security.minimum_crypto_mode] < 2) {
    problems.push({
      path: "security.minimum_crypto_mode",
      message: `"${security.minimum_crypto_mode}" contradicts security.require_post_quantum = true; use "hybrid" or "quantum"`,
    });
  }
  if (production && !security.require_post_quantum) {
    problems.push({
      path: "security.require_post_quantum",
      message: "production must require post-quantum bundles (set it to true)",
    });
  }
  if (server.drain_close_period_seconds >= server.shutdown_grace_seconds) {
    problems.push({
      path: "server.drain_close_period_seconds",
      message: `must be shorter than server.shutdown_grace_seconds (${server.shutdown_grace_seconds}): the closes happen within the grace`,
    });
  }
  const tls = server.tls;
  if (tls.enabled) {
    for (const key of ["cert_file", "key_file"] as const) {
      const file = tls[key];
      if (file === undefined) {
        problems.push({ path: `server.tls.${key}`, message: "required when server.tls.enabled = true" });
        continue;
      }
      const full = isAbsolute(file) ? file : resolve(baseDir, file);
      let mode: number;
      try {
        mode = statSync(full).mode;
      } catch {
        problems.push({ path: `server.tls.${key}`, message: `cannot read ${file}` });
        continue;
      }
      // A private key readable by other local users leaks the relay's TLS identity.
      if (key === "key_file" && (mode & 0o077) !== 0) {
        problems.push({
          path: "server.tls.key_file",
          message: `${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
        });
      }
    }
  } else if (!server.behind_tls_proxy && !isLoopback(server.bind_address)) {
    problems.push({
      path: "server.tls.enabled",
      message:
        "plain HTTP is only allowed on loopback or with server.behind_tls_proxy = true; enable TLS or bind 127.0.0.1",
    });
  } else if (production && !server.behind_tls_proxy) {
    problems.push({
      path: "server.tls.enabled",
      message: "production needs TLS or server.behind_tls_proxy = true",
    });
  }
  // The relay creates its storage folders on start; one it cannot create or write would fail there.
  for (const [path, folder] of [
    ["storage.path", dirname(config.storage.path)],
    ["storage.blob_dir", config.storage.blob_dir],
  ] as const) {
    const problem = unwritableFolder(isAbsolute(folder) ? folder : resolve(baseDir, folder));
    if (problem !== null) problems.push({ path, message: problem });
  }
  const logKeyFile = config.compliance.log_key_file;
  if (production && logKeyFile !== undefined) {
    const full = isAbsolute(logKeyFile) ? logKeyFile : resolve(baseDir, logKeyFile);
    try {
      // The log key signs what every client trusts: no other local user may read it.
      const mode = statSync(full).mode;
      if ((mode & 0o077) !== 0)
        problems.push({
          path: "compliance.log_key_file",
          message: `${logKeyFile} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
        });
    } catch {
      // Absent: generated with mode 0600 on first start.
    }
  }
  config.compliance.approvers.forEach((entry, i) => {
    try {
      parseVerifierKeys(sha256, entry.ed25519, entry.ml_dsa_65);
    } catch (error) {
      problems.push({ path: `compliance.approvers.${i}`, message: (error as Error).message });
    }
  });
  if (config.compliance.approvals_required > config.compliance.approvers.length) {
    problems.push({
      path: "compliance.approvals_required",
      message: `needs ${config.compliance.approvals_required} approvals but compliance.approvers lists ${config.compliance.approvers.length} key(s)`,
    });
  }
  if (production && config.compliance.retention_audit_days < AUDIT_RETENTION_MINIMUM_DAYS) {
    problems.push({
      path: "compliance.retention_audit_days",
      message: `production keeps audit entries at least six years (${AUDIT_RETENTION_MINIMUM_DAYS} days)`,
    });
  }
  if (
    config.storage.backend === "postgres" &&
    config.storage.postgres_url === undefined &&
    config.storage.postgres_url_env === undefined
  ) {
    problems.push({
      path: "storage.postgres_url",
      message: 'required when storage.backend = "postgres" (or set storage.postgres_url_env)',
    });
  }
  if (config.storage.blob_backend === "postgres" && config.storage.backend !== "postgres") {
    problems.push({
      path: "storage.blob_backend",
      message: 'blobs in PostgreSQL need storage.backend = "postgres"',
    });
  }
  if (production && config.monitoring.log_level === "trace") {
    problems.push({
      path: "monitoring.log_level",
      message: "trace logging is not allowed in production (use info or debug)",
    });
  }
  if (production && server.api_port === 0) {
    problems.push({ path: "server.api_port", message: "production needs a fixed port, not 0" });
  }
  for (const [path, envKey] of [
    ["server.tls.key_passphrase_env", tls.key_passphrase_env],
    ["storage.postgres_url_env", config.storage.postgres_url_env],
    ["cluster.redis_url_env", config.cluster.redis_url_env],
  ] as const) {
    if (envKey !== undefined && process.env[envKey] === undefined) {
      problems.push({ path, message: `environment variable ${envKey} is not set` });
    }
  }
  return problems;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".") || "(top level)";
}

function withoutIssues(
  raw: Record<string, unknown>,
  issues: readonly { path: PropertyKey[]; code: string; keys?: string[] }[],
) {
  const copy = structuredClone(raw);
  for (const issue of issues) {
    const keys =
      issue.code === "unrecognized_keys"
        ? (issue.keys ?? []).map((key) => [...issue.path, key])
        : [issue.path];
    for (const path of keys) {
      if (path.length === 0) continue;
      let node: unknown = copy;
      for (const key of path.slice(0, -1)) node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
      if (typeof node === "object" && node !== null)
        delete (node as Record<PropertyKey, unknown>)[path[path.length - 1]!];
    }
  }
  return copy;
}

/** Parses TOML text and validates it; never throws for bad input, returns every problem instead. */
export function parseConfigText(text: string, source: string, environment?: Environment): ConfigResult {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const where = error instanceof TomlError ? ` (line ${error.line}, column ${error.column})` : "";
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return {
      ok: false,
      source,
      problems: [{ path: "(file)", message: `not valid TOML${where}: ${message}` }],
    };
  }
  if (environment !== undefined && raw.environment === undefined) raw.environment = environment;
  const parsed = relayConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
      const base = formatPath(issue.path);
      if (keys.length > 0) {
        const at = issue.path.length > 0 ? `${base}.` : "";
        return { path: `${at}${keys.join(", ")}`, message: "unknown key" };
      }
      return { path: base, message: issue.message };
    });
    // Best effort so one run reports everything: drop the offending keys (defaults take their place)
    // and run the cross-key and file checks on what remains.
    const repaired = relayConfigSchema.safeParse(withoutIssues(raw, parsed.error.issues));
    if (repaired.success) {
      const seen = new Set(problems.map((problem) => problem.path));
      problems.push(...semanticProblems(repaired.data).filter((problem) => !seen.has(problem.path)));
    }
    return { ok: false, source, problems };
  }
  const problems = semanticProblems(parsed.data);
  if (problems.length > 0) return { ok: false, source, problems };
  return { ok: true, source, config: parsed.data };
}

export async function loadConfigFile(file: string, environment?: Environment): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it";
    return { ok: false, source: file, problems: [{ path: "(file)", message: `${file}: ${reason}` }] };
  }
  return parseConfigText(text, file, environment);
}

/** Loads `--config FILE` or the named environment's file; throws `config_invalid` listing every problem. */
export async function loadConfigOrThrow(options: {
  file?: string | undefined;
  environment?: Environment | undefined;
}): Promise<RelayConfig> {
  const file = options.file ?? environmentConfigPath(options.environment ?? "development");
  const result = await loadConfigFile(file, options.file === undefined ? options.environment : undefined);
  if (!result.ok) {
    const lines = result.problems.map((problem) => `  ${problem.path}: ${problem.message}`);
    throw new NanoError("config_invalid", `${result.source} is not valid:\n${lines.join("\n")}`);
  }
  return result.config;
}
