/**
 * The app's places, kept in the URL's fragment (`#/chat/alice`): the fragment never reaches a server,
 * works the same from the relay's origin and from a local copy, and gives the browser's back button and
 * bookmarks for free. Usernames are percent-encoded in the fragment; an unknown or malformed fragment
 * is the home route, never an error.
 */
export type Route =
  | { readonly name: "home" }
  | { readonly name: "unlock" }
  | { readonly name: "create-identity" }
  | { readonly name: "claim-username" }
  | { readonly name: "conversations" }
  | { readonly name: "conversation"; readonly peer: string }
  | { readonly name: "verify"; readonly peer: string }
  | { readonly name: "outbox" }
  | { readonly name: "settings" }
  | { readonly name: "about" };

const SIMPLE: Readonly<Record<string, Route>> = Object.freeze({
  "": { name: "home" },
  new: { name: "create-identity" },
  unlock: { name: "unlock" },
  claim: { name: "claim-username" },
  chats: { name: "conversations" },
  outbox: { name: "outbox" },
  settings: { name: "settings" },
  about: { name: "about" },
});

/** Usernames longer than this cannot be valid (docs/client.md "Usernames"); refuse before decoding. */
const MAX_PEER_IN_ROUTE = 256;

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  const simple = SIMPLE[path];
  if (simple !== undefined && Object.hasOwn(SIMPLE, path)) return simple;
  const match = /^(chat|verify)\/([^/]+)$/.exec(path);
  if (match === null || match[2]!.length > MAX_PEER_IN_ROUTE) return { name: "home" };
  let peer: string;
  try {
    peer = decodeURIComponent(match[2]!);
  } catch {
    return { name: "home" };
  }
  return match[1] === "chat" ? { name: "conversation", peer } : { name: "verify", peer };
}

export function routeHash(route: Route): string {
  switch (route.name) {
    case "home":
      return "#/";
    case "unlock":
      return "#/unlock";
    case "create-identity":
      return "#/new";
    case "claim-username":
      return "#/claim";
    case "conversations":
      return "#/chats";
    case "conversation":
      return `#/chat/${encodeURIComponent(route.peer)}`;
    case "verify":
      return `#/verify/${encodeURIComponent(route.peer)}`;
    case "outbox":
      return "#/outbox";
    case "settings":
      return "#/settings";
    case "about":
      return "#/about";
  }
}
