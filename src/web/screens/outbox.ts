import { describeError, el, replaceChildren, shortTime } from "../elements.ts";
import type { PendingView } from "../messenger.ts";
import type { Screen, ScreenContext } from "./screen.ts";

function pendingItem(entry: PendingView): HTMLLIElement {
  return el("li", { attrs: { "data-id": entry.id } }, [
    el("span", { className: "peer", text: `to ${entry.recipient}` }),
    el("span", { className: "preview", text: entry.text ?? "(no longer in history)" }),
    el("span", {
      className: "meta",
      text:
        `${shortTime(entry.createdAt)} · ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}` +
        (entry.lastError === null ? "" : ` · last: ${entry.lastError}`),
    }),
  ]);
}

/** Messages committed in this browser and not yet stored by the relay: they go out when it is back. */
export function outboxScreen(context: ScreenContext): Screen {
  const list = el("ul", { className: "pending", attrs: { "aria-label": "Waiting to be sent" } });
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const refresh = () => {
    context.messenger.pending().then(
      (entries) => {
        replaceChildren(list, entries.map(pendingItem));
        status.textContent =
          entries.length === 0 ? "Nothing is waiting: every message reached the relay." : "";
      },
      (error: unknown) => {
        status.textContent = `Could not read the outbox: ${describeError(error)}`;
      },
    );
  };
  refresh();
  return {
    title: "Outbox",
    element: el("section", {}, [
      el("p", {
        className: "hint",
        text: "Messages stay here, encrypted in this browser, while the relay cannot be reached, and are sent in order once it can.",
      }),
      status,
      list,
    ]),
    onEvent: (event) => {
      if (event.kind === "outbox" || event.kind === "connection") refresh();
    },
  };
}
