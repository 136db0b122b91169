// Bad usage of a subcommand (`gmledger start`, `gmledger bench`): say why, print its usage,
// exit code 2. Imports nothing, so the load harness (and its signing workers) can use it
// without loading the server.

/** `parse(argv)`; on a parse error, prints it with `usage` to stderr and returns undefined (exit 2). */
export function parseOrUsage<T>(
  command: string, usage: string, parse: (argv: string[]) => T, argv: string[],
): T | undefined {
  try {
    return parse(argv);
  } catch (e) {
    console.error(`gmledger ${command}: ${(e as Error).message}\n${usage}`);
    return undefined;
  }
}
