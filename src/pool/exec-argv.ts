// Worker threads inherit the parent's execArgv by default; most of those flags are the main
// thread's alone, and some (--input-type) keep a worker from starting at all.

/**
 * The flags a worker thread is started with: of the parent's, only those that change how
 * code runs in every thread alike (source maps, warnings, stack size of traces). Everything
 * else — --eval, --input-type, --print, --test, --watch, loaders — is the main thread's.
 */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const keep = ['--enable-source-maps', '--no-warnings', '--no-deprecation', '--trace-warnings', '--trace-uncaught'];
  return parent.filter((f) => keep.includes(f) || f.startsWith('--stack-trace-limit='));
}
