// Clearing on a real ledger (docs/clearing.md): cycles, rules, queues and alerts survive a
// restart; a SIGKILL during a close leaves the cycle wholly settled or wholly open; the
// chain verifies offline.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAIN, signer, tempDir } from './helpers/ledger.js';
import { initChain } from '../dist/src/chain/init.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { records } from '../dist/src/codec/builders.js';
import {
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, ROLE_OPERATOR, RULE_ALERT, RULE_REFUSE, TRANSFER_QUEUE,
} from '../dist/src/codec/record.js';
import { cycleRecords, obligationRecord } from '../dist/src/apps/clearing/sdk.js';

const L = 1;
const FUND = 1n;
const CLEAR = 2n;
const bank = (i: number): bigint => 100n + BigInt(i);
const admin = signer(0), regulator = signer(1), node = signer(5), op = signer(6);

/** A chain with an operator of ledger 1, FUND, CLEAR and `n` funded DMNEC bank accounts. */
async function setup(n: number, funds: (i: number) => bigint): Promise<string> {
  const dir = tempDir('gmledger-clearing-');
  await initChain({ dir, chainId: CHAIN, admin, regulator, node });
  const ledger = await Ledger.open({ dir, blockMaxMs: 2 });
  const rs = [
    records.registerKey({ chainId: CHAIN, id: 1000n, publicKey: op.publicKey, roles: ROLE_OPERATOR, ledger: L }, admin),
    records.createAccount({ chainId: CHAIN, id: FUND, ledger: L, code: 1, controller: op.keyId }, admin),
    records.createAccount({ chainId: CHAIN, id: CLEAR, ledger: L, code: 1, flags: DMNEC, controller: op.keyId }, admin),
  ];
  for (let i = 0; i < n; i++) {
    rs.push(records.createAccount({ chainId: CHAIN, id: bank(i), ledger: L, code: 1, flags: DMNEC, controller: op.keyId }, admin));
  }
  expect((await ledger.submit(rs)).every((r) => r.name === 'ok')).toBe(true);
  const fund = [];
  for (let i = 0; i < n; i++) {
    if (funds(i) > 0n) {
      fund.push(records.transfer({ chainId: CHAIN, id: 2000n + BigInt(i), debitAccountId: FUND, creditAccountId: bank(i),
        amount: funds(i), ledger: L, code: 1 }, op));
    }
  }
  if (fund.length > 0) expect((await ledger.submit(fund)).every((r) => r.name === 'ok')).toBe(true);
  await ledger.close();
  return dir;
}

const avail = (l: Ledger, id: bigint): bigint => {
  const a = l.getAccount(id)!;
  return a.creditsPosted - a.debitsPosted - a.debitsPending;
};

