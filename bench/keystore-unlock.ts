// `npm run bench -- keystore-unlock [runs]`: how long unlocking a keystore takes. The client promises
// "well under a second" with DEFAULT_ARGON2ID; the baseline is argon2id at the lowest accepted
// parameters, measured in the same run so the ratio survives a noisy shared machine.
import { mkdirSync, writeFileSync } from "node:fs";
import { openKeystore, sealKeystore } from "../src/client/keystore/keystore.ts";
import {
  ARGON2ID_BOUNDS,
  type Argon2idParameters,
  DEFAULT_ARGON2ID,
  randomBytes,
} from "../src/crypto/index.ts";

const MINIMUM: Argon2idParameters = {
  memoryKiB: ARGON2ID_BOUNDS.memoryKiB.min,
  passes: ARGON2ID_BOUNDS.passes.min,
  parallelism: 1,
};

async function medianUnlockMs(parameters: Argon2idParameters, runs: number): Promise<number> {
  const file = await sealKeystore(randomBytes(8000), "correct horse battery staple", {
    argon2id: parameters,
  });
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    await openKeystore(file, "correct horse battery staple");
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 7);
  const baseline = await medianUnlockMs(MINIMUM, runs);
  const defaults = await medianUnlockMs(DEFAULT_ARGON2ID, runs);
  const rows = [
    { case: `minimum (${MINIMUM.memoryKiB} KiB, ${MINIMUM.passes} passes)`, medianMs: baseline, ratio: 1 },
    {
      case: `default (${DEFAULT_ARGON2ID.memoryKiB} KiB, ${DEFAULT_ARGON2ID.passes} passes)`,
      medianMs: defaults,
      ratio: defaults / baseline,
    },
  ];
  for (const row of rows) {
    process.stdout.write(
      `${row.case.padEnd(36)} ${row.medianMs.toFixed(1).padStart(8)} ms  x${row.ratio.toFixed(2)}\n`,
    );
  }
  const directory = new URL("./results/", import.meta.url);
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    new URL("keystore-unlock.json", directory),
    `${JSON.stringify({ runs, node: process.versions.node, rows, at: new Date().toISOString() }, null, 2)}\n`,
  );
}
