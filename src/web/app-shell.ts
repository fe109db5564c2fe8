/**
 * The app's frame: a header with the navigation, one <main> holding the current screen, and a polite
 * live region for announcements. The route lives in the URL fragment (routes.ts); every navigation
 * builds the screen anew from the client, moves focus to its heading (so keyboard and screen-reader
 * users land on the new content), and the previous screen is disposed. Client events go to the screen
 * on show. All state is in the object `startApp` returns: nothing at module level.
 */
import { el, replaceChildren } from "./elements.ts";
import type { AccountView, Messenger, MessengerEvent } from "./messenger.ts";
import type { RelaySetting } from "./relay-setting.ts";
import { parseRoute, type Route, routeHash } from "./routes.ts";
import { aboutScreen, type CryptoReport } from "./screens/about.ts";
import { claimUsernameScreen } from "./screens/claim-username.ts";
import { conversationScreen } from "./screens/conversation.ts";
import { conversationsScreen } from "./screens/conversations.ts";
import { createIdentityScreen } from "./screens/create-identity.ts";
import { outboxScreen } from "./screens/outbox.ts";
import type { Screen, ScreenContext } from "./screens/screen.ts";
import { settingsScreen } from "./screens/settings.ts";
import { unlockScreen } from "./screens/unlock.ts";
import { verifyScreen } from "./screens/verify.ts";
import type { StorageGuard } from "./storage-durability.ts";

export interface AppOptions {
  readonly root: HTMLElement;
  readonly messenger: Messenger;
  readonly relay: RelaySetting;
  readonly crypto: CryptoReport;
  /** Whether the browser may evict this origin's storage (shown in the settings). */
  readonly storage: StorageGuard;
}

export interface RunningApp {
  /** Shows the screen for the current fragment; resolves when it is in the page. */
  render(): Promise<void>;
  stop(): void;
}

/** Where the home route leads: the first step not done yet. */
function homeOf(account: AccountView | null): Route {
  if (account === null) return { name: "create-identity" };
  if (account.username === null) return { name: "claim-username" };
  return { name: "conversations" };
}

/**
 * Routes that need a claimed username first, and those that make no sense once one exists. A locked
 * identity shows only the unlock screen (and the crypto report).
 */
function redirect(route: Route, account: AccountView | null, locked: boolean): Route | null {
  if (locked) return route.name === "unlock" || route.name === "about" ? null : { name: "unlock" };
  if (route.name === "unlock") return homeOf(account);
  if (route.name === "home") return homeOf(account);
  if (route.name === "about" || route.name === "settings") return null;
  if (account === null) return route.name === "create-identity" ? null : { name: "create-identity" };
  if (route.name === "create-identity") return homeOf(account);
  if (account.username === null) return route.name === "claim-username" ? null : { name: "claim-username" };
  if (route.name === "claim-username") return { name: "conversations" };
  return null;
}

export function startApp(options: AppOptions): RunningApp {
  const { root, messenger } = options;
  const heading = el("h1", { attrs: { tabindex: "-1" } });
  const main = el("main", { id: "main" });
  const live = el("p", { className: "announce", attrs: { role: "status", "aria-live": "polite" } });
  const online = el("span", { className: "connection", attrs: { role: "status" } });
  const navLinks: readonly [Route, string][] = [
    [{ name: "conversations" }, "Conversations"],
    [{ name: "outbox" }, "Outbox"],
    [{ name: "settings" }, "Settings"],
  ];
  const nav = el("nav", { attrs: { "aria-label": "Main" } }, [
    el(
      "ul",
      {},
      navLinks.map(([route, label]) =>
        el("li", {}, [el("a", { attrs: { href: routeHash(route) }, text: label })]),
      ),
    ),
  ]);
  replaceChildren(root, [
    el("a", { className: "skip", attrs: { href: "#main" }, text: "Skip to content" }),
    el("header", {}, [el("span", { className: "brand", text: "Nano Messenger" }), nav, online]),
    main,
    live,
  ]);
  // The skip link must not change the route: focus the content instead.
  root.querySelector("a.skip")?.addEventListener("click", (event) => {
    event.preventDefault();
    heading.focus();
  });

  let current: Screen | null = null;
  let generation = 0;
  const context = (account: AccountView | null): ScreenContext => ({
    messenger,
    account,
    navigate: (route) => {
      const hash = routeHash(route);
      if (location.hash === hash) void render();
      else location.hash = hash;
    },
    announce: (text) => {
      live.textContent = text;
    },
  });

  const build = (route: Route, ctx: ScreenContext): Screen => {
    switch (route.name) {
      case "home":
      case "conversations":
        return conversationsScreen(ctx);
      case "unlock":
        return unlockScreen(ctx);
      case "create-identity":
        return createIdentityScreen(ctx);
      case "claim-username":
        return claimUsernameScreen(ctx);
      case "conversation":
        return conversationScreen(ctx, route.peer);
      case "verify":
        return verifyScreen(ctx, route.peer);
      case "outbox":
        return outboxScreen(ctx);
      case "settings":
        return settingsScreen(ctx, options.relay, options.storage);
      case "about":
        return aboutScreen(options.crypto);
    }
  };

  async function render(): Promise<void> {
    const mine = ++generation;
    const [account, locked] = await Promise.all([messenger.account(), messenger.locked()]);
    if (mine !== generation) return;
    const wanted = parseRoute(location.hash);
    const target = redirect(wanted, account, locked) ?? wanted;
    if (target !== wanted) {
      // replaceState: the redirected-from place should not be a step of the back button.
      history.replaceState(null, "", routeHash(target));
    }
    current?.dispose?.();
    current = build(target, context(account));
    heading.textContent = current.title;
    document.title = `${current.title} · Nano Messenger`;
    nav.hidden = account?.username === null || account === null;
    for (const link of nav.querySelectorAll("a")) {
      if (link.getAttribute("href") === routeHash(target)) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    replaceChildren(main, [heading, current.element]);
    heading.focus();
    document.body.dataset.screen = target.name;
  }

  const onHash = () => void render();
  window.addEventListener("hashchange", onHash);
  const unsubscribe = messenger.subscribe((event: MessengerEvent) => {
    if (event.kind === "connection") {
      online.textContent = event.online ? "Online" : "Offline — messages wait in the outbox";
      online.dataset.online = String(event.online);
    }
    current?.onEvent?.(event);
  });
  return {
    render,
    stop: () => {
      window.removeEventListener("hashchange", onHash);
      unsubscribe();
      current?.dispose?.();
    },
  };
}
