// Imported FIRST by every page that bundles the wire contract (src/wire: the app's main.ts through the
// fetch transport, the browser test pages). zod decides at each schema's construction whether to
// compile a fast parser with `new Function`, probing once; the strict CSP (security-policy.ts, no
// 'unsafe-eval') refuses it and, although zod catches the refusal, reports a violation. Jitless, zod
// interprets the same schemas with the same results and never asks to generate code in the page that
// holds the keys. It must run before src/wire's module is evaluated, hence a module of its own at the
// head of the imports, not a call in main.ts's body.
import { z } from "zod";

z.config({ jitless: true });
