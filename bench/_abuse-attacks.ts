// The attacks of `npm run bench -- abuse`, one function each, run in the attacker process
// (bench/_abuse-attacker.ts) from the attacker's own address (127.0.0.2), each looping as fast as the
// relay lets it until the phase ends. They are issue 12's findings as an attacker would run them.
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import WebSocket from "ws";
import { randomBytes } from "../src/crypto/index.ts";
import { testEnvelope } from "../test/relay/fixtures/identities.ts";

/** Where the relay is, and the accounts the setup made for the attacker (name -> token). */
export interface AttackTarget {
  readonly url: string;
  readonly wsUrl: string;
  readonly apiPort: number;
  readonly localAddress: string;
  readonly tokens: Readonly<Record<string, string>>;
  /** Prepared request bodies (prekey uploads), by account. */
  readonly uploads: Readonly<Record<string, string>>;
  /** The victim whose prekeys the drain attack fetches. */
  readonly victim: string;
}

/** What the attacker did: requests or frames sent, and how many of them the relay refused. */
export interface AttackCounters {
  sent: number;
  refused: number;
  errors: number;
}

export type Attack = (target: AttackTarget, running: () => boolean) => Promise<AttackCounters>;

function counters(): AttackCounters {
  return { sent: 0, refused: 0, errors: 0 };
}

/** One HTTP request from the attacker's address; resolves with the status (0 on a network error). */
function send(
  target: AttackTarget,
  method: string,
  path: string,
  body: string | undefined,
  token?: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      new URL(path, target.url),
      {
        method,
        localAddress: target.localAddress,
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `one` in `parallel` loops until the phase ends, counting statuses. */
async function loop(
  parallel: number,
  running: () => boolean,
  one: (lane: number) => Promise<number>,
): Promise<AttackCounters> {
  const count = counters();
  await Promise.all(
    Array.from({ length: parallel }, async (_, lane) => {
      while (running()) {
        const status = await one(lane);
        count.sent++;
        if (status === 0) {
          count.errors++;
          await pause(10);
        } else if (status === 429 || status === 503 || status === 408 || status === 413) count.refused++;
      }
    }),
  );
  return count;
}

/** Finding 1: four accounts upload 100 signed one-time ML-KEM prekeys each, as fast as allowed. */
const prekeyUploads: Attack = (target, running) => {
  const names = Object.keys(target.uploads);
  return loop(names.length * 2, running, (lane) => {
    const name = names[lane % names.length]!;
    return send(target, "PUT", "/v1/prekeys", target.uploads[name], target.tokens[name]);
  });
};

/**
 * Finding 2: an account with a full mailbox opens 150 WebSockets that never read (the mailbox was
 * filled by the setup, sending to itself).
 */
const unreadSockets: Attack = async (target, running) => {
  const count = counters();
  const sockets: WebSocket[] = [];
  for (let i = 0; i < 150 && running(); i++) {
    const socket = new WebSocket(target.wsUrl, {
      localAddress: target.localAddress,
      headers: { authorization: `Bearer ${target.tokens.hoarder}` },
    });
    socket.on("error", () => {});
    socket.once("upgrade", (response) => response.socket.pause());
    socket.once("close", (code) => {
      if (code === 1013 || code === 4409) count.refused++;
    });
    sockets.push(socket);
    count.sent++;
    await pause(10);
  }
  while (running()) await pause(50);
  for (const socket of sockets) socket.terminate();
  return count;
};

/** Finding 3: sockets without a token, each sending 20,000 tiny malformed frames, reconnecting. */
const unauthenticatedFrames: Attack = (target, running) =>
  loop(4, running, async () => {
    const socket = new WebSocket(target.wsUrl, { localAddress: target.localAddress });
    socket.on("error", () => {});
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const opened = await Promise.race([
      new Promise<boolean>((resolve) => socket.once("open", () => resolve(true))),
      closed.then(() => false),
    ]);
    if (opened) for (let i = 0; i < 20_000 && socket.readyState === WebSocket.OPEN; i++) socket.send(`x${i}`);
    const code = await closed;
    return code === 1008 || code === 1013 ? 429 : code === 1006 ? 0 : 200;
  });

/** Finding 4: 200 connections trickling a claim's body at one byte every 500 ms, reconnecting. */
const slowBodies: Attack = (target, running) =>
  loop(200, running, async () => {
    const socket = connect({ port: target.apiPort, host: "127.0.0.1", localAddress: target.localAddress });
    socket.on("error", () => {});
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
    });
    socket.write(
      "POST /v1/challenges HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    );
    const trickle = setInterval(() => {
      if (!running()) socket.destroy();
      else socket.write(" ");
    }, 500);
    await new Promise((resolve) => socket.once("close", resolve));
    clearInterval(trickle);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    return status === 0 ? 429 : status;
  });

/** Finding 6: one account fetches the victim's bundle as fast as it can (drain). */
const prekeyDrain: Attack = (target, running) =>
  loop(4, running, () =>
    send(target, "GET", `/v1/prekeys/${target.victim}`, undefined, target.tokens.drainer),
  );

/** Finding 7: bogus claims without a login, each one a failed claim. */
const bogusClaims: Attack = (target, running) => {
  const junk = Buffer.from(randomBytes(32)).toString("base64");
  let n = 0;
  return loop(4, running, () =>
    send(
      target,
      "POST",
      "/v1/accounts",
      JSON.stringify({
        username: `mallory${n++ % 1000}`,
        identity_record: junk,
        challenge: junk,
        signature: junk,
      }),
    ),
  );
};

/** Finding 8: username enumeration through GET /v1/accounts/:username. */
const lookups: Attack = (target, running) => {
  let n = 0;
  return loop(4, running, () =>
    send(target, "GET", `/v1/accounts/guess${n++}`, undefined, target.tokens.prober),
  );
};

export const ATTACKS: Readonly<Record<string, { readonly finding: string; readonly run: Attack }>> = {
  "prekey-uploads": {
    finding: "1: 4 accounts upload 100 signed keys as fast as allowed",
    run: prekeyUploads,
  },
  "unread-sockets": { finding: "2: 150 sockets of one account never read", run: unreadSockets },
  "unauth-frames": {
    finding: "3: unauthenticated sockets flood malformed frames",
    run: unauthenticatedFrames,
  },
  "slow-bodies": { finding: "4: 200 connections trickle bodies at 2 B/s", run: slowBodies },
  "prekey-drain": { finding: "6: one account fetches the victim's bundle non-stop", run: prekeyDrain },
  "bogus-claims": { finding: "7: bogus claims without a login", run: bogusClaims },
  lookups: { finding: "8: username enumeration", run: lookups },
};

/** A self-send that fills the hoarder's mailbox (the setup of the unread-sockets attack). */
export function fillerEnvelope(): string {
  return Buffer.from(testEnvelope(randomBytes(30_000))).toString("base64");
}
