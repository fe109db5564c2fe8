import { describeError, el, field } from "../elements.ts";
import type { Screen, ScreenContext } from "./screen.ts";

/**
 * Claiming a username at the relay. The client checks the name's form (docs/client.md "Usernames")
 * and proves possession of every identity key; the relay's refusal (taken, malformed) comes back as
 * its stable code and is shown as is.
 */
export function claimUsernameScreen(context: ScreenContext): Screen {
  const input = el("input", {
    id: "username",
    attrs: {
      type: "text",
      name: "username",
      autocomplete: "username",
      autocapitalize: "none",
      spellcheck: "false",
      required: "",
      maxlength: "32",
    },
  });
  const status = el("p", { className: "status", attrs: { role: "status" } });
  const submit = el("button", { attrs: { type: "submit" }, text: "Claim" });
  const form = el("form", {}, [
    field(
      "Username",
      input,
      "2 to 32 characters: lowercase letters, digits, dots, dashes or underscores. Others find you by it.",
    ),
    submit,
    status,
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = "Claiming…";
    context.messenger.claimUsername(input.value.trim()).then(
      (account) => {
        context.announce(`You are ${account.username ?? ""} now.`);
        context.navigate({ name: "conversations" });
      },
      (error: unknown) => {
        submit.disabled = false;
        status.textContent = `Could not claim the name: ${describeError(error)}`;
        input.focus();
      },
    );
  });
  const relay = context.account?.relay ?? "";
  return {
    title: "Claim a username",
    element: el("section", {}, [el("p", { text: `Your relay: ${relay}` }), form]),
  };
}
