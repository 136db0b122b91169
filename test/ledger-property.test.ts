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
