import { createHash } from "node:crypto";
import type { Plugin } from "vite";
import { contentSecurityPolicyMeta, RELAY_META_NAME } from "../../src/web/security-policy.ts";

/**
 * Subresource Integrity on every script and stylesheet of the built index.html (sha384, W3C SRI), and
 * the app's CSP as a <meta> tag. Runs after Vite has written the entry's <script>/<link> tags, over
 * the exact bytes it emits. A tag whose file is not in the bundle fails the build: no reference goes
 * out without its hash. `relays`: a build for a local copy names them in connect-src, and the first
 * as the copy's default relay in a <meta> (no inline script can carry it).
 */
export function subresourceIntegrity(relays: readonly string[] = []): Plugin {
  const policy = contentSecurityPolicyMeta(relays);
  return {
    name: "nano:subresource-integrity",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html, context) {
        const bundle = context.bundle;
        if (bundle === undefined) throw new Error("SRI: no bundle (only builds are supported)");
        const digest = (reference: string): string => {
          const fileName = reference.replace(/^\.?\//, "");
          const output = bundle[fileName];
          if (output === undefined) throw new Error(`SRI: ${reference} is not in the bundle`);
          const bytes = output.type === "chunk" ? output.code : output.source;
          return `sha384-${createHash("sha384").update(bytes).digest("base64")}`;
        };
        const withIntegrity = html.replace(
          /<(script|link)\b([^>]*?)\s(src|href)="([^"]+)"([^>]*)>/g,
          (tag, name: string, before: string, attribute: string, reference: string, after: string) => {
            const isScript = name === "script";
            const isStyle =
              name === "link" && /\brel="(stylesheet|modulepreload)"/.test(`${before} ${after}`);
            if (!isScript && !isStyle) return tag;
            if (/\bintegrity=/.test(tag)) return tag;
            const crossorigin = /\bcrossorigin\b/.test(tag) ? "" : " crossorigin";
            return `<${name}${before} ${attribute}="${reference}"${after} integrity="${digest(reference)}"${crossorigin}>`;
          },
        );
        if (/<script(?![^>]*\bsrc=)[^>]*>/.test(withIntegrity))
          throw new Error("SRI: an inline <script> would break the CSP");
        return {
          html: withIntegrity,
          tags: [
            {
              tag: "meta",
              attrs: { "http-equiv": "Content-Security-Policy", content: policy },
              injectTo: "head-prepend",
            },
            ...(relays.length === 0
              ? []
              : [
                  {
                    tag: "meta",
                    attrs: { name: RELAY_META_NAME, content: relays[0]! },
                    injectTo: "head" as const,
                  },
                ]),
          ],
        };
      },
    },
  };
}