describe('clearing on a ledger', () => {
  it('cycles, rules, queues and alerts survive restarts, and the chain verifies', async () => {
    const dir = await setup(3, (i) => (i === 2 ? 0n : 500n));
    let ledger = await Ledger.open({ dir, blockMaxMs: 2, checkpointBlocks: 1 });
    const C = 7000n;
    const open = await ledger.submit(cycleRecords(CHAIN, { cycleId: C, ledger: L, code: 9, clearingAccountId: CLEAR,
      members: [bank(0), bank(1), bank(2)] }, op));
    expect(open.map((r) => r.name)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const pay = (id: bigint, f: number, t: number, amount: bigint) =>
      obligationRecord(CHAIN, C, { id, debitAccountId: bank(f), creditAccountId: bank(t), amount, ledger: L, code: 7 }, op);
    expect((await ledger.submit([pay(8000n, 0, 1, 300n), pay(8001n, 1, 2, 100n)])).map((r) => r.name)).toEqual(['ok', 'ok']);
    expect((await ledger.submit([records.rule({ chainId: CHAIN, id: 8100n, ruleId: 5, ledger: L, tier: RULE_ALERT,
      maxAmount: 50n }, regulator)]))[0].name).toBe('ok');
    // A queued transfer from the empty bank 2, and one that raises an alert (60 > 50).
    expect((await ledger.submit([records.transfer({ chainId: CHAIN, id: 8200n, flags: TRANSFER_QUEUE, debitAccountId: bank(2),
      creditAccountId: bank(0), amount: 60n, ledger: L, code: 1 }, op)]))[0].name).toBe('ok');
    expect(ledger.getQueue(bank(2))).toMatchObject({ count: 1 });
    expect(ledger.getAlerts()).toMatchObject([{ ruleId: 5, violation: 'rule_max_amount', transferId: '8200' }]);
    await ledger.close();

    ledger = await Ledger.open({ dir, blockMaxMs: 2, checkpointBlocks: 1 });
    expect(ledger.getCycle(C)).toMatchObject({ status: 'open', obligations: 2 });
    expect(ledger.getRules()).toMatchObject([{ ruleId: 5, tier: 'alert', maxAmount: '50' }]);
    expect(ledger.getQueue(bank(2))).toMatchObject({ count: 1, transfers: [{ id: '8200', amount: '60' }] });
    expect(ledger.getAlerts()).toHaveLength(1);
    // Close: bank 2 receives 100 net, so its queued 60 settles at the end of that block.
    expect((await ledger.submit([records.cycleClose({ chainId: CHAIN, id: 8300n, cycleId: C }, op)]))[0].name).toBe('ok');
    expect(ledger.getTransfer(8200n)!.status).toBe('posted');
    expect(ledger.getTransfer(8000n)!.status).toBe('obligation_settled');
    await ledger.close();

    ledger = await Ledger.open({ dir, blockMaxMs: 2 });
    expect(ledger.getCycle(C)).toMatchObject({ status: 'settled', report: { gross: '400', net: '300', saved: '100' } });
    expect([0, 1, 2].map((i) => avail(ledger, bank(i)))).toEqual([260n, 700n, 40n]);
    expect(avail(ledger, CLEAR)).toBe(0n);
    expect(ledger.getQueue(bank(2))).toMatchObject({ count: 0 });
    await ledger.close();
    const v = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'src', 'cli.js'), 'verify', dir],
      { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  }, 60_000);

  it('a rule\'s rolling window survives a restart (checkpointed, then restored)', async () => {
    const dir = await setup(2, () => 1000n);
    let ledger = await Ledger.open({ dir, blockMaxMs: 2, checkpointBlocks: 1 });
    const t = (id: bigint) => records.transfer({ chainId: CHAIN, id, debitAccountId: bank(0), creditAccountId: bank(1),
      amount: 1n, ledger: L, code: 1 }, op);
    expect((await ledger.submit([records.rule({ chainId: CHAIN, id: 8500n, ruleId: 9, ledger: L, tier: RULE_REFUSE,
      accountId: bank(0), windowMs: 3_600_000, maxCount: 2, maxWindowAmount: 10n }, regulator)]))[0].name).toBe('ok');
    expect((await ledger.submit([t(8501n), t(8502n)])).map((r) => r.name)).toEqual(['ok', 'ok']);
    await ledger.close();
    ledger = await Ledger.open({ dir, blockMaxMs: 2 });
    expect((await ledger.submit([t(8503n)]))[0].name).toBe('rule_max_count');
    await ledger.close();
  }, 60_000);

  it('a SIGKILL during a close leaves the cycle wholly settled or wholly open', async () => {
    const N = 10;
    const dir = await setup(N, (i) => BigInt(1000 + 100 * i));
    const C = 9000n;
    let ledger = await Ledger.open({ dir, blockMaxMs: 2 });
    await ledger.submit(cycleRecords(CHAIN, { cycleId: C, ledger: L, code: 9, clearingAccountId: CLEAR,
      members: Array.from({ length: N }, (_, i) => bank(i)) }, op));
    let seed = 99;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const obs: Uint8Array[] = [];
    for (let k = 0; k < 6000; k++) {
      const f = rnd(N); const t = (f + 1 + rnd(N - 1)) % N;
      obs.push(obligationRecord(CHAIN, C, { id: 100_000n + BigInt(k), debitAccountId: bank(f), creditAccountId: bank(t),
        amount: BigInt(1 + rnd(400)), ledger: L, code: 7 }, op));
    }
    expect((await ledger.submit(obs)).every((r) => r.name === 'ok')).toBe(true);
    const before = Array.from({ length: N }, (_, i) => avail(ledger, bank(i)));
    await ledger.close();

    const child = join(import.meta.dirname, 'helpers', 'clearing-close-child.mjs');
    let settledSeen = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const file = join(dir, `close-${attempt}.bin`);
      writeFileSync(file, records.cycleClose({ chainId: CHAIN, id: 9500n + BigInt(attempt), cycleId: C }, op));
      const proc = spawn(process.execPath, [child, dir, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      let acked = false;
      await new Promise<void>((resolve) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) {
            // Kill at a moment that walks from right after the submit to after the ack.
            setTimeout(() => proc.kill('SIGKILL'), [0, 2, 6, 40][attempt]);
          }
          if (/ack \d+/.test(out)) acked = true;
        });
        proc.on('exit', () => resolve());
      });
      ledger = await Ledger.open({ dir, blockMaxMs: 2 });
      const cycle = ledger.getCycle(C) as { status: string; members: { position: string | null }[] };
      const after = Array.from({ length: N }, (_, i) => avail(ledger, bank(i)));
      if (cycle.status === 'settled') {
        settledSeen = true;
        expect(after.map((a, i) => a - before[i])).toEqual(cycle.members.map((m) => BigInt(m.position!)));
      } else {
        expect(acked).toBe(false);
        expect(cycle.status).toBe('open');
        expect(after).toEqual(before);
      }
      expect(avail(ledger, CLEAR)).toBe(0n);
      await ledger.close();
    }
    if (!settledSeen) {
      ledger = await Ledger.open({ dir, blockMaxMs: 2 });
      expect((await ledger.submit([records.cycleClose({ chainId: CHAIN, id: 9600n, cycleId: C }, op)]))[0].name).toBe('ok');
      await ledger.close();
    }
    const v = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'src', 'cli.js'), 'verify', dir],
      { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  }, 120_000);
});
