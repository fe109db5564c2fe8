// The attacker of `npm run bench -- abuse`, a process of its own (forked with the lowest CPU priority,
// as if on another machine) so its loops do not share the victim's event loop. Usage:
//   fork(_abuse-attacker.ts, [attack name]); IPC {type: "start", target: AttackTarget} starts it (the
// target carries megabytes of prepared uploads: too much for argv), {type: "stop"} ends it and the
// process answers {type: "done", counters}.
import { ATTACKS, type AttackTarget } from "./_abuse-attacks.ts";

const [name] = process.argv.slice(2);
const attack = name === undefined ? undefined : ATTACKS[name];
if (attack === undefined) {
  process.stderr.write("usage: _abuse-attacker.ts ATTACK\n");
  process.exit(64);
}
let running = true;
const target = await new Promise<AttackTarget>((resolve) => {
  process.on("message", (message: { type?: string; target?: AttackTarget }) => {
    if (message.type === "start" && message.target !== undefined) resolve(message.target);
    else if (message.type === "stop") running = false;
  });
});
process.on("disconnect", () => process.exit(0));
const counters = await attack.run(target, () => running);
process.send?.({ type: "done", counters }, () => process.exit(0));
