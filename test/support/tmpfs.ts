import { spawnSync } from "node:child_process";

/**
 * Full-disk tests put their files on a small tmpfs in a private mount namespace of their child, which
 * vanishes with it, so nothing stays mounted whatever happens to the test. That needs root or user
 * namespaces. Returns false when a tmpfs can be mounted so, else the reason to skip (said loudly on
 * stderr); under CI, where the tests must run, it throws instead.
 */
export function tmpfsUnavailable(): string | false {
  const probe = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt && echo ok"],
    { encoding: "utf8" },
  );
  if (probe.stdout.trim() === "ok") return false;
  if (process.env.CI)
    throw new Error(`the full-disk test needs unshare --mount and tmpfs under CI: ${probe.stderr}`);
  process.stderr.write("FULL DISK TEST SKIPPED: cannot mount a tmpfs in a private mount namespace here\n");
  return "unshare --mount / mount -t tmpfs not permitted";
}

/**
 * Runs a Node fixture (`node FIXTURE MOUNT`) with MOUNT a tmpfs of `sizeMiB` in the child's own mount
 * namespace, and returns the JSON lines it printed (its steps), in order. Fails the test with the
 * child's output when it exits non-zero.
 */
export function runFixtureOnSmallTmpfs(
  fixture: string,
  mount: string,
  sizeMiB: number,
  timeoutMs: number,
): unknown[] {
  const run = spawnSync(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mkdir -p "$1" && mount -t tmpfs -o "size=$2m" tmpfs "$1" && exec "$3" "$4" "$1"',
      "sh",
      mount,
      String(sizeMiB),
      process.execPath,
      fixture,
    ],
    { encoding: "utf8", timeout: timeoutMs },
  );
  if (run.status !== 0)
    throw new Error(
      `the fixture on a ${sizeMiB} MiB tmpfs failed (${run.status}): ${run.stdout}\n${run.stderr}`,
    );
  return run.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as unknown);
}
