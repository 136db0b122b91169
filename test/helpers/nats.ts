// What the tests that need a nats-server share. In CI (CI set, not "false"/"0") such a suite
// always runs, and a missing server fails it (`.ci/run` installs Debian's nats-server);
// elsewhere it is skipped with a warning that says how to run it.
import { findNatsServer } from '../../dist/src/consortium/nats-cluster.js';

export const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
export const INSTALL_HINT = 'install Debian\'s nats-server (apt-get install -y nats-server)';
/** The nats-server binary: $NATS_SERVER_PATH, else on PATH, else /usr/sbin/nats-server. */
export const NATS_BIN = findNatsServer();

/** True when `what` (a suite of `file`) is to be skipped: no nats-server, and not in CI. */
export function skipWithoutNats(file: string, what = 'its suites'): boolean {
  const skip = NATS_BIN === undefined && !IN_CI;
  if (skip) console.warn(`${file}: ${what} SKIPPED: no nats-server found. To run them, ${INSTALL_HINT}.`);
  return skip;
}

/** The binary, or (in CI, where the suite runs regardless) an error saying CI must have it. */
export function requireNats(what: string): string {
  if (NATS_BIN === undefined) throw new Error(`no nats-server found: CI must run ${what}; ${INSTALL_HINT}`);
  return NATS_BIN;
}

/** Waits until `ok()` holds, polling; fails naming `what` after `ms`. Never a timing assertion. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000, pollMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await Promise.resolve().then(ok).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
