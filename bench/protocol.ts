// `npm run bench -- protocol [--quick]`: per suite, full session setups/s, 1 KiB messages/s and
// max-size content throughput with session records serialized and parsed on every message (the
// conversation API over MemoryStores), bytes of overhead per message and per PQ epoch, and the hybrid
// vs classical steady-state ratio measured in the same run. Two steady states: direction changes
// every 10 messages (a ratchet step each time) and one direction only (the pure symmetric ratchet,
// the floor cost of a message). Then a breakdown of one message and one step into components.
import { mkdirSync, writeFileSync } from "node:fs";
import { nodeProvider as provider } from "../src/crypto/node-provider.ts";
import { MAX_PADDED_CONTENT } from "../src/protocol/padding.ts";
import {
  type FirstContactCosts,
  type FixCosts,
  firstContactCosts,
  fixCosts,
} from "./_first-contact-costs.ts";
import { type Breakdown, breakdown } from "./_protocol-breakdown.ts";
import { median, type Pair, parties, type SteadyResult, setup, steady } from "./_protocol-steady.ts";

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const setups = quick ? 20 : 60;
  const rounds = quick ? 3 : 7;
  const perRound = quick ? 200 : 500;
  const large = quick ? 20 : 60;
  const pairs = new Map<string, Pair>();
  const setupRates = new Map<string, number>();
  for (const suite of provider.suites) {
    const pair = await parties(suite);
    const bundles: Uint8Array[] = [];
    for (let i = 0; i < setups; i++) bundles.push(await pair.bundle());
    const t0 = performance.now();
    for (const bundle of bundles) await setup(pair, bundle);
    setupRates.set(suite.name, setups / ((performance.now() - t0) / 1000));
    pairs.set(suite.name, pair);
  }
  // Rounds interleave the suites so that load from other processes hits all of them alike.
  const small = new Map<string, SteadyResult[]>();
  const oneWay = new Map<string, SteadyResult[]>();
  const big = new Map<string, SteadyResult[]>();
  const push = (map: Map<string, SteadyResult[]>, name: string, result: SteadyResult) =>
    map.set(name, [...(map.get(name) ?? []), result]);
  for (let round = 0; round < rounds; round++) {
    for (const suite of provider.suites) {
      const pair = pairs.get(suite.name)!;
      push(small, suite.name, await steady(pair, 1024, perRound));
      push(oneWay, suite.name, await steady(pair, 1024, perRound, null));
      push(big, suite.name, await steady(pair, MAX_PADDED_CONTENT, large));
    }
  }
  const rows = provider.suites.map((suite) => {
    const s = small.get(suite.name)!;
    const b = big.get(suite.name)!;
    const epochs = s.reduce((sum, r) => sum + r.epochs, 0);
    const kem = s.reduce((sum, r) => sum + r.kemBytesPerEpoch * r.epochs, 0);
    const rate = median(s.map((r) => r.messagesPerSecond));
    const oneWayRate = median(oneWay.get(suite.name)!.map((r) => r.messagesPerSecond));
    return {
      suite: suite.name,
      "setups/s": Math.round(setupRates.get(suite.name)!),
      "1KiB msg/s": Math.round(rate),
      "CPU µs/msg": Math.round(median(s.map((r) => r.cpuMicrosPerMessage))),
      "1KiB one-way msg/s": Math.round(oneWayRate),
      "one-way CPU µs/msg": Math.round(median(oneWay.get(suite.name)!.map((r) => r.cpuMicrosPerMessage))),
      "max-content MiB/s": Number(
        ((median(b.map((r) => r.messagesPerSecond)) * MAX_PADDED_CONTENT) / 2 ** 20).toFixed(1),
      ),
      "overhead B/msg (1KiB)": Math.round(median(s.map((r) => r.overheadPerMessage))),
      "msgs per PQ epoch": epochs > 0 ? Math.round((rounds * perRound) / epochs) : "-",
      "KEM B/epoch": epochs > 0 ? Math.round(kem / epochs) : 0,
    };
  });
  const rate = (name: string, column: "1KiB msg/s" | "1KiB one-way msg/s") =>
    Number(rows.find((r) => r.suite === name)![column]);
  const cpu = (name: string, column: "CPU µs/msg" | "one-way CPU µs/msg") =>
    Number(rows.find((r) => r.suite === name)![column]);
  const ratio = rate("hybrid", "1KiB msg/s") / rate("classical", "1KiB msg/s");
  const oneWayRatio = rate("hybrid", "1KiB one-way msg/s") / rate("classical", "1KiB one-way msg/s");
  const cpuRatio = cpu("classical", "CPU µs/msg") / cpu("hybrid", "CPU µs/msg");
  const oneWayCpuRatio = cpu("classical", "one-way CPU µs/msg") / cpu("hybrid", "one-way CPU µs/msg");
  console.table(rows);
  console.log(
    `hybrid / classical steady-state 1 KiB messages (median of ${rounds} interleaved rounds): ${(ratio * 100).toFixed(1)}% (goal >= 85%); one way: ${(oneWayRatio * 100).toFixed(1)}%`,
  );
  console.log(
    `same, by CPU time per message (robust to other processes' load): ${(cpuRatio * 100).toFixed(1)}%; one way: ${(oneWayCpuRatio * 100).toFixed(1)}%`,
  );
  console.log(
    "1KiB msg/s: direction changes every 10 messages (a ratchet step each time); one-way: no direction change (symmetric ratchet only); records are parsed and written per message",
  );
  const options = quick ? { samples: 5, operations: 100 } : { samples: 9, operations: 300 };
  const parts: Breakdown[] = provider.suites.map((suite) => {
    const pair = pairs.get(suite.name)!;
    return breakdown(suite.id, pair.alice.sessionMap.get("bob")!, pair.bob.sessionMap.get("alice")!, options);
  });
  printBreakdown(parts, (name) => cpu(name, "one-way CPU µs/msg"));
  const costOptions = quick ? { samples: 3, operations: 10 } : { samples: 5, operations: 20 };
  const firstContacts: FirstContactCosts[] = [];
  const fixes: FixCosts[] = [];
  for (const suite of provider.suites) {
    firstContacts.push(await firstContactCosts(suite, costOptions));
    fixes.push(
      await fixCosts(suite, quick ? { samples: 5, operations: 2000 } : { samples: 9, operations: 5000 }),
    );
  }
  printFirstContacts(firstContacts);
  printFixes(fixes);
  const out = new URL("./results/", import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(
    new URL("protocol.json", out),
    `${JSON.stringify({ date: new Date().toISOString(), quick, rows, hybridVsClassical: ratio, hybridVsClassicalOneWay: oneWayRatio, hybridVsClassicalCpu: cpuRatio, hybridVsClassicalOneWayCpu: oneWayCpuRatio, breakdown: parts, firstContacts, fixes }, null, 2)}\n`,
  );
}

