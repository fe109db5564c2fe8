/** The browser's crypto provider (docs/web.md). Nothing here or below imports `node:` or uses Buffer. */

export { detectWebCrypto, WEBCRYPTO_CANDIDATES, type WebCryptoCandidate } from "./detect.ts";
export { platformWebCrypto, type WebCryptoHandle } from "./subtle.ts";
export { createWebProvider, type WebProviderOptions } from "./web-provider.ts";
