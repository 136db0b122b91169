// examples/toll.mjs runs as CI runs it: a day of synthetic trips for a small province, the
// operators' revenue and the period's netting printed, the books balanced (it throws if not).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

describe('examples/toll.mjs', () => {
  it('replays a day of trips and prints revenue and the netting', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', 'examples', 'toll.mjs'), '6000'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^6000 trips \(\d+ flagged\), tolls ¥[\d.]+$/m);
    expect(r.stdout).toContain('operator revenue');
    expect(r.stdout).toMatch(/Sutong Bridge\s+¥[\d.]+ +\(\d+ legs\)/);
    expect(r.stdout).toContain('period netting: each bank owes each company');
    expect(r.stdout).toMatch(/Σ positions = 0; charged (¥[\d.]+) = earned \1/);
  }, 60_000);
});
