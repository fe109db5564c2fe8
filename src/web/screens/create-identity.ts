import type { SuiteName } from "../../crypto/suite-ids.ts";
import { describeError, el, field } from "../elements.ts";
import { DEFAULT_MODE, MODES } from "../messenger.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/**
 * The three modes in plain words (DESIGN.md "Modes, floors and selection"): the mode is what this
 * identity prefers and the least it accepts; every identity accepts hybrid, so anyone can talk to anyone.
 */
export const MODE_EXPLANATIONS: Readonly<Record<SuiteName, { title: string; text: string }>> = Object.freeze({
  hybrid: {
    title: "Hybrid (recommended)",
    text:
      "Today's proven cryptography and the new post-quantum kind together: an attacker must break " +
      "both, so your messages stay safe if either one fails. Your messages never use less than this.",
  },
  quantum: {
    title: "Post-quantum only",
    text:
      "Only the new post-quantum cryptography (ML-KEM and ML-DSA), built against future quantum " +
      "computers but without the classical safety net. With people who only accept hybrid, hybrid is used.",
  },
  classical: {
    title: "Classical",
    text:
      "Today's well-tested cryptography only (X25519 and Ed25519): the smallest and fastest. A large " +
      "future quantum computer could read messages recorded today. People who ask for more still get it.",
  },
});

export function createIdentityScreen(context: ScreenContext): Screen {
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const options = MODES.map((mode) => {
    const id = `mode-${mode}`;
    const radio = el("input", { id, attrs: { type: "radio", name: "mode", value: mode } });
    radio.checked = mode === DEFAULT_MODE;
    const explanation = MODE_EXPLANATIONS[mode];
    return el("div", { className: "choice" }, [
      radio,
      el("label", { attrs: { for: id } }, [
        el("strong", { text: explanation.title }),
        el("span", { className: "hint", text: explanation.text }),
      ]),
    ]);
  });
  const passphrase = el("input", {
    id: "new-passphrase",
    attrs: { type: "password", name: "passphrase", autocomplete: "new-password" },
  });
  const again = el("input", {
    id: "new-passphrase-again",
    attrs: { type: "password", name: "passphrase-again", autocomplete: "new-password" },
  });
  const progress = el("progress", { attrs: { max: "1", value: "0", "aria-label": "Protecting your keys" } });
  progress.hidden = true;
  const submit = el("button", { attrs: { type: "submit" }, text: "Create my identity" });
  const form = el("form", { attrs: { "aria-labelledby": "create-legend" } }, [
    el("fieldset", {}, [
      el("legend", { id: "create-legend", text: "Choose how your messages are protected" }),
      ...options,
    ]),
    el("fieldset", {}, [
      el("legend", { text: "A passphrase (optional)" }),
      field(
        "Passphrase",
        passphrase,
        "Asked each time you open the app here. Without one, anyone who can use this browser profile " +
          "can open your messages. It cannot be recovered if you forget it.",
      ),
      field("The passphrase again", again),
    ]),
    el("p", {
      className: "hint",
      text:
        "Your keys are made in this browser and never leave it unencrypted. The mode cannot be changed " +
        "later without a new identity.",
    }),
    submit,
    progress,
    status,
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>("input[name=mode]:checked");
    const mode = (chosen?.value ?? DEFAULT_MODE) as SuiteName;
    if (passphrase.value !== again.value) {
      status.textContent = "The two passphrases differ.";
      again.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = "Creating your keys…";
    const secret = passphrase.value === "" ? null : passphrase.value;
    progress.hidden = secret === null;
    context.messenger
      .createIdentity({
        mode,
        passphrase: secret,
        onProgress: (fraction) => {
          progress.value = fraction;
        },
      })
      .then(
        () => {
          passphrase.value = "";
          again.value = "";
          context.announce(`Identity created (${MODE_EXPLANATIONS[mode].title}).`);
          context.navigate({ name: "claim-username" });
        },
        (error: unknown) => {
          submit.disabled = false;
          progress.hidden = true;
          status.textContent = `Could not create the identity: ${describeError(error)}`;
        },
      );
  });
  return { title: "Create your identity", element: el("section", {}, [form]) };
}
