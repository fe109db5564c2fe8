// `npm run bench -- local-store [--quick]`: durable transactions per second on the client's local
// store (a real SQLite file, synchronous = FULL) with C callers in flight, each awaiting its own
// transaction (an async work that seals and inserts a 1 KiB outbox entry, as a send does). Concurrency 1
// is the baseline measured in the same run: every transaction commits alone, as before group commit;
// above it, transactions queued together share one COMMIT (docs/client.md "Group commit"). `--send`
// makes each work shaped like a send instead: read the peer's session (a hybrid-sized ~2.6 KB state),
// write it back advanced, insert the outbox entry and the `sent` row; it also prints the process's CPU
// per transaction, the client's store cost per message without the protocol or the network.
// `--long` stores a received 1 MiB long text per work instead (what a receiver commits for one; 1 and
// 4 callers): the store's share of the 1 MiB receiver's CPU.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStore, type LocalTables } from "../src/client/local-store/local-store.ts";
import { randomBytes } from "../src/crypto/index.ts";
import { machineInfo, printMachine } from "./_harness.ts";

const CONCURRENCY = [1, 4, 16, 64] as const;
const LONG_CONCURRENCY = [1, 4] as const;
/** The long text `--long` stores: the e2e benchmark's large size. */
const LONG_TEXT_BYTES = 1 << 20;

type Work = "outbox" | "send" | "long";
const WORK_NAMES: Readonly<Record<Work, string>> = {
  outbox: "outbox insert",
  send: "send-shaped (session read + write, outbox, sent)",
  long: "a received 1 MiB long text",
};

interface Round {
  readonly concurrency: number;
  readonly transactionsPerSec: number;
  readonly worksPerCommit: number;
  /** Process CPU (user + system) per transaction, µs. */
  readonly cpuMicrosPerTransaction: number;
}

/** The size of a hybrid session record's state (the protocol's serialized session). */
const SESSION_STATE_BYTES = 2600;
const SESSION_ID = new TextEncoder().encode("contact-sessions:bob");

/** A send's writes on the tables, around what the protocol would compute. */
function sendShaped(tables: LocalTables, clientMessageId: string, at: number): void {
  const state = tables.getSessions("bob")[0]?.state ?? new Uint8Array(SESSION_STATE_BYTES);
  const advanced = Uint8Array.from(state);
  advanced[0] = (advanced[0]! + 1) & 0xff;
  tables.putSession({ sessionId: SESSION_ID, peer: "bob", state: advanced, updatedAt: at, archived: false });
  tables.insertOutbox({ clientMessageId, recipient: "bob", envelope: randomBytes(1024), createdAt: at });
  tables.insertSent({
    clientMessageId,
    recipient: "bob",
    contentType: "text",
    body: randomBytes(700),
    sentAt: at,
    contentId: "00",
    suite: 2,
  });
}

/** What a receiver stores for a long text: its UTF-8 as the received row's body. */
function longReceived(tables: LocalTables, messageId: string, body: Uint8Array, at: number): void {
  tables.insertReceived({ messageId, sender: "bob", contentType: "text", body, receivedAt: at, suite: 2 });
}

async function round(concurrency: number, durationMs: number, work: Work): Promise<Round> {
  const body = new Uint8Array(LONG_TEXT_BYTES).fill(0x78);
  const dir = mkdtempSync(join(tmpdir(), "nano-bench-local-store-"));
  const store = await LocalStore.open(join(dir, "local.db"), randomBytes(32));
  try {
    let next = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const until = start + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const clientMessageId = `m-${next++}`;
          await store.transaction(async (tables) => {
            await Promise.resolve();
            if (work === "send") {
              sendShaped(tables, clientMessageId, next);
              return;
            }
            if (work === "long") {
              longReceived(tables, clientMessageId, body, next);
              return;
            }
            tables.insertOutbox({
              clientMessageId,
              recipient: "bob",
              envelope: randomBytes(1024),
              createdAt: 1,
            });
          });
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const stats = store.commitStats();
    return {
      concurrency,
      transactionsPerSec: next / seconds,
      worksPerCommit: stats.works / stats.commits,
      cpuMicrosPerTransaction: (used.user + used.system) / next,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const work: Work = args.includes("--long") ? "long" : args.includes("--send") ? "send" : "outbox";
  const concurrencies = work === "long" ? LONG_CONCURRENCY : CONCURRENCY;
  const rounds = quick ? 3 : 5;
  const durationMs = quick ? 500 : 1500;
  const machine = machineInfo();
  printMachine(machine);
  // Interleaved rounds, median per concurrency: a shared machine's load drifts between them.
  const measured = new Map<number, Round[]>(concurrencies.map((c) => [c, []]));
  for (let index = 0; index < rounds; index += 1) {
    for (const concurrency of concurrencies)
      measured.get(concurrency)!.push(await round(concurrency, durationMs, work));
  }
  const rows = concurrencies.map((concurrency) => {
    const results = measured.get(concurrency)!;
    return {
      concurrency,
      transactionsPerSec: median(results.map((r) => r.transactionsPerSec)),
      worksPerCommit: median(results.map((r) => r.worksPerCommit)),
      cpuMicrosPerTransaction: median(results.map((r) => r.cpuMicrosPerTransaction)),
    };
  });
  const baseline = rows[0]!.transactionsPerSec;
  process.stdout.write(`work: ${WORK_NAMES[work]}\n`);
  process.stdout.write("callers in flight  transactions/s  works/commit  ratio  CPU µs/transaction\n");
  for (const row of rows) {
    process.stdout.write(
      `${String(row.concurrency).padStart(17)}  ${Math.round(row.transactionsPerSec).toString().padStart(14)}  ` +
        `${row.worksPerCommit.toFixed(1).padStart(12)}  x${(row.transactionsPerSec / baseline).toFixed(2)}` +
        `${Math.round(row.cpuMicrosPerTransaction).toString().padStart(20)}\n`,
    );
  }
  const directory = new URL("./results/", import.meta.url);
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    new URL(work === "outbox" ? "local-store.json" : `local-store-${work}.json`, directory),
    `${JSON.stringify({ machine, work, rounds, durationMs, rows, at: new Date().toISOString() }, null, 2)}\n`,
  );
}
