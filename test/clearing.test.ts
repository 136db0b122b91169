// Clearing in the state machine (docs/clearing.md): cycles, netting and gridlock against an
// independent model, the RTGS queue, the regulator's controls and rules, bad input.
import { describe, expect, it } from 'vitest';
import { bareState, rec, signer } from './helpers/ledger.js';
import { ResultCode as R } from '../dist/src/codec/results.js';
import {
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, TRANSFER_DEFERRED as DEFERRED, TRANSFER_QUEUE as QUEUE,
  CYCLE_CAP, CYCLE_DELAY, CYCLE_REFUSE, RULE_ALERT, RULE_REFUSE, FLAG_LINKED,
} from '../dist/src/codec/record.js';
import { readTransfer } from '../dist/src/codec/entries.js';

type Fx = ReturnType<typeof bareState>;
const LEDGER = 1;
const FUND = 1n;       // funding account (no balance limit): the central bank's issue account
const CLEAR = 2n;      // the clearing account of the cycles
const bank = (i: number): bigint => 100n + BigInt(i);

function idBytes(id: bigint): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((id >> BigInt(8 * i)) & 0xffn);
  return b;
}

/** credits posted − debits posted − debits pending. */
function available(fx: Fx, id: bigint): bigint {
  const i = fx.state.findAccount(idBytes(id), 0);
  if (i < 0) throw new Error(`no account ${id}`);
  const e = fx.state.accounts.entry(i);
  const rd = (o: number) => { let v = 0n; for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(e[o + k]); return v; };
  return rd(64) - rd(32) - rd(16);
}

/** Σ over every account of credits − debits (posted and pending): 0 after every block, in double entry. */
function conservation(fx: Fx): bigint {
  let sum = 0n;
  for (let i = 0; i < fx.state.accounts.count; i++) {
    const e = fx.state.accounts.entry(i);
    const rd = (o: number) => { let v = 0n; for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(e[o + k]); return v; };
    sum += rd(64) + rd(48) - rd(32) - rd(16);
  }
  return sum;
}

function transferStatus(fx: Fx, id: bigint): string {
  const t = fx.state.findTransfer(idBytes(id), 0);
  if (t < 0) return 'none';
  const s = readTransfer(fx.state.transfers.words, t).status;
  return s === 'obligation' || s === 'obligation_removed' ? fx.state.clearing.obligationStatus(t) : s;
}

let nextId = 10_000n;
const nid = (): bigint => nextId++;

/** n banks with DMNEC settlement accounts funded with `funds[i]`, plus FUND and CLEAR. */
function world(funds: bigint[]): Fx {
  const fx = bareState();
  const { admin, operator } = fx;
  const accts = [
    rec({ kind: 'create_account', id: FUND, ledger: LEDGER, code: 1, controller: operator.keyId }, admin),
    rec({ kind: 'create_account', id: CLEAR, ledger: LEDGER, code: 1, flags: DMNEC, controller: operator.keyId }, admin),
    ...funds.map((_, i) =>
      rec({ kind: 'create_account', id: bank(i), ledger: LEDGER, code: 1, flags: DMNEC, controller: operator.keyId }, admin)),
  ];
  expect(fx.apply(accts).every((c) => c === 0)).toBe(true);
  const fund = funds.map((f, i) => f > 0n
    ? rec({ kind: 'transfer', id: nid(), debitAccountId: FUND, creditAccountId: bank(i), amount: f, ledger: LEDGER, code: 1 }, operator)
    : undefined).filter((r): r is Uint8Array => r !== undefined);
  if (fund.length > 0) expect(fx.apply(fund).every((c) => c === 0)).toBe(true);
  return fx;
}

function openCycle(fx: Fx, cycleId: bigint, members: number): number[] {
  const { operator } = fx;
  return fx.apply([
    rec({ kind: 'cycle_open', id: cycleId, ledger: LEDGER, code: 9, clearingAccountId: CLEAR }, operator),
    ...Array.from({ length: members }, (_, i) =>
      rec({ kind: 'cycle_member', id: nid(), cycleId, accountId: bank(i) }, operator)),
  ]);
}

const pay = (fx: Fx, cycleId: bigint, from: number, to: number, amount: bigint, id = nid()) =>
  rec({ kind: 'transfer', flags: DEFERRED, id, debitAccountId: bank(from), creditAccountId: bank(to), amount,
    pendingId: cycleId, ledger: LEDGER, code: 7 }, fx.operator);

