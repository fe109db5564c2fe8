import { describeError, el, field, replaceChildren } from "../elements.ts";
import type { SafetyNumberView } from "../messenger.ts";
import { safetyNumberQrSvg } from "../qr-code.ts";
import { routeHash } from "../routes.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/**
 * The safety number with a contact (docs/safety-numbers.md): 60 digits and the QR code of the same
 * payload the CLI's `verify --qr` draws. Comparing them out of band is what proves the relay did not
 * swap keys; typing the peer's number is the check a bare "they match" cannot make.
 */
export function verifyScreen(context: ScreenContext, peer: string): Screen {
  const { messenger } = context;
  const view = el("div", { className: "safety" });
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const typed = el("input", {
    id: "typed-number",
    attrs: { type: "text", inputmode: "numeric", autocomplete: "off", name: "number" },
  });
  const check = el("form", {}, [
    field("Their safety number", typed, "Type the 60 digits shown on their screen (spaces do not matter)."),
    el("button", { attrs: { type: "submit" }, text: "Check and mark verified" }),
  ]);

  const show = (number: SafetyNumberView) => {
    const groups = number.digits.split(" ");
    replaceChildren(view, [
      el("p", {
        className: number.verified ? "verified" : "unverified",
        text: number.verified ? `${peer} is verified.` : `${peer} is not verified yet.`,
      }),
      number.identityChanged
        ? el("p", {
            className: "banner warn",
            attrs: { role: "alert" },
            text: `${peer}'s identity has changed since you last talked.`,
          })
        : null,
      el(
        "p",
        { className: "digits", attrs: { "aria-label": `Safety number: ${number.digits}` } },
        groups.map((group) => el("span", { text: group })),
      ),
      safetyNumberQrSvg(number.qrPayload, `QR code of the safety number with ${peer}`),
      el("button", {
        attrs: { type: "button" },
        text: "They match: mark verified",
        on: { click: () => confirm(undefined) },
      }),
    ]);
  };
  const confirm = (digits: string | undefined) => {
    messenger.markVerified(peer, digits).then(
      (number) => {
        show(number);
        context.announce(`${peer} is verified.`);
        status.textContent = "";
      },
      (error: unknown) => {
        status.textContent = `Not verified: ${describeError(error)}`;
      },
    );
  };
  check.addEventListener("submit", (event) => {
    event.preventDefault();
    confirm(typed.value);
  });
  messenger.safetyNumber(peer).then(show, (error: unknown) => {
    status.textContent = `No safety number yet: ${describeError(error)}`;
  });
  return {
    title: `Safety number with ${peer}`,
    element: el("section", {}, [
      el("p", { className: "actions" }, [
        el("a", { attrs: { href: routeHash({ name: "conversation", peer }) }, text: `← Back to ${peer}` }),
      ]),
      view,
      check,
      status,
    ]),
    onEvent: (event) => {
      if (event.kind === "identity-changed" && event.peer === peer)
        messenger.safetyNumber(peer).then(show, () => {});
    },
  };
}
