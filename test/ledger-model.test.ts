// Differential property test: the state machine against an independent BigInt reference
// model (test/helpers/model.ts) on random workloads with large amounts, linked chains,
// two-phase transfers with time-outs, freezes and halts. Codes and balances must agree.
import { afterAll, describe, expect, it } from 'vitest';
import { bareState, rec, FLAG_LINKED } from './helpers/ledger.js';
import { Model, type MRecord, type MSigner } from './helpers/model.js';
import {
  TRANSFER_PENDING as PENDING, TRANSFER_POST_PENDING as POST, TRANSFER_VOID_PENDING as VOID,
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS as CMNED, U128_MAX,
} from '../dist/src/codec/record.js';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
}

const seen = new Set<number>();

describe('state machine = reference model', () => {
  afterAll(() => {
    // The workloads must reach most of the codes, or the comparison proves little.
    expect(seen.size).toBeGreaterThanOrEqual(38);
  });
  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    it(`seed ${seed}`, () => {
      const fx = bareState();
      const signers = { admin: fx.admin, regulator: fx.regulator, operator: fx.operator, alice: fx.alice, bob: fx.bob };
      const roles = new Map<string, MSigner>([
        ['admin', { name: 'admin', admin: true }], ['regulator', { name: 'regulator', regulator: true }],
        ['operator', { name: 'operator', operatorLedger: 1 }], ['alice', { name: 'alice', participant: true }],
        ['bob', { name: 'bob', participant: true }],
      ]);
      const model = new Model(roles);
      const r = rng(seed);
      const pick = <T,>(a: T[]): T => a[Math.floor(r() * a.length)];
      const ids = (n: number) => BigInt(1 + Math.floor(r() * n));
      const amount = () => (r() < 0.1 ? U128_MAX - BigInt(Math.floor(r() * 50)) : r() < 0.1 ? 0n : BigInt(1 + Math.floor(r() * 40)));
      let time = 2_000_000;
      const pendings: bigint[] = [];
      for (let block = 1; block <= 60; block++) {
        time += Math.floor(r() * 3000);
        const mrecs: MRecord[] = [];
        const bytes: Uint8Array[] = [];
        const n = 1 + Math.floor(r() * 40);
        for (let i = 0; i < n; i++) {
          const linked = r() < 0.2 ? FLAG_LINKED : 0;
          const who = pick(['admin', 'regulator', 'operator', 'alice', 'bob', 'operator', 'operator', 'operator']);
          const x = r();
          let m: MRecord;
          if (x < 0.15 || block <= 3) {
            const controller = pick(['alice', 'bob', 'operator']);
            m = { kind: 'create_account', id: ids(12), ledger: pick([1, 1, 2, 0]), code: pick([1, 1, 2, 0]), flags: pick([0, 0, DMNEC, CMNED, DMNEC | CMNED]) | linked, controller, signer: who };
            bytes.push(rec({ kind: 'create_account', id: m.id, ledger: m.ledger, code: m.code, flags: m.flags, controller: signers[controller as 'alice'].keyId }, signers[who as 'alice']));
          } else if (x < 0.85) {
            const phase = pick([0, 0, 0, PENDING, PENDING, POST, VOID, POST | VOID]);
            const resolving = (phase & (POST | VOID)) !== 0;
            m = {
              kind: 'transfer', id: r() < 0.01 ? pick([0n, U128_MAX]) : ids(150), dr: resolving && r() < 0.7 ? 0n : r() < 0.02 ? 0n : ids(13),
              cr: resolving && r() < 0.7 ? 0n : r() < 0.02 ? 0n : ids(13),
              amount: resolving && r() < 0.5 ? pick([0n, 1n, 5n, 20n]) : amount(),
              pendingId: resolving ? (pendings.length && r() < 0.85 ? pick(pendings) : r() < 0.1 ? U128_MAX : ids(150)) : r() < 0.03 ? ids(150) : 0n,
              ledger: resolving && r() < 0.7 ? 0 : pick([1, 1, 1, 2, 0]), code: resolving && r() < 0.7 ? 0 : pick([1, 1, 2]),
              flags: phase | linked, timeout: phase === PENDING && r() < 0.6 ? 1 + Math.floor(r() * 6) : r() < 0.03 ? 3 : 0, signer: who,
            };
            if (phase === PENDING) pendings.push(m.id);
            bytes.push(rec({ kind: 'transfer', id: m.id, debitAccountId: m.dr, creditAccountId: m.cr, amount: m.amount, pendingId: m.pendingId,
              ledger: m.ledger, code: m.code, flags: m.flags, timeout: m.timeout }, signers[who as 'alice']));
          } else if (x < 0.93) {
            const kind = pick(['freeze_account', 'unfreeze_account'] as const);
            m = { kind, id: 1000n + ids(30), account: ids(13), flags: linked, signer: pick(['regulator', 'regulator', who]) };
            bytes.push(rec({ kind, id: m.id, accountId: m.account, flags: linked }, signers[m.signer as 'alice']));
          } else {
            const kind = pick(['halt_ledger', 'resume_ledger'] as const);
            m = { kind, id: 1000n + ids(30), ledger: pick([1, 2, 0]), flags: linked, signer: pick(['regulator', 'regulator', who]) };
            bytes.push(rec({ kind, id: m.id, ledger: m.ledger, flags: linked }, signers[m.signer as 'alice']));
          }
          mrecs.push(m);
        }
        mrecs[n - 1].flags &= ~FLAG_LINKED;
        bytes[n - 1][2] &= ~FLAG_LINKED;
        model.beginBlock(time);
        const want = model.apply(mrecs);
        const got = fx.apply(bytes, block, time);
        for (const c of got) seen.add(c);
        for (let i = 0; i < n; i++) {
          expect(got[i], `block ${block} record ${i}: ${JSON.stringify(mrecs[i], (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toBe(want[i]);
        }
      }
      // Balances and flags.
      for (const a of model.accounts.values()) {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = Number((a.id >> BigInt(8 * i)) & 0xffn);
        const idx = fx.state.findAccount(b, 0);
        expect(idx).toBeGreaterThanOrEqual(0);
        const w = fx.state.accounts.words;
        const rd = (at: number) => BigInt(w[at]) | (BigInt(w[at + 1]) << 32n) | (BigInt(w[at + 2]) << 64n) | (BigInt(w[at + 3]) << 96n);
        const e = idx * 32;
        expect([rd(e + 4), rd(e + 8), rd(e + 12), rd(e + 16)]).toEqual([a.dp, a.dpo, a.cp, a.cpo]);
        expect(((w[e + 25] >>> 16) & 0x100) !== 0).toBe(a.frozen);
      }
      expect(fx.state.accounts.count).toBe(model.accounts.size);
      expect(fx.state.transfers.count).toBe(model.transfers.size);
      if (process.env.MODEL_DEBUG) console.log([...seen].sort((a, b) => a - b).join(' '));
    });
  }
});
