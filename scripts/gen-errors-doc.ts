// Writes docs/errors.md from the error catalogue (src/errors/catalogue.ts). A test fails when the
// checked-in file differs from what this would write, so the docs cannot drift from the code.
import { writeFileSync } from "node:fs";
import { renderErrorsDoc } from "../src/errors/render-doc.ts";

const target = new URL("../docs/errors.md", import.meta.url);
writeFileSync(target, renderErrorsDoc());
process.stdout.write(`wrote ${target.pathname}\n`);
