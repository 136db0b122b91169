// The business commands (docs/operations.md, "Business commands"): keys, accounts, transfers,
// a transfer with its proof, the regulator's acts, anchors and the console, each run as a
// user would, against a running node.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initChain } from '../dist/src/chain/init.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');

describe('business commands', () => {
  let dir: string;
  let node: RunningNode;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-cli-business-'));
    await initChain({ dir: join(dir, 'chain'), chainId: 4545 });
    node = await runNode({ dir: join(dir, 'chain'), host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5,
      auditAnchorS: 1 }, () => undefined);
    url = node.server.url;
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // Asynchronous: the node runs in this process, so a blocking spawn would starve it.
  const gm = (args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, GMLEDGER_URL: url } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      p.on('close', (code) => resolve({ code, out, err }));
      p.stdin.end(input ?? '');
    });
  const key = (name: string) => join(dir, 'chain', 'keys', `${name}.key`);

  it('keys, accounts, transfers, lookups with proofs, the regulator, anchors', async () => {
    const alice = join(dir, 'alice');
    let r = (await gm(['keygen', alice]));
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).keyId).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(`${alice}.key`).mode & 0o777).toBe(0o600);
    expect((await gm(['keygen', alice])).code).not.toBe(0); // never overwrites
    r = (await gm(['key', 'register', `${alice}.pub`, '--roles', 'participant', '--key', key('admin'), '--id', '9001']));
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/^ok \(block \d+, index 0\)/);
    expect((await gm(['account', 'create', '1', '--ledger', '1', '--code', '1', '--key', `${alice}.key`])).code).toBe(0);
    expect((await gm(['account', 'create', '2', '--ledger', '1', '--code', '1', '--controller', `${alice}.pub`,
      '--flags', 'credits_must_not_exceed_debits', '--key', key('admin')])).code).toBe(0);
    expect((await gm(['account', 'create', '3', '--ledger', '1', '--code', '1', '--key', `${alice}.key`])).code).toBe(0);
    const t = ['transfer', '--from', '1', '--to', '3', '--amount', '100', '--ledger', '1', '--code', '1', '--key',
      `${alice}.key`, '--id', '50'];
    expect((await gm(t)).out).toMatch(/^ok/);
    r = (await gm(t)); // a retry with the same id
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^exists/);
    expect((await gm(['transfer', '--from', '1', '--to', '3', '--amount', '7', '--ledger', '1', '--code', '1', '--pending',
      '--timeout', '60', '--key', `${alice}.key`, '--id', '51'])).code).toBe(0);
    expect((await gm(['post', '51', '--key', `${alice}.key`, '--id', '52'])).code).toBe(0);
    r = (await gm(['account', 'show', '3', '--json']));
    expect(JSON.parse(r.out)).toMatchObject({ creditsPosted: '107' });
    r = (await gm(['account', 'history', '3', '--limit', '5']));
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.includes('→')).length).toBeGreaterThanOrEqual(2);
    r = (await gm(['tx', '50', '--node-pub', join(dir, 'chain', 'keys', 'node.pub')]));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/proof: verified \(Merkle path and the node's signature\)/);
    expect((await gm(['tx', '50', '--node-pub', join(dir, 'chain', 'keys', 'admin.pub')])).out).toMatch(/NOT VERIFIED/);
    expect((await gm(['tx', '12345'])).code).toBe(1);
    // The regulator freezes account 1: alice's next transfer from it is refused, exit 1.
    expect((await gm(['freeze', '1', '--key', key('regulator')])).code).toBe(0);
    r = (await gm(['transfer', '--from', '1', '--to', '3', '--amount', '1', '--ledger', '1', '--code', '1', '--key', `${alice}.key`]));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/debit_account_frozen/);
    expect((await gm(['unfreeze', '1', '--key', key('regulator')])).code).toBe(0);
    expect((await gm(['halt', '1', '--key', `${alice}.key`])).out).toMatch(/signer_not_authorized/);
    const doc = join(dir, 'contract.pdf');
    writeFileSync(doc, 'a contract');
    r = (await gm(['anchor', doc, '--key', `${alice}.key`, '--id', '777']));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/anchor 777: SM3 [0-9a-f]{64} of .*; receipt: block \d+/);
  }, 120_000);

  it('bad usage: a specific message and exit 2', async () => {
    let r = (await gm(['transfer', '--from', '1', '--to', '3', '--ledger', '1', '--code', '1', '--key', key('admin')]));
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--amount is required/)]);
    r = (await gm(['transfer', '--bogus']));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bogus/);
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, '11'.repeat(32));
    chmodSync(loose, 0o644);
    r = (await gm(['freeze', '1', '--key', loose]));
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/readable by other users.*chmod 600/)]);
    r = (await gm(['account', 'show', 'abc']));
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/must be a u128/)]);
    r = (await gm(['account', 'show', '1', '--url', 'ws://127.0.0.1:1/ws']));
    expect(r.code).toBe(2);
    expect((await gm(['account', '--help'])).code).toBe(0);
  }, 60_000);

  it('the console: the SDK connected and authenticated, top-level await', async () => {
    const script = [
      "const r = await submit(records.transfer({ chainId, id: 9100n, debitAccountId: 1n, creditAccountId: 3n, amount: 5n, ledger: 1, code: 1 }, signer));",
      "console.log('RESULT', r.join(','));",
      "console.log('BALANCE', (await http('/accounts/3')).creditsPosted);",
      '.exit',
    ].join('\n') + '\n';
    const r = (await gm(['console', '--key', join(dir, 'alice.key')], script));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/RESULT ok@\d+#0/);
    expect(r.out).toMatch(/BALANCE 112/);
  }, 60_000);

  it('the audit trail: every authenticated access, hash-chained, anchored on the chain', async () => {
    const file = join(dir, 'chain', 'audit', 'audit.jsonl');
    await new Promise((r) => setTimeout(r, 2500)); // an anchor interval (1 s) and a write (1 s)
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.what === 'login' && l.via === 'ws')).toBe(true);
    expect(lines.some((l) => l.what === 'login_failed' || l.what.startsWith('submit '))).toBe(true);
    expect(lines.some((l) => l.anchorId !== undefined)).toBe(true);
    let r = await gm(['audit', 'verify', file]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/audit trail verified: \d+ lines chain; (\d+) of \1 anchors match the chain/);
    // Change who did something in one line: the chain breaks there.
    const tampered = join(dir, 'tampered.jsonl');
    const text = readFileSync(file, 'utf8').split('\n');
    const i = text.findIndex((l) => l.includes('"what":"login"'));
    text[i] = text[i].replace(/"who":"[0-9a-f]{4}/, '"who":"ffff');
    writeFileSync(tampered, text.join('\n'));
    r = await gm(['audit', 'verify', tampered]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/NOT VERIFIED: .*line \d+ .* does not chain/);
  }, 60_000);
});
