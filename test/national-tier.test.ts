// `gmledger cluster up --national` (docs/toll.md, "Two tiers"): a provincial consortium and a
// national chain, with the consortium's final headers anchored into the national chain by
// node 1's key. Needs nats-server (skipped with a warning outside CI, required in CI).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { headerHash } from '../dist/src/codec/block.js';
import { fromHex, toHex } from '../dist/src/crypto/bytes.js';
import { tollAnchorId } from '../dist/src/apps/toll/sdk.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

const SKIP = skipWithoutNats('test/national-tier.test.ts');

describe.skipIf(SKIP)('cluster up --national', () => {
  it('anchors the provincial chain\'s final headers into a national chain, then stops cleanly', async () => {
    requireNats('the national tier test');
    const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
    const p = spawn(process.execPath, [cli, 'cluster', 'up', '--nodes', '1', '--nats-servers', '1', '--national',
      '--anchor-ms', '300', '--block-ms', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const lines: Record<string, string>[] = [];
    createInterface({ input: p.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
    const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
    try {
      await until('the cluster and the national tier', () => lines.some((l) => l.event === 'national'), 90_000, 100);
      const node = lines.find((l) => l.event === 'node')!;
      const national = lines.find((l) => l.event === 'national')!;
      // An anchor of some provincial header appears on the national chain, and it carries that header's hash.
      let found: { digest: string; height: number } | undefined;
      await until('an anchored provincial header', async () => {
        const status = await (await fetch(`${node.http}/status`)).json() as { finalHeight: number };
        for (let h = status.finalHeight; h >= 0 && found === undefined; h--) {
          const block = await (await fetch(`${node.http}/blocks/${h}`)).json() as { headerBytes: string };
          const header = fromHex(block.headerBytes);
          const r = await fetch(`${national.http}/anchors/${tollAnchorId(header)}`);
          if (r.status !== 200) continue;
          const a = await r.json() as { proof: { record: string } };
          found = { digest: a.proof.record.slice(128, 192), height: h };
          expect(found.digest).toBe(toHex(headerHash(header)));
        }
        return found !== undefined;
      }, 60_000, 300);
      expect(found!.height).toBeGreaterThanOrEqual(0);
      expect(stderr).toMatch(/national: anchored provincial block \d+ in national block \d+/);
    } finally {
      p.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 180_000);
});