// ---------------------------------------------------------------------------------------
// The independent model: written from docs/clearing.md ("Gridlock resolution").

interface Ob { from: number; to: number; amount: bigint }
function model(n: number, avail: bigint[], obs: Ob[], caps: (bigint | undefined)[] = []):
  { positions: bigint[]; removed: boolean[] } {
  const removed = obs.map(() => false);
  const pos = (): bigint[] => {
    const p = Array.from({ length: n }, () => 0n);
    obs.forEach((o, k) => { if (!removed[k]) { p[o.from] -= o.amount; p[o.to] += o.amount; } });
    return p;
  };
  const short = (p: bigint[], s: number): bigint => {
    const need = -p[s];
    if (need <= 0n) return 0n;
    let sh = need - avail[s];
    if (caps[s] !== undefined && need - caps[s]! > sh) sh = need - caps[s]!;
    return sh > 0n ? sh : 0n;
  };
  for (;;) {
    const p = pos();
    let worst = -1; let ws = 0n;
    for (let s = 0; s < n; s++) { const sh = short(p, s); if (sh > ws) { ws = sh; worst = s; } }
    if (worst < 0) return { positions: p, removed };
    for (let k = obs.length - 1; k >= 0 && short(pos(), worst) > 0n; k--) {
      if (!removed[k] && obs[k].from === worst) removed[k] = true;
    }
  }
}

describe('cycles: open, obligations, close', () => {
  it('nets three banks and settles one transfer per member through the clearing account', () => {
    const fx = world([100n, 100n, 100n]);
    const C = 5000n;
    expect(openCycle(fx, C, 3)).toEqual([0, 0, 0, 0]);
    const ids = [nid(), nid(), nid()];
    expect(fx.apply([pay(fx, C, 0, 1, 80n, ids[0]), pay(fx, C, 1, 2, 70n, ids[1]), pay(fx, C, 2, 0, 60n, ids[2])]))
      .toEqual([0, 0, 0]);
    // Obligations move nothing.
    expect([0, 1, 2].map((i) => available(fx, bank(i)))).toEqual([100n, 100n, 100n]);
    expect(transferStatus(fx, ids[0])).toBe('obligation');
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([0]);
    // Positions: bank0 −80+60 = −20, bank1 +80−70 = +10, bank2 +70−60 = +10.
    expect([0, 1, 2].map((i) => available(fx, bank(i)))).toEqual([80n, 110n, 110n]);
    expect(available(fx, CLEAR)).toBe(0n);
    const cycle = fx.state.clearing.cycle(C)!;
    expect(cycle.status).toBe('settled');
    expect(cycle.report).toMatchObject({ gross: 210n, net: 20n, saved: 190n, settledCount: 3, removedCount: 0 });
    expect(cycle.report!.positions).toEqual([-20n, 10n, 10n]);
    expect(ids.map((id) => transferStatus(fx, id))).toEqual(Array(3).fill('obligation_settled'));
    // Idempotent: the same obligation again is `exists`; a new one into a settled cycle is refused.
    expect(fx.apply([pay(fx, C, 0, 1, 80n, ids[0])])).toEqual([R.exists]);
    expect(fx.apply([pay(fx, C, 0, 1, 5n)])).toEqual([R.cycle_not_open]);
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([R.cycle_not_open]);
  });

  it('random cycles with gridlock match the independent model; money is conserved', () => {
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let round = 0; round < 30; round++) {
      const n = 2 + rnd(8);
      const funds = Array.from({ length: n }, () => BigInt(rnd(4) === 0 ? 0 : rnd(500)));
      const fx = world(funds);
      const C = 9000n + BigInt(round);
      openCycle(fx, C, n);
      const obs: Ob[] = [];
      const recs: Uint8Array[] = [];
      const ids: bigint[] = [];
      for (let k = 0; k < 5 + rnd(60); k++) {
        const from = rnd(n); let to = rnd(n); if (to === from) to = (to + 1) % n;
        const amount = BigInt(1 + rnd(300));
        obs.push({ from, to, amount });
        ids.push(nid());
        recs.push(pay(fx, C, from, to, amount, ids[ids.length - 1]));
      }
      expect(fx.apply(recs).every((c) => c === 0)).toBe(true);
      expect(conservation(fx)).toBe(0n);
      const before = funds.map((_, i) => available(fx, bank(i)));
      const m = model(n, before, obs);
      expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([0]);
      expect(conservation(fx)).toBe(0n);
      const after = funds.map((_, i) => available(fx, bank(i)));
      const report = fx.state.clearing.cycle(C)!.report!;
      expect(report.positions).toEqual(m.positions);
      expect(after.map((a, i) => a - before[i])).toEqual(m.positions);
      expect(m.positions.reduce((x, y) => x + y, 0n)).toBe(0n);
      expect(after.every((a) => a >= 0n)).toBe(true);
      expect(available(fx, CLEAR)).toBe(0n);
      expect(report.removedCount).toBe(m.removed.filter(Boolean).length);
      ids.forEach((id, k) => expect(transferStatus(fx, id)).toBe(m.removed[k] ? 'obligation_removed' : 'obligation_settled'));
      const gross = obs.reduce((s, o, k) => (m.removed[k] ? s : s + o.amount), 0n);
      expect(report.gross).toBe(gross);
      expect(report.saved).toBe(gross - report.net);
    }
  });

  it('a gridlock: every bank short, nothing moves for the removed, the rest settles', () => {
    // Ring 0→1→2→0 of 100 each nets to zero; bank 0 also owes bank 1 50 it cannot cover.
    const fx = world([0n, 0n, 0n]);
    const C = 5100n;
    openCycle(fx, C, 3);
    const late = nid();
    fx.apply([pay(fx, C, 0, 1, 100n), pay(fx, C, 1, 2, 100n), pay(fx, C, 2, 0, 100n), pay(fx, C, 0, 1, 50n, late)]);
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([0]);
    const r = fx.state.clearing.cycle(C)!.report!;
    expect(r).toMatchObject({ removedCount: 1, removedGross: 50n, gross: 300n, net: 0n, rounds: 1 });
    expect(transferStatus(fx, late)).toBe('obligation_removed');
  });
});

