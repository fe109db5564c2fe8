// A pipelining client against a stalled disk (src/relay/limits/socket-flow.ts MAX_UNANSWERED_FRAMES):
// the fsync runs off the event loop, so while one is stuck the relay goes on reading. Without a bound
// on the frames a connection is owed answers for, every frame read became a write queued behind the
// stuck fsync, as fast as the read rate allowed, for as long as the disk stalled. The real WAL fsync
// runs underneath; the test only holds its answer back, as a slow disk would.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { MAX_UNANSWERED_FRAMES } from "../../../src/relay/limits/socket-flow.ts";
import type { Durability } from "../../../src/store/sqlite/group-commit.ts";
import type { WalSync } from "../../../src/store/sqlite/wal-sync.ts";
import { buildTestRelay, signUp, type TestRelay } from "../fixtures/harness.ts";
import { Peer } from "../fixtures/processes.ts";

/** The real WAL sync, whose answer waits while the gate is shut. */
class GatedSync implements Durability {
  shut = false;
  readonly #waiting: (() => void)[] = [];
  readonly #inner: WalSync;
  constructor(inner: WalSync) {
    this.#inner = inner;
  }
  async sync(): Promise<void> {
    await this.#inner.sync();
    if (this.shut) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  syncNow(): void {
    this.#inner.syncNow();
  }
  open(): void {
    this.shut = false;
    for (const resume of this.#waiting.splice(0)) resume();
  }
}

const FLOOD = 1000;

describe("frames owed an answer while the disk stalls", { timeout: 60_000 }, () => {
  let relay: TestRelay;
  let gate: GatedSync | null = null;
  let url: string;
  before(async () => {
    relay = await buildTestRelay(
      {},
      {
        durability: (walSync) => {
          gate = new GatedSync(walSync);
          return gate;
        },
      },
    );
    await relay.app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${(relay.app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => {
    gate?.open();
    await relay.close();
  });

  it(`stops handling a connection's frames at ${MAX_UNANSWERED_FRAMES} unanswered, and answers all once the disk returns`, async () => {
    const alice = await signUp(relay.app, "alice");
    const peer = new Peer(url, alice.auth.authorization.slice("Bearer ".length));
    await peer.waitFor((frame) => frame.type === "ready");
    gate!.shut = true;
    // Each ack is a durable write: with the fsync held, none is answered.
    for (let i = 0; i < FLOOD; i++) peer.send({ type: "ack", ids: [i + 1], ref: `a${i}` });
    // Long enough for the relay to read the whole flood (about 1 MiB at the read rate).
    let queued = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      queued = Math.max(queued, relay.store.writer.pending);
    }
    assert.ok(queued > 0, "the flood reached the store");
    assert.ok(
      queued <= MAX_UNANSWERED_FRAMES,
      `${queued} writes queued behind one stalled fsync for one connection`,
    );
    gate!.open();
    const answered = () => peer.frames.filter((frame) => frame.type === "acked").length;
    for (let i = 0; i < 400 && answered() < FLOOD; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(answered(), FLOOD, "every frame answered once the disk is back");
    assert.equal(peer.closeCode, null);
    peer.close();
  });
});
