/** `nano-client`: the client's command line. The client arrives with the client issue. */
export async function main(argv: readonly string[]): Promise<void> {
  process.stderr.write(
    `nano-client: the client is not built yet (asked for: ${argv.join(" ") || "help"})\n` +
      'hint: see README.md "Status"\n',
  );
  process.exitCode = 69;
}
