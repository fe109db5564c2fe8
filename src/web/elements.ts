/**
 * Building DOM without HTML strings. The page runs under Trusted Types with no policy
 * (docs/web.md "Security model"), so `innerHTML` and friends throw: every element is made with
 * createElement and every text goes in through `textContent`, which never parses. Anything a peer
 * sends (usernames, texts, file names) therefore stays text.
 */
type Child = Node | string | null | undefined | false;

export interface ElementOptions {
  readonly className?: string;
  readonly id?: string;
  /** Attributes, set with setAttribute (aria-*, role, type, for...). */
  readonly attrs?: Readonly<Record<string, string>>;
  readonly text?: string;
  /** Event listeners by event name. */
  readonly on?: Readonly<Record<string, (event: Event) => void>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.className !== undefined) element.className = options.className;
  if (options.id !== undefined) element.id = options.id;
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, listener] of Object.entries(options.on ?? {})) element.addEventListener(name, listener);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** Replaces every child of `parent` (no HTML parsing on the way). */
export function replaceChildren(parent: Element, children: readonly Child[]): void {
  parent.replaceChildren(
    ...children.filter(
      (child): child is Node | string => child !== null && child !== undefined && child !== false,
    ),
  );
}

/** A labelled form field: <label for> + control, with an optional hint tied by aria-describedby. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement,
  hint?: string,
): HTMLDivElement {
  const hintId = hint === undefined ? null : `${control.id}-hint`;
  if (hintId !== null) control.setAttribute("aria-describedby", hintId);
  return el("div", { className: "field" }, [
    el("label", { attrs: { for: control.id }, text: label }),
    control,
    hintId === null ? null : el("p", { className: "hint", id: hintId, text: hint }),
  ]);
}

/**
 * Hands bytes to the user as a download named `name` (a blob: URL, which the CSP's img-src allows
 * and which is revoked after a minute). The browser cleans the name; the protocol already refused
 * names with separators, controls or bidirectional overrides.
 */
export function offerDownload(name: string, bytes: Uint8Array, type = "application/octet-stream"): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  el("a", { attrs: { href: url, download: name } }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A short local time for message lists. */
export function shortTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** A user-facing sentence for a failure: the error's message, with its stable code when it has one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
