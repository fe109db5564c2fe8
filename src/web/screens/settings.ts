import { describeError, el, field, offerDownload } from "../elements.ts";
import type { RelaySetting } from "../relay-setting.ts";
import { routeHash } from "../routes.ts";
import type { StorageDurability, StorageGuard } from "../storage-durability.ts";
import { MODE_EXPLANATIONS } from "./create-identity.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/** The account, the relay, exporting the data, deleting the account. */
export function settingsScreen(context: ScreenContext, relay: RelaySetting, storage: StorageGuard): Screen {
  const { messenger, account } = context;
  const status = el("p", { className: "status", attrs: { role: "status" } });

  const relayInput = el("input", {
    id: "relay-url",
    attrs: { type: "url", name: "relay", autocomplete: "url" },
  });
  relayInput.value = relay.origin();
  const relayForm = el("form", {}, [
    field(
      "Relay",
      relayInput,
      "The server that carries your encrypted messages. Leave it as the page's address unless you run this app from a local copy.",
    ),
    el("button", { attrs: { type: "submit" }, text: "Save relay" }),
    " ",
    el("button", {
      attrs: { type: "button" },
      text: "Test the connection",
      on: {
        click: () => {
          status.textContent = `Asking ${relay.origin()}…`;
          void relay.check().then((result) => {
            status.textContent = result.reachable
              ? `The relay at ${relay.origin()} answered.${
                  result.clockSkewMs !== null && Math.abs(result.clockSkewMs) > 60_000
                    ? ` Its clock differs from this computer's by ${Math.round(result.clockSkewMs / 1000)} s.`
                    : ""
                }`
              : `The relay at ${relay.origin()} cannot be reached (${result.code}). A copy run from a local ` +
                "folder must be built for that relay, and the relay must list this page's origin.";
            status.dataset.relay = result.reachable ? "reachable" : result.code;
          });
        },
      },
    }),
  ]);
  relayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      relay.set(relayInput.value === "" ? null : relayInput.value);
      status.textContent = "Relay saved. Reload the page to connect to it.";
    } catch (error) {
      status.textContent = `Relay not saved: ${describeError(error)}`;
    }
  });

  const exportButton = el("button", {
    attrs: { type: "button" },
    text: "Export my data",
    on: {
      click: () =>
        messenger.exportData().then(
          (file) => {
            offerDownload(file.name, file.bytes, "application/json");
            status.textContent = `Exported to ${file.name}. It holds your decrypted history: keep it safe.`;
          },
          (error: unknown) => {
            status.textContent = `Export failed: ${describeError(error)}`;
          },
        ),
    },
  });

  const confirmInput = el("input", {
    id: "delete-confirm",
    attrs: { type: "text", name: "confirm", autocomplete: "off", autocapitalize: "none" },
  });
  const deleteForm = el("form", { className: "danger" }, [
    field(
      "Type your username to delete your account",
      confirmInput,
      "This removes your account at the relay and this browser's copy. It cannot be undone.",
    ),
    el("button", { className: "danger", attrs: { type: "submit" }, text: "Delete my account" }),
  ]);
  deleteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    messenger.deleteAccount(confirmInput.value.trim()).then(
      () => {
        context.announce("Your account was deleted.");
        context.navigate({ name: "create-identity" });
      },
      (error: unknown) => {
        status.textContent = `Not deleted: ${describeError(error)}`;
      },
    );
  });

  // Whether this browser may delete the data: the export is the backup either way.
  const durability = el("p", { id: "storage-durability", attrs: { "aria-live": "polite" } });
  const keepButton = el("button", {
    id: "storage-keep",
    attrs: { type: "button", hidden: "" },
    text: "Ask the browser to keep it",
    on: { click: () => void storage.request().then(showDurability) },
  });
  function showDurability(state: StorageDurability): void {
    durability.dataset.state = state;
    durability.textContent =
      state === "persistent"
        ? "This browser keeps this app's data (persistent storage): it is not deleted when space runs low. Clearing the site's data still deletes it, so keep an export."
        : state === "evictable"
          ? "This browser may delete this app's data — your identity and history — when space runs low. Export your data as a backup; installing or bookmarking the app makes the browser more likely to keep it."
          : "This browser does not say whether it keeps this app's data. Export your data as a backup.";
    keepButton.hidden = state !== "evictable";
  }
  void storage.state().then(showDurability);

  const identity =
    account === null
      ? el("p", { text: "No identity in this browser yet." })
      : el("dl", {}, [
          el("dt", { text: "Username" }),
          el("dd", { text: account.username ?? "(not claimed yet)" }),
          el("dt", { text: "Mode" }),
          el("dd", { text: MODE_EXPLANATIONS[account.mode].title }),
        ]);
  return {
    title: "Settings",
    element: el("section", {}, [
      el("h2", { text: "Your identity" }),
      identity,
      el("h2", { text: "Relay" }),
      relayForm,
      el("h2", { text: "Your data" }),
      durability,
      keepButton,
      " ",
      exportButton,
      el("h2", { text: "Delete account" }),
      deleteForm,
      status,
      el("p", {}, [
        el("a", { attrs: { href: routeHash({ name: "about" }) }, text: "About this browser's cryptography" }),
      ]),
    ]),
  };
}