describe('the regulator and cycles', () => {
  it('delay, cap and refuse', () => {
    const fx = world([1000n, 1000n]);
    const C = 5200n;
    openCycle(fx, C, 2);
    fx.apply([pay(fx, C, 0, 1, 300n), pay(fx, C, 0, 1, 200n)]);
    const until = BigInt(fx.state.timeMs + 60_000);
    expect(fx.apply([rec({ kind: 'cycle_regulate', id: nid(), cycleId: C, action: CYCLE_DELAY, untilMs: until }, fx.regulator)]))
      .toEqual([0]);
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([R.cycle_close_delayed]);
    // Caps: bank 0 may owe at most 350 net → its latest obligation (200) is removed.
    expect(fx.apply([rec({ kind: 'cycle_regulate', id: nid(), cycleId: C, action: CYCLE_CAP, accountId: bank(0), amount: 350n }, fx.regulator)]))
      .toEqual([0]);
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)], undefined, Number(until))).toEqual([0]);
    expect(fx.state.clearing.cycle(C)!.report).toMatchObject({ net: 300n, removedCount: 1 });
    // Refusal voids a cycle's obligations; nothing moves.
    const D = 5201n;
    openCycle(fx, D, 2);
    const p = nid();
    fx.apply([pay(fx, D, 1, 0, 10n, p)]);
    expect(fx.apply([rec({ kind: 'cycle_regulate', id: nid(), cycleId: D, action: CYCLE_REFUSE }, fx.regulator)])).toEqual([0]);
    expect(transferStatus(fx, p)).toBe('obligation_voided');
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: D }, fx.operator)])).toEqual([R.cycle_not_open]);
    // Only the regulator.
    expect(fx.apply([rec({ kind: 'cycle_regulate', id: nid(), cycleId: C, action: CYCLE_REFUSE }, fx.operator)]))
      .toEqual([R.signer_not_authorized]);
  });
});

