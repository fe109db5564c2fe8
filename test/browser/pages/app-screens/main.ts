// The app's screens over a scripted Messenger (scripted-messenger.ts), for test/browser/app-screens.test.ts.
// First: zod builds its schemas (the wire contract's among them) without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import { startApp } from "../../../../src/web/app-shell.ts";
import { relaySetting } from "../../../../src/web/relay-setting.ts";
import { storageGuard } from "../../../../src/web/storage-durability.ts";
import { ScriptedMessenger } from "./scripted-messenger.ts";

const messenger = new ScriptedMessenger();
const app = startApp({
  root: document.getElementById("app")!,
  messenger,
  relay: relaySetting(localStorage, location.origin),
  storage: storageGuard(navigator.storage),
  crypto: {
    implementations: { "ml-kem-768": "webcrypto" },
    steps: [{ name: "scripted", ok: true, detail: "" }],
  },
});
(globalThis as unknown as { nanoScript: ScriptedMessenger }).nanoScript = messenger;
void app.render().then(() => {
  document.body.dataset.ready = "true";
});
