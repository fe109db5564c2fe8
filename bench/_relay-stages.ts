// Where a message's time goes inside the relay, for `npm run bench -- relay`: the relay's own stage
// histograms (src/relay/message-stages.ts) and group-commit histograms, read from its /metrics before
// and after a run and turned into means per stage, commits per message and the relay's CPU per
// message (from /proc, so Linux only; null elsewhere).
import { readFileSync } from "node:fs";

export interface RelaySample {
  /** metric name with labels -> value, for the _sum and _count series this module reads. */
  readonly series: ReadonlyMap<string, number>;
  /** The relay process's user + system CPU so far, in ms, or null where /proc is missing. */
  readonly cpuMs: number | null;
}

export interface StageReport {
  /** Mean ms per stage over the run: check, commit, push, ack, delete. */
  readonly stagesMs: Record<string, number>;
  /** Transactions per delivered message (sends and ack deletes both commit). */
  readonly commitsPerMessage: number;
  readonly writesPerCommit: number;
  /** Mean ms from BEGIN to durable COMMIT per transaction (the event loop held, on SQLite). */
  readonly commitMs: number;
  /** Share of the run's wall time the relay spent inside transactions. */
  readonly commitShare: number;
  readonly cpuMsPerMessage: number | null;
}

const STAGES = ["check", "commit", "push", "ack", "delete"] as const;
const SERIES =
  /^(nano_message_stage_seconds|nano_group_commit_seconds|nano_group_commit_batch_size)_(sum|count)(\{[^}]*\})? (\S+)$/;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

export function cpuMs(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 14th field.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) / USER_HZ) * 1000;
  } catch {
    return null;
  }
}

export async function sampleRelay(apiUrl: string, pid: number): Promise<RelaySample> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = SERIES.exec(line);
    if (match !== null) series.set(`${match[1]}_${match[2]}${match[3] ?? ""}`, Number(match[4]));
  }
  return { series, cpuMs: cpuMs(pid) };
}

export function stageReport(
  before: RelaySample,
  after: RelaySample,
  messages: number,
  seconds: number,
): StageReport {
  const delta = (key: string) => (after.series.get(key) ?? 0) - (before.series.get(key) ?? 0);
  const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
  const stagesMs: Record<string, number> = {};
  for (const stage of STAGES) {
    const count = delta(`nano_message_stage_seconds_count{stage="${stage}"}`);
    stagesMs[stage] =
      count === 0 ? 0 : round((delta(`nano_message_stage_seconds_sum{stage="${stage}"}`) / count) * 1000);
  }
  const commits = delta("nano_group_commit_seconds_count");
  const commitSeconds = delta("nano_group_commit_seconds_sum");
  return {
    stagesMs,
    commitsPerMessage: round(commits / messages),
    writesPerCommit: commits === 0 ? 0 : round(delta("nano_group_commit_batch_size_sum") / commits, 1),
    commitMs: commits === 0 ? 0 : round((commitSeconds / commits) * 1000),
    commitShare: round(commitSeconds / seconds),
    cpuMsPerMessage:
      before.cpuMs === null || after.cpuMs === null
        ? null
        : round((after.cpuMs - before.cpuMs) / messages, 3),
  };
}

export function formatStageReport(scenario: string, report: StageReport): string {
  const stages = STAGES.map((stage) => `${stage} ${report.stagesMs[stage]}`).join(", ");
  return (
    `relay stages, ${scenario} (mean ms): ${stages}; ${report.commitsPerMessage} commits/msg, ` +
    `${report.writesPerCommit} writes/commit, ${report.commitMs} ms/commit, in commits ${Math.round(report.commitShare * 100)}% of the run; ` +
    `relay CPU ${report.cpuMsPerMessage ?? "?"} ms/msg\n`
  );
}
