import type { Histogram } from "@prometheus-io/client";

/**
 * Where a message's time goes inside the relay (issue 17, goal 3), as histograms of each stage:
 * - `check`: the send frame read (before the read-rate queue) until it is handed to the group commit;
 * - `commit`: handed to the group commit until its transaction is durable;
 * - `push`: durable until the push pump writes it to a recipient's socket (only for pushes of a
 *   message committed by this process since it started);
 * - `ack`: pushed until the recipient's ack frame for it is read;
 * - `delete`: that ack read until the delete is durable.
 * Cheap enough to stay on (a map entry and an observe per stage): the maps hold only messages in flight
 * and are cleared when a peer never acks, so they cannot grow without bound.
 */
export type MessageStage = "check" | "commit" | "push" | "ack" | "delete";

/** In-flight entries per map before it is cleared: far above any window, far below a memory concern. */
const MAX_TRACKED = 65_536;

type Observer = { observe(value: number): void };

export class MessageStages {
  readonly #stages: Record<MessageStage, Observer>;
  /** server id -> when its commit was durable (performance.now() ms). */
  readonly #committedAt = new Map<number, number>();

  constructor(histogram: Histogram<"stage">) {
    this.#stages = {
      check: histogram.labels({ stage: "check" }),
      commit: histogram.labels({ stage: "commit" }),
      push: histogram.labels({ stage: "push" }),
      ack: histogram.labels({ stage: "ack" }),
      delete: histogram.labels({ stage: "delete" }),
    };
  }

  /** Records the stage that began at `since` (performance.now() ms) and ends now; returns now. */
  observe(stage: MessageStage, since: number): number {
    const now = performance.now();
    this.#stages[stage].observe((now - since) / 1000);
    return now;
  }

  committed(serverId: number, at: number): void {
    remember(this.#committedAt, serverId, at);
  }

  /** The message was written to a recipient's socket: closes its `push` stage once. */
  pushed(serverId: number): number {
    const committed = this.#committedAt.get(serverId);
    if (committed === undefined) return performance.now();
    this.#committedAt.delete(serverId);
    return this.observe("push", committed);
  }
}

/** A map of in-flight ids that a peer which never answers cannot grow without bound. */
export function remember(map: Map<number, number>, id: number, at: number): void {
  if (map.size >= MAX_TRACKED) map.clear();
  map.set(id, at);
}
