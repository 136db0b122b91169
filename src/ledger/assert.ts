// Invariants, TigerBeetle's way: a broken invariant means memory can no longer be trusted
// to match the chain, so the code that finds it stops (the ledger refuses further work;
// a restart reloads the last durable block). Not for bad input: that gets a specific error
// and changes nothing.

export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Throws an InvariantError (with `message`) unless `condition` holds. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${message}`);
}
