import type { AccountView, Messenger, MessengerEvent } from "../messenger.ts";
import type { Route } from "../routes.ts";

/**
 * One screen of the app: built for a route, handed the shell's services, shown until the route
 * changes. Screens keep their own view state (never at module level): two apps in one page, or a
 * screen built again after navigation, start clean.
 */
export interface ScreenContext {
  readonly messenger: Messenger;
  /** The account when the screen was built (null before an identity exists). */
  readonly account: AccountView | null;
  navigate(route: Route): void;
  /** Says something to screen-reader users and sighted ones (the shell's polite live region). */
  announce(text: string): void;
}

export interface Screen {
  /** The page's <h1> and the document title. */
  readonly title: string;
  readonly element: HTMLElement;
  /** Something changed in the client: refresh what this screen shows, if it shows that. */
  onEvent?(event: MessengerEvent): void;
  /** The screen is leaving: stop timers, drop listeners. */
  dispose?(): void;
}