/** One table per kind: rows are components, columns the suites' µs (x count per message or step). */
function printBreakdown(parts: readonly Breakdown[], measuredMicros: (suite: string) => number): void {
  const fmt = (micros: number) => (micros >= 100 ? micros.toFixed(0) : micros.toFixed(1));
  for (const kind of ["perMessage", "perStep"] as const) {
    const names = [...new Set(parts.flatMap((p) => p[kind].map((c) => c.name)))];
    const table: Record<string, string | number>[] = names.map((name) => {
      const row: Record<string, string | number> = { component: name };
      for (const part of parts) {
        const c = part[kind].find((x) => x.name === name);
        row[`${part.suite} µs`] = c ? `${fmt(c.micros)}${c.perMessage > 1 ? ` x${c.perMessage}` : ""}` : "-";
      }
      return row;
    });
    if (kind === "perMessage") {
      const sum: Record<string, string | number> = { component: "sum of the above (one message)" };
      const measured: Record<string, string | number> = { component: "measured one-way CPU µs/msg" };
      const other: Record<string, string | number> = { component: "other: async stores, copies, GC" };
      for (const part of parts) {
        const total = measuredMicros(part.suite);
        sum[`${part.suite} µs`] = fmt(part.messageMicros);
        measured[`${part.suite} µs`] = fmt(total);
        other[`${part.suite} µs`] = fmt(total - part.messageMicros);
      }
      table.push(sum, measured, other);
      console.log("where one message's time goes (send + receive, no ratchet step):");
    } else {
      console.log("a ratchet step (direction change) adds, split between sender and receiver:");
    }
    console.table(table);
  }
}

const micros = (value: number) => (value >= 100 ? Math.round(value) : Number(value.toFixed(1)));

/** Finding 5: the recipient's CPU per first contact, honest and forged, and the forger's. */
function printFirstContacts(costs: readonly FirstContactCosts[]): void {
  console.log(
    "first contacts, recipient CPU µs (protocol decision; an honest new contact also costs the client one key-transparency proof):",
  );
  console.table(
    costs.map((c) => ({
      suite: c.suite,
      honest: micros(c.honest),
      "forged, resent": micros(c.resent),
      "fresh, wrong name": micros(c.freshWrongName),
      "fresh, unproven record": micros(c.freshUnproven),
      "fresh, full handshake": micros(c.freshFullHandshake),
      "re-sealed handshake": micros(c.resealedHandshake),
      "before the fix (min)": micros(c.beforeFix),
      "forger: re-seal": micros(c.buildReseal),
      "forger: build fresh": micros(c.buildFresh),
      "first contact B": c.firstContactBytes,
    })),
  );
  for (const c of costs) {
    const resent = (c.resent / c.honest) * 100;
    console.log(
      `${c.suite}: a resent forgery costs ${resent.toFixed(2)}% of an honest first contact (goal < 5%): ${resent < 5 ? "met" : "NOT met"}; a fresh one ${((c.freshWrongName / c.honest) * 100).toFixed(1)}%, for ${micros(c.buildReseal)} µs of the forger's`,
    );
  }
}

/** What each fix of the protocol audit adds per message (findings 3, 4, 6) or per KEM step (7). */
function printFixes(costs: readonly FixCosts[]): void {
  console.log("cost of the audit's fixes, CPU µs per operation:");
  console.table(
    costs.map((c) => ({
      suite: c.suite,
      "body key+nonce, salted (6)": micros(c.bodyKeysSalted),
      "... unsalted, before": micros(c.bodyKeysUnsalted),
      "chain-0 check/msg (3)": micros(c.chainZeroCheck),
      "pin check/msg (4)": micros(c.pinCheck),
      "H(ek)/KEM step (7)": micros(c.offerHash),
    })),
  );
}
