// The app's screens over the real client running in Node (bridged-messenger.ts), for
// test/browser/app-with-node-client.test.ts.
// First: zod builds its schemas (the wire contract's among them) without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import { startApp } from "../../../../src/web/app-shell.ts";
import { relaySetting } from "../../../../src/web/relay-setting.ts";
import { BridgedMessenger } from "./bridged-messenger.ts";

const app = startApp({
  root: document.getElementById("app")!,
  messenger: new BridgedMessenger(),
  relay: relaySetting(localStorage, location.origin),
  crypto: { implementations: {}, steps: [] },
});
void app.render().then(() => {
  document.body.dataset.ready = "true";
});
