import type { RelayMessage } from "../transport/relay-api.ts";

/**
 * Messages that arrived together are processed together: every `process` call starts at once (the
 * local store runs their transactions one after another in call order, so per-sender order holds and
 * a store with group commit can share one disk wait among them), and the outcomes are read in order.
 *
 * One exception to "in call order": an attachment's message commits in a second pass, after its
 * download, so a later message of the same sender may have been tried before it committed — for a
 * first message, before the session it opens existed. Such a later message failed without changing
 * anything (a failed decryption leaves every stored state as it was), so it is tried once more after
 * the earlier one settled. `failed` says which outcomes are such failures.
 */
export function processTogether<O>(
  messages: readonly RelayMessage[],
  process: (message: RelayMessage) => Promise<O>,
  failed: (outcome: O) => boolean,
): Promise<O>[] {
  let settledCount = 0;
  const settledAt = new Array<number>(messages.length).fill(-1);
  const first = messages.map((message, index) => {
    const attempt = process(message).finally(() => {
      settledAt[index] = settledCount++;
    });
    // Handled here at once: it is read only after the outcomes before it, and a rejection (a store
    // error) while an earlier one is still pending must not be an unhandled rejection, which ends
    // the process. The caller still sees it when it reads this outcome.
    attempt.catch(() => {});
    return attempt;
  });
  const results: Promise<O>[] = [];
  first.forEach((attempt, index) => {
    const before = results[index - 1];
    // Read in order: retries, if any, are then also made in order.
    const result = (async () => {
      if (before !== undefined) await before.catch(() => {});
      const outcome = await attempt;
      if (!failed(outcome)) return outcome;
      const sender = messages[index]!.from;
      for (let earlier = 0; earlier < index; earlier++) {
        if (messages[earlier]!.from === sender && settledAt[earlier]! > settledAt[index]!)
          return process(messages[index]!);
      }
      return outcome;
    })();
    // Read by the caller in order; one that stops early must not leave a rejection unhandled.
    result.catch(() => {});
    results.push(result);
  });
  return results;
}
