/** `nano-relay`: the relay server's command line. The server itself arrives with the relay issue. */
export async function main(argv: readonly string[]): Promise<void> {
  process.stderr.write(
    `nano-relay: the relay server is not built yet (asked for: ${argv.join(" ") || "start"})\n` +
      'hint: see README.md "Status"; the crypto core is available now (npm test, npm run bench -- crypto)\n',
  );
  process.exitCode = 69;
}
