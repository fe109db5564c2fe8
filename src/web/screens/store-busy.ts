import { el } from "../elements.ts";
import type { Screen } from "./screen.ts";

/**
 * What a second tab of the app shows (`local_store_busy`): the first tab holds this browser's store
 * (two tabs would each write their own copy of the sessions), so this one says where the messenger is
 * and how to move it here, instead of an error. "Use it here" starts the page again once the other tab
 * is closed; pressed too early, this screen simply comes back.
 */
export function storeBusyScreen(retry: () => void): Screen {
  return {
    title: "Nano Messenger is open in another tab",
    element: el("section", { className: "store-busy" }, [
      el("p", {
        attrs: { role: "alert" },
        text: "This browser's messenger is already open in another tab or window. It can run in one tab at a time, so your messages stay in one place.",
      }),
      el("p", {
        text: "Switch to that tab, or close it and press the button below to use the messenger here.",
      }),
      el("button", {
        id: "store-busy-retry",
        attrs: { type: "button" },
        text: "Use it here",
        on: { click: retry },
      }),
    ]),
  };
}