describe('bad input: a named code, nothing changed', () => {
  it.each([
    ['close an unknown cycle', (fx: Fx) => rec({ kind: 'cycle_close', id: nid(), cycleId: 1n }, fx.operator), R.cycle_not_found],
    ['a member without an account', (fx: Fx) => rec({ kind: 'cycle_member', id: nid(), cycleId: 7000n, accountId: 999n }, fx.operator),
      R.cycle_member_account_not_found],
    ['the clearing account as a member', (fx: Fx) => rec({ kind: 'cycle_member', id: nid(), cycleId: 7000n, accountId: CLEAR }, fx.operator),
      R.cycle_member_is_clearing_account],
    ['a member twice', (fx: Fx) => rec({ kind: 'cycle_member', id: nid(), cycleId: 7000n, accountId: bank(0) }, fx.operator),
      R.cycle_member_exists],
    ['a payment to a non-member', (fx: Fx) => pay(fx, 7000n, 0, 2, 5n), R.cycle_member_not_found],
    ['a payment into an unknown cycle', (fx: Fx) => pay(fx, 7001n, 0, 1, 5n), R.cycle_not_found],
    ['deferred without a cycle', (fx: Fx) => pay(fx, 0n, 0, 1, 5n), R.deferred_requires_cycle],
    ['deferred and queue together', (fx: Fx) => rec({ kind: 'transfer', flags: DEFERRED | QUEUE, id: nid(), debitAccountId: bank(0),
      creditAccountId: bank(1), amount: 1n, pendingId: 7000n, ledger: LEDGER, code: 1 }, fx.operator), R.flags_are_mutually_exclusive],
    ['a cycle opened by a participant', (fx: Fx) => rec({ kind: 'cycle_open', id: 7002n, ledger: LEDGER, code: 9, clearingAccountId: CLEAR },
      fx.alice), R.signer_not_authorized],
    ['a cycle without a clearing account', (fx: Fx) => rec({ kind: 'cycle_open', id: 7003n, ledger: LEDGER, code: 9, clearingAccountId: 998n },
      fx.operator), R.clearing_account_not_found],
    ['a rule from a non-regulator', (fx: Fx) => rec({ kind: 'rule', id: nid(), ruleId: 1, ledger: LEDGER, tier: RULE_REFUSE, maxAmount: 5n },
      fx.operator), R.signer_not_authorized],
    ['a rule with an unknown tier', (fx: Fx) => rec({ kind: 'rule', id: nid(), ruleId: 1, ledger: LEDGER, tier: 3, maxAmount: 5n },
      fx.regulator), R.invalid_rule_tier],
    ['a rule counting without a window', (fx: Fx) => rec({ kind: 'rule', id: nid(), ruleId: 1, ledger: LEDGER, tier: RULE_ALERT, maxCount: 5 },
      fx.regulator), R.invalid_rule_window],
    ['removing an unknown rule', (fx: Fx) => rec({ kind: 'rule', id: nid(), ruleId: 77, ledger: 0, tier: 0 }, fx.regulator),
      R.rule_not_found],
    ['a bad cycle action', (fx: Fx) => rec({ kind: 'cycle_regulate', id: nid(), cycleId: 7000n, action: 9 }, fx.regulator),
      R.invalid_cycle_action],
  ] as const)('%s', (_name, make, code) => {
    const fx = world([10n, 10n, 10n]);
    openCycle(fx, 7000n, 2);
    const before = JSON.stringify([[...fx.state.accounts.bytes.subarray(0, fx.state.accounts.count * 128)],
      fx.state.transfers.count, fx.state.clearing.rules.size]);
    expect(fx.apply([make(fx)])).toEqual([code]);
    expect(JSON.stringify([[...fx.state.accounts.bytes.subarray(0, fx.state.accounts.count * 128)],
      fx.state.transfers.count, fx.state.clearing.rules.size])).toBe(before);
  });

  it('a linked chain with a close that fails undoes the close', () => {
    const fx = world([0n, 100n]);
    const C = 5300n;
    openCycle(fx, C, 2);
    fx.apply([pay(fx, C, 1, 0, 60n)]);
    const codes = fx.apply([
      rec({ kind: 'cycle_close', id: nid(), cycleId: C, flags: FLAG_LINKED }, fx.operator),
      rec({ kind: 'transfer', id: nid(), debitAccountId: 999n, creditAccountId: bank(0), amount: 1n, ledger: LEDGER, code: 1 }, fx.operator),
    ]);
    expect(codes).toEqual([R.linked_event_failed, R.debit_account_not_found]);
    expect(fx.state.clearing.cycle(C)!.status).toBe('open');
    expect([available(fx, bank(0)), available(fx, bank(1)), available(fx, CLEAR)]).toEqual([0n, 100n, 0n]);
    expect(fx.apply([rec({ kind: 'cycle_close', id: nid(), cycleId: C }, fx.operator)])).toEqual([0]);
    expect([available(fx, bank(0)), available(fx, bank(1))]).toEqual([60n, 40n]);
  });
});

