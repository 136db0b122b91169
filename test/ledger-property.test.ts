// Property tests over random workloads: per-ledger Σ debits = Σ credits (pending and posted)
// after every block, and replaying the same records gives identical results and roots.
import { describe, expect, it } from 'vitest';
import { bareState, rec, FLAG_LINKED } from './helpers/ledger.js';
import { ledgerSums } from '../dist/src/chain/verify.js';
import {
  TRANSFER_PENDING as PENDING, TRANSFER_POST_PENDING as POST, TRANSFER_VOID_PENDING as VOID,
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS as CMNED,
} from '../dist/src/codec/record.js';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
}

function workload(seed: number, blocks: number, perBlock: number) {
  const fx = bareState();
  const r = rng(seed);
  const pick = <T,>(a: T[]): T => a[Math.floor(r() * a.length)];
  const signers = [fx.alice, fx.bob, fx.operator];
  const out: { records: Uint8Array[]; time: number }[] = [];
  let nextId = 1000n;
  const accounts: bigint[] = [];
  const pendings: bigint[] = [];
  let time = 5_000_000;
  for (let b = 0; b < blocks; b++) {
    const records: Uint8Array[] = [];
    time += Math.floor(r() * 4000);
    for (let i = 0; i < perBlock; i++) {
      const id = r() < 0.05 && nextId > 1000n ? 1000n + BigInt(Math.floor(r() * Number(nextId - 1000n))) : nextId++;
      const linked = r() < 0.15 && i < perBlock - 1 ? FLAG_LINKED : 0;
      const x = r();
      if (x < 0.12 || accounts.length < 4) {
        const who = pick([fx.alice, fx.bob]);
        const ledger = 1 + Math.floor(r() * 2);
        const flags = pick([0, 0, DMNEC, CMNED]) | linked;
        records.push(rec({ kind: 'create_account', id, ledger, code: 1, flags, controller: who.keyId }, pick([who, fx.operator, fx.admin])));
        accounts.push(id);
      } else if (x < 0.75) {
        const pending = r() < 0.3;
        records.push(rec({
          kind: 'transfer', id, debitAccountId: pick(accounts), creditAccountId: pick(accounts),
          amount: BigInt(1 + Math.floor(r() * 100)), ledger: 1 + Math.floor(r() * 2), code: 1,
          flags: (pending ? PENDING : 0) | linked, timeout: pending && r() < 0.5 ? 1 + Math.floor(r() * 8) : 0,
        }, pick(signers)));
        if (pending) pendings.push(id);
      } else if (x < 0.92 && pendings.length) {
        const post = r() < 0.6;
        records.push(rec({
          kind: 'transfer', id, pendingId: pick(pendings), flags: (post ? POST : VOID) | linked,
          amount: post && r() < 0.5 ? BigInt(1 + Math.floor(r() * 60)) : 0n,
        }, pick(signers)));
      } else if (x < 0.96) {
        records.push(rec({ kind: r() < 0.5 ? 'freeze_account' : 'unfreeze_account', id, accountId: pick(accounts), flags: linked }, fx.regulator));
      } else {
        records.push(rec({ kind: r() < 0.5 ? 'halt_ledger' : 'resume_ledger', id, ledger: 1 + Math.floor(r() * 2), flags: linked }, fx.regulator));
      }
    }
    // Close any chain left open at the end of the block.
    const last = records[records.length - 1];
    last[2] &= ~FLAG_LINKED;
    out.push({ records, time });
  }
  return { fx, blocks: out };
}

function run(seed: number) {
  const { fx, blocks } = workload(seed, 40, 60);
  const roots: string[] = [];
  const codes: number[][] = [];
  blocks.forEach((b, i) => {
    codes.push(fx.apply(b.records, i + 1, b.time));
    roots.push(Buffer.from(fx.state.tree.root()).toString('hex'));
    for (const [ledger, s] of ledgerSums(fx.state)) {
      expect(s.dp, `ledger ${ledger} pending`).toBe(s.cp);
      expect(s.dpo, `ledger ${ledger} posted`).toBe(s.cpo);
    }
  });
  return { roots, codes, blocks };
}

describe('random workloads', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: Σ debits = Σ credits; replay is identical`, () => {
      const a = run(seed);
      const b = run(seed);
      expect(b.roots).toEqual(a.roots);
      expect(b.codes).toEqual(a.codes);
      const all = a.codes.flat();
      // The workload must exercise both success and failure paths.
      expect(all.filter((c) => c === 0).length).toBeGreaterThan(100);
      expect(new Set(all).size).toBeGreaterThan(8);
    });
  }
});

describe('replay on disk', () => {
  it('feeding a chain\'s records to a fresh node gives byte-identical signed headers and state roots', async () => {
    const { initChain } = await import('../dist/src/chain/init.js');
    const { Ledger } = await import('../dist/src/ledger/ledger.js');
    const { RocksDb, WriteBatch } = await import('../dist/native/rocksdb.js');
    const { META_CONFIG } = await import('../dist/src/store/store.js');
    const { signer, tempDir, acceptAllVerifier, CHAIN } = await import('./helpers/ledger.js');
    const { cpSync, mkdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { blocks } = workload(77, 12, 30);
    // Chain A: genesis, the workload's keys, then the workload, one batch per block.
    const dirA = tempDir();
    let now = 1_700_000_000_000;
    const clock = () => now;
    await initChain({ dir: dirA, chainId: CHAIN, admin: signer(0), regulator: signer(1), node: signer(5), clock });
    const a = await Ledger.open({ dir: dirA, verifier: acceptAllVerifier, blockMaxMs: 1, clock });
    const keys = [2, 3, 4].map((i, k) => rec({ kind: 'register_key', id: 900n + BigInt(k), publicKey: signer(i).publicKey,
      roles: i === 2 ? 4 : 8, ledger: i === 2 ? 1 : 0 }, signer(0)));
    now += 1000;
    expect((await a.submit(keys)).every((r) => r.code === 0)).toBe(true);
    for (const b of blocks) {
      now = b.time + 1_699_990_000_000;
      await a.submit(b.records);
    }
    const stored = [];
    for (let h = 0; h <= a.height; h++) stored.push((await a.getBlock(h))!);
    await a.close();
    expect(stored.length).toBe(14);
    // Chain B: the same config and node key, fed A's records block by block at A's block times.
    const dirB = tempDir();
    mkdirSync(join(dirB, 'keys'));
    cpSync(join(dirA, 'keys'), join(dirB, 'keys'), { recursive: true });
    const dbA = await RocksDb.open(join(dirA, 'db'));
    const config = (await dbA.get(META_CONFIG))!;
    await dbA.close();
    const dbB = await RocksDb.open(join(dirB, 'db'));
    const wb = new WriteBatch();
    wb.put(META_CONFIG, config);
    await dbB.write(wb, true);
    await dbB.close();
    const b = await Ledger.open({ dir: dirB, verifier: acceptAllVerifier, blockMaxMs: 1, clock, genesis: true });
    for (const blk of stored) {
      now = blk.header.timeMs;
      const r = await b.submit(blk.records);
      expect(r.map((x) => x.code)).toEqual(blk.codes);
    }
    for (let h = 0; h < stored.length; h++) {
      const mine = (await b.getBlock(h))!;
      expect(Buffer.from(mine.headerBytes.subarray(0, 192)).toString('hex'), `block ${h}`)
        .toBe(Buffer.from(stored[h].headerBytes.subarray(0, 192)).toString('hex'));
    }
    await b.close();
  });
});
