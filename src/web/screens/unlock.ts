import { describeError, el, field } from "../elements.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/**
 * Opening an identity kept behind a passphrase (docs/web.md "Browser keystore"). The derivation takes
 * seconds in a page, so it shows progress; a wrong passphrase is said plainly and the field kept.
 */
export function unlockScreen(context: ScreenContext): Screen {
  const passphrase = el("input", {
    id: "unlock-passphrase",
    attrs: { type: "password", name: "passphrase", autocomplete: "current-password", required: "" },
  });
  const progress = el("progress", { attrs: { max: "1", value: "0", "aria-label": "Opening your keys" } });
  progress.hidden = true;
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const submit = el("button", { attrs: { type: "submit" }, text: "Open" });
  const form = el("form", {}, [field("Passphrase", passphrase), submit, progress, status]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = "Opening…";
    context.messenger
      .unlock(passphrase.value, (fraction) => {
        progress.value = fraction;
      })
      .then(
        () => {
          passphrase.value = "";
          context.announce("Opened.");
          context.navigate({ name: "home" });
        },
        (error: unknown) => {
          submit.disabled = false;
          progress.hidden = true;
          status.textContent = `Not opened: ${describeError(error)}`;
          passphrase.select();
        },
      );
  });
  return { title: "Open Nano Messenger", element: el("section", {}, [form]) };
}