describe('the RTGS queue', () => {
  const q = (fx: Fx, from: number, to: number, amount: bigint, id = nid(), timeout = 0) =>
    rec({ kind: 'transfer', flags: QUEUE, id, debitAccountId: bank(from), creditAccountId: bank(to), amount, ledger: LEDGER,
      code: 1, timeout }, fx.operator);

  it('waits when short, settles in arrival order when credits arrive, and expires', () => {
    const fx = world([10n, 0n, 0n]);
    const a = nid(); const b = nid(); const c = nid();
    // 50 and 5 both wait (FIFO: the 5 waits behind the 50 though it would fit); c expires after 10 s.
    expect(fx.apply([q(fx, 0, 1, 50n, a), q(fx, 0, 2, 5n, b), q(fx, 0, 2, 1000n, c, 10)])).toEqual([0, 0, 0]);
    expect([a, b, c].map((id) => transferStatus(fx, id))).toEqual(['queued', 'queued', 'queued']);
    expect(fx.state.clearing.queueOf(fx.state.findAccount(idBytes(bank(0)), 0)).length).toBe(3);
    // A plain transfer without the flag is refused as before.
    expect(fx.apply([rec({ kind: 'transfer', id: nid(), debitAccountId: bank(0), creditAccountId: bank(1), amount: 50n,
      ledger: LEDGER, code: 1 }, fx.operator)])).toEqual([R.exceeds_credits]);
    // 45 arrive: 55 available → a (50) settles, then b (5).
    fx.apply([rec({ kind: 'transfer', id: nid(), debitAccountId: FUND, creditAccountId: bank(0), amount: 45n, ledger: LEDGER,
      code: 1 }, fx.operator)]);
    expect([a, b, c].map((id) => transferStatus(fx, id))).toEqual(['posted', 'posted', 'queued']);
    expect([available(fx, bank(0)), available(fx, bank(1)), available(fx, bank(2))]).toEqual([0n, 50n, 5n]);
    // c's timeout passes.
    fx.apply([], undefined, fx.state.timeMs + 10_000);
    expect(transferStatus(fx, c)).toBe('queue_expired');
    expect(fx.state.clearing.queued(fx.state.findAccount(idBytes(bank(0)), 0))).toBe(false);
  });
});

describe('the regulator\'s rules', () => {
  const t = (fx: Fx, amount: bigint, code = 1) => rec({ kind: 'transfer', id: nid(), debitAccountId: bank(0),
    creditAccountId: bank(1), amount, ledger: LEDGER, code }, fx.operator);

  it('refuse and alert tiers, max amount, count and amount per rolling window', () => {
    const fx = world([10_000n, 0n]);
    expect(fx.apply([
      rec({ kind: 'rule', id: nid(), ruleId: 1, ledger: LEDGER, tier: RULE_REFUSE, accountId: bank(0), maxAmount: 1000n }, fx.regulator),
      rec({ kind: 'rule', id: nid(), ruleId: 2, ledger: LEDGER, tier: RULE_ALERT, code: 1, windowMs: 10_000, maxCount: 2 }, fx.regulator),
      rec({ kind: 'rule', id: nid(), ruleId: 3, ledger: LEDGER, tier: RULE_REFUSE, windowMs: 10_000, maxWindowAmount: 1500n }, fx.regulator),
    ])).toEqual([0, 0, 0]);
    expect(fx.apply([t(fx, 1001n)])).toEqual([R.rule_max_amount]);
    expect(fx.apply([t(fx, 600n), t(fx, 600n)])).toEqual([0, 0]);
    expect(fx.state.clearing.alerts.length).toBe(0);
    // Third in the window: rule 2 alerts (goes through); 1,500 would be exceeded by rule 3 → refused.
    expect(fx.apply([t(fx, 400n)])).toEqual([R.rule_max_window_amount]);
    expect(fx.apply([t(fx, 300n)])).toEqual([0]);
    expect(fx.state.clearing.alerts.map((a) => [a.ruleId, a.violation])).toEqual([[2, 'rule_max_count']]);
    // Another code is outside rule 2; after the window, room again.
    expect(fx.apply([t(fx, 10n, 2)])).toEqual([R.rule_max_window_amount]);
    expect(fx.apply([t(fx, 1000n)], undefined, fx.state.timeMs + 10_000)).toEqual([0]);
    // Remove rule 3.
    expect(fx.apply([rec({ kind: 'rule', id: nid(), ruleId: 3, ledger: 0, tier: 0 }, fx.regulator)])).toEqual([0]);
    expect(fx.apply([t(fx, 1000n)])).toEqual([0]);
  });
});

void signer;
