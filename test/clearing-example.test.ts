// The clearing example runs as written (examples/clearing.mjs, docs/clearing.md): ten banks,
// 100,000 payments in one cycle with a gridlock, closed and reported.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('examples/clearing.mjs', () => {
  it('settles 100,000 payments among ten banks, resolving a gridlock', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'examples', 'clearing.mjs')],
      { encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/settled, 100000 obligations among 10 banks/);
    const removed = Number(/(\d+) obligations removed/.exec(r.stdout)![1]);
    expect(removed).toBeGreaterThan(0);
    const nets = [...r.stdout.matchAll(/bank \d+: net (-?\d+)/g)].map((m) => BigInt(m[1]));
    expect(nets).toHaveLength(10);
    expect(nets.reduce((a, b) => a + b, 0n)).toBe(0n);
    expect(r.stdout).toMatch(/clearing account after the close: 0\n/);
  }, 240_000);
});
