import { ERROR_CATALOGUE, type ErrorEntry } from "./catalogue.ts";

const HEADER = `# Error codes

Every error the project raises carries one of these stable codes (\`error.code\`), and the relay
answers with \`{"error": {"code", "message"}}\` and the HTTP status below. Codes are never renamed or
reused. The \`kind\` says what the caller should do:

| kind | meaning |
|---|---|
| codec | the bytes are not a valid encoding; do not retry |
| validation | well-formed but against a rule; do not retry unchanged |
| crypto | a signature, tag or key check failed; treat as an attack or corruption |
| usage | the API or command was used wrongly; fix the call |
| internal | a bug or an environment fault; report it |

This file is generated from \`src/errors/catalogue.ts\` by \`node scripts/gen-errors-doc.ts\`.

| code | kind | HTTP | meaning | how to fix |
|---|---|---|---|---|
`;

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, entry]: [string, ErrorEntry]) =>
      `| \`${code}\` | ${entry.kind} | ${entry.status} | ${escapeCell(entry.meaning)} | ${escapeCell(entry.fix)} |`,
  );
  return `${HEADER}${rows.join("\n")}\n`;
}
