// The web app's entry (docs/web.md). The browser's crypto provider is loaded and checked first: a
// browser whose crypto fails the self-test gets the report and nothing else, never a messenger. Then
// the client starts in the page (ClientMessenger over the browser runtime: the SDK's operations on
// this browser's home) and the app shell shows the screen for the URL's fragment.
import "./jitless-parsing.ts";
import { ClientMessenger } from "../client/messenger/client-messenger.ts";
import { createWebProvider } from "../crypto/web/index.ts";
import { startApp } from "./app-shell.ts";
import { BrowserRuntime } from "./browser-runtime.ts";
import { relaySetting } from "./relay-setting.ts";
import { aboutScreen, type CryptoReport } from "./screens/about.ts";
import { RELAY_META_NAME } from "./security-policy.ts";
import { runSelfTest } from "./self-test.ts";

async function start(root: HTMLElement): Promise<void> {
  const provider = await createWebProvider();
  const report: CryptoReport = {
    implementations: provider.primitives.implementations,
    steps: await runSelfTest(provider),
  };
  const passed = report.steps.every((step) => step.ok);
  document.body.dataset.selfTest = passed ? "passed" : "failed";
  if (!passed) {
    const screen = aboutScreen(report);
    root.replaceChildren(screen.element);
    return;
  }
  const relay = relaySetting(
    localStorage,
    location.origin,
    document.querySelector<HTMLMetaElement>(`meta[name="${RELAY_META_NAME}"]`)?.content ?? null,
  );
  const runtime = await BrowserRuntime.start({
    provider,
    relay: () => relay.origin(),
  });
  const messenger = new ClientMessenger(runtime);
  // A home without a passphrase opened at start: its watch starts now (an unlock starts its own).
  if ((await messenger.account())?.username != null) messenger.start();
  const app = startApp({ root, messenger, relay, crypto: report });
  await app.render();
}

const root = document.getElementById("app");
if (root === null) throw new Error("#app is missing from index.html");
start(root).catch((error: unknown) => {
  const message = document.createElement("p");
  message.setAttribute("role", "alert");
  message.textContent = `The page could not start: ${error instanceof Error ? error.message : String(error)}`;
  root.replaceChildren(message);
  document.body.dataset.selfTest = "failed";
});
