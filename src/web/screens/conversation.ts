import { humanBytes } from "../../text/human-bytes.ts";
import { describeError, el, offerDownload, replaceChildren, shortTime } from "../elements.ts";
import type { ContactView, DeliveryState, MessageView } from "../messenger.ts";
import { routeHash } from "../routes.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/** Ticks for sighted users, words for screen readers. */
const DELIVERY: Readonly<Record<DeliveryState, { mark: string; label: string }>> = Object.freeze({
  pending: { mark: "…", label: "waiting to be sent" },
  sent: { mark: "✓", label: "sent" },
  delivered: { mark: "✓✓", label: "delivered" },
  read: { mark: "✓✓", label: "read" },
});

/** One conversation: the history, delivery ticks, the composer, and the changed-identity block. */
export function conversationScreen(context: ScreenContext, peer: string): Screen {
  const { messenger } = context;
  const log = el("ol", {
    className: "messages",
    attrs: { role: "log", "aria-label": `Messages with ${peer}` },
  });
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const banner = el("div", { className: "banner warn", attrs: { role: "alert" } });
  banner.hidden = true;
  const text = el("textarea", {
    id: "compose-text",
    attrs: { name: "text", rows: "2", "aria-label": `Message to ${peer}`, placeholder: "Write a message" },
  });
  const send = el("button", { attrs: { type: "submit" }, text: "Send" });
  const file = el("input", { id: "compose-file", attrs: { type: "file", name: "file" } });
  const fileLabel = el("label", {
    className: "button",
    attrs: { for: "compose-file" },
    text: "Attach a file",
  });
  const progress = el("progress", { attrs: { max: "1", value: "0", "aria-label": "Upload progress" } });
  progress.hidden = true;
  const composer = el("form", { className: "composer" }, [text, send, fileLabel, file, progress]);
  let blocked = false;
  let disposed = false;

  /** Sets a tick's mark and words (in place, so a changed tick is not a new log entry). */
  const showDelivery = (span: HTMLSpanElement, state: DeliveryState) => {
    span.className = `delivery ${state}`;
    span.setAttribute("aria-label", DELIVERY[state].label);
    span.title = DELIVERY[state].label;
    span.textContent = DELIVERY[state].mark;
  };

  const messageItem = (message: MessageView): HTMLLIElement => {
    const delivery = message.delivery === null ? null : el("span");
    if (delivery !== null && message.delivery !== null) showDelivery(delivery, message.delivery);
    const attachment =
      message.file === null
        ? null
        : el("span", { className: "file" }, [
            `${message.file.name} (${humanBytes(message.file.size)})`,
            message.direction === "in"
              ? el("button", {
                  attrs: { type: "button" },
                  text: `Save ${message.file.name}`,
                  on: {
                    click: () =>
                      messenger.openFile(peer, message.id).then(
                        (opened) => offerDownload(opened.name, opened.bytes),
                        (error: unknown) => {
                          status.textContent = `Could not open the file: ${describeError(error)}`;
                        },
                      ),
                  },
                })
              : null,
          ]);
    // The disappearing-timer hook: shown when the client reports an expiry (docs/web.md "Limits").
    const expiry =
      message.expiresAt === null
        ? null
        : el("span", { className: "expires", text: `disappears ${shortTime(message.expiresAt)}` });
    return el("li", { className: message.direction, attrs: { "data-id": message.id } }, [
      message.file === null ? el("p", { className: "text", text: message.text }) : attachment,
      el("span", { className: "meta" }, [
        el("time", { attrs: { datetime: new Date(message.at).toISOString() }, text: shortTime(message.at) }),
        delivery,
        expiry,
      ]),
    ]);
  };

  const showContact = (contact: ContactView | null) => {
    const was = blocked;
    blocked = contact?.identityChanged === true;
    banner.hidden = !blocked;
    text.disabled = blocked;
    send.disabled = blocked;
    file.disabled = blocked;
    // Built once per change: an alert rebuilt at every refresh would be announced again each time.
    if (!blocked || was) return;
    const accept = el("button", {
      attrs: { type: "button" },
      text: "Accept the new identity",
      on: {
        click: () =>
          messenger.acceptIdentity(peer).then(
            () => {
              context.announce(`You accepted ${peer}'s new identity. Sending is allowed again.`);
              refresh();
            },
            (error: unknown) => {
              status.textContent = `Could not accept: ${describeError(error)}`;
            },
          ),
      },
    });
    replaceChildren(banner, [
      el("strong", { text: `${peer}'s identity has changed.` }),
      el("p", {
        text:
          "They may have a new device or reinstalled, or someone may be impersonating them. Sending is " +
          "blocked until you accept. Compare safety numbers first if you can.",
      }),
      el("a", { attrs: { href: routeHash({ name: "verify", peer }) }, text: "Compare safety numbers" }),
      accept,
    ]);
  };

  /**
   * The log changes by its differences: new messages are appended (a screen reader announces those,
   * role="log"), a changed tick is updated in place, gone ones removed — never the whole list again,
   * which would be read out again at every event.
   */
  const shown = new Map<string, { readonly li: HTMLLIElement; readonly key: string }>();
  const renderLog = (messages: readonly MessageView[]) => {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const message of messages) {
      const key = `${message.text}|${message.expiresAt}|${message.delivery === null}`;
      let entry = shown.get(message.id);
      if (entry === undefined || entry.key !== key) {
        const li = messageItem(message);
        if (entry !== undefined) entry.li.replaceWith(li);
        entry = { li, key };
        shown.set(message.id, entry);
      } else if (message.delivery !== null) {
        const tick = entry.li.querySelector<HTMLSpanElement>(".delivery");
        if (tick !== null && !tick.classList.contains(message.delivery)) showDelivery(tick, message.delivery);
      }
      const next: Element | null = previous === null ? log.firstElementChild : previous.nextElementSibling;
      if (next !== entry.li) log.insertBefore(entry.li, next);
      previous = entry.li;
      seen.add(message.id);
    }
    for (const [id, entry] of shown) {
      if (seen.has(id)) continue;
      entry.li.remove();
      shown.delete(id);
    }
  };

  const refresh = () => {
    Promise.all([messenger.history(peer), messenger.contact(peer)]).then(
      ([messages, contact]) => {
        if (disposed) return;
        renderLog(messages);
        showContact(contact);
        if (messages.some((message) => message.direction === "in"))
          void messenger.markRead(peer).catch(() => {});
      },
      (error: unknown) => {
        status.textContent = `Could not load the conversation: ${describeError(error)}`;
      },
    );
  };

  const sent = (queued: boolean) => {
    status.textContent = queued
      ? "Offline: the message waits in the outbox and goes out when the relay is back."
      : "";
    refresh();
  };
  const failed = (error: unknown) => {
    status.textContent = `Not sent: ${describeError(error)}`;
    refresh();
  };

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = text.value;
    if (blocked || body.trim() === "") return;
    send.disabled = true;
    messenger
      .sendText(peer, body)
      .then((result) => {
        text.value = "";
        sent(result.queued);
      }, failed)
      .finally(() => {
        send.disabled = blocked;
        text.focus();
      });
  });
  // Enter sends, Shift+Enter is a new line (the usual messenger keys).
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    file.value = "";
    if (chosen === undefined || blocked) return;
    if (chosen.size > messenger.maxFileBytes) {
      status.textContent = `${chosen.name} is too large (${humanBytes(chosen.size)}; at most ${humanBytes(messenger.maxFileBytes)}).`;
      return;
    }
    progress.hidden = false;
    progress.value = 0;
    status.textContent = `Sending ${chosen.name}…`;
    chosen
      .arrayBuffer()
      .then((buffer) =>
        messenger.sendFile(peer, { name: chosen.name, bytes: new Uint8Array(buffer) }, (done, total) => {
          progress.value = total === 0 ? 1 : done / total;
        }),
      )
      .then((result) => sent(result.queued), failed)
      .finally(() => {
        progress.hidden = true;
      });
  });

  refresh();
  const header = el("p", { className: "actions" }, [
    el("a", { attrs: { href: routeHash({ name: "conversations" }) }, text: "← All conversations" }),
    el("a", { attrs: { href: routeHash({ name: "verify", peer }) }, text: "Safety number" }),
  ]);
  return {
    title: peer,
    element: el("section", { className: "conversation" }, [header, banner, log, status, composer]),
    onEvent: (event) => {
      if (event.kind === "outbox" || event.kind === "connection" || ("peer" in event && event.peer === peer))
        refresh();
    },
    dispose: () => {
      disposed = true;
    },
  };
}
