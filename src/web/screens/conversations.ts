import { describeError, el, field, replaceChildren, shortTime } from "../elements.ts";
import type { ConversationView } from "../messenger.ts";
import { routeHash } from "../routes.ts";
import type { Screen, ScreenContext } from "./screen.ts";

function conversationItem(conversation: ConversationView): HTMLLIElement {
  const unread =
    conversation.unread > 0
      ? el("span", {
          className: "badge",
          attrs: { "aria-label": `${conversation.unread} unread` },
          text: String(conversation.unread),
        })
      : null;
  const warning = conversation.identityChanged
    ? el("span", { className: "badge warn", text: "identity changed" })
    : null;
  return el("li", { attrs: { "data-peer": conversation.peer } }, [
    el(
      "a",
      {
        className: "conversation",
        attrs: { href: routeHash({ name: "conversation", peer: conversation.peer }) },
      },
      [
        el("span", { className: "peer", text: conversation.peer }),
        unread,
        warning,
        el("span", { className: "preview", text: conversation.lastText }),
        el("time", {
          attrs: { datetime: new Date(conversation.lastAt).toISOString() },
          text: shortTime(conversation.lastAt),
        }),
      ],
    ),
  ]);
}

/** Every conversation, the most recent first, with its unread count; and a way to start one. */
export function conversationsScreen(context: ScreenContext): Screen {
  const list = el("ul", { className: "conversations", attrs: { "aria-label": "Conversations" } });
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const refresh = () => {
    context.messenger.conversations().then(
      (conversations) => {
        replaceChildren(list, conversations.map(conversationItem));
        status.textContent = conversations.length === 0 ? "No conversations yet." : "";
      },
      (error: unknown) => {
        status.textContent = `Could not load the conversations: ${describeError(error)}`;
      },
    );
  };
  const peer = el("input", {
    id: "new-peer",
    attrs: { type: "text", name: "peer", autocapitalize: "none", spellcheck: "false", required: "" },
  });
  const start = el("form", { className: "inline" }, [
    field("Start a conversation with", peer),
    el("button", { attrs: { type: "submit" }, text: "Open" }),
  ]);
  start.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = peer.value.trim();
    if (name !== "") context.navigate({ name: "conversation", peer: name });
  });
  refresh();
  return {
    title: "Conversations",
    element: el("section", {}, [start, status, list]),
    onEvent: (event) => {
      if (event.kind === "message" || event.kind === "identity-changed" || event.kind === "delivery")
        refresh();
    },
  };
}
