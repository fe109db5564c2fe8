import type { Command } from "commander";
import type { NanoClient } from "../client/nano-client.ts";

/** What client.ts hands a command module: an open client for the command's run, and the printer. */
export interface ClientCommandDeps {
  readonly withClient: <T>(
    command: Command,
    doing: string,
    work: (client: NanoClient) => Promise<T>,
  ) => Promise<T>;
  readonly print: (value: unknown, text: string) => void;
}
