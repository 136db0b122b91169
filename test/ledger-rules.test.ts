// Table tests: every state-machine rule and result code (docs/protocol.md §Results).
import { describe, expect, it } from 'vitest';
import { bareState, rec, roles, signer, FLAG_LINKED } from './helpers/ledger.js';
import { ResultCode as R } from '../dist/src/codec/results.js';
import {
  ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS as CMNED, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC,
  TRANSFER_PENDING as PENDING, TRANSFER_POST_PENDING as POST, TRANSFER_VOID_PENDING as VOID, U128_MAX,
} from '../dist/src/codec/record.js';

type Fx = ReturnType<typeof bareState>;
const MAX = U128_MAX;

/** Accounts 10 (alice), 11 (bob), 12 (alice, dmnec), 13 (bob, cmned) on ledger 1; 20 (alice) on ledger 2. */
function world(): Fx {
  const fx = bareState();
  const { alice, bob, apply } = fx;
  const codes = apply([
    rec({ kind: 'create_account', id: 10n, ledger: 1, code: 1, controller: alice.keyId }, alice),
    rec({ kind: 'create_account', id: 11n, ledger: 1, code: 1, controller: bob.keyId }, bob),
    rec({ kind: 'create_account', id: 12n, ledger: 1, code: 1, flags: DMNEC, controller: alice.keyId }, alice),
    rec({ kind: 'create_account', id: 13n, ledger: 1, code: 1, flags: CMNED, controller: bob.keyId }, bob),
    rec({ kind: 'create_account', id: 20n, ledger: 2, code: 1, controller: alice.keyId }, alice),
  ]);
  expect(codes).toEqual([0, 0, 0, 0, 0]);
  return fx;
}

function bal(fx: Fx, id: bigint): bigint[] {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((id >> BigInt(8 * i)) & 0xffn);
  const i = fx.state.findAccount(b, 0);
  const e = fx.state.accounts.entry(i);
  const rd = (o: number) => { let v = 0n; for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(e[o + k]); return v; };
  return [rd(16), rd(32), rd(48), rd(64)]; // dp, dpo, cp, cpo
}

const T = (f: Record<string, unknown>) => ({ kind: 'transfer' as const, ledger: 1, code: 1, ...f }) as never;

describe('register_key', () => {
  it.each([
    ['not admin', 3, { roles: roles.ROLE_PARTICIPANT }, R.signer_not_authorized],
    ['id zero', 0, { id: 0n, roles: roles.ROLE_PARTICIPANT }, R.id_must_not_be_zero],
    ['id max', 0, { id: MAX, roles: roles.ROLE_PARTICIPANT }, R.id_must_not_be_int_max],
    ['roles zero', 0, { roles: 0 }, R.roles_must_not_be_zero],
    ['operator without ledger', 0, { roles: roles.ROLE_OPERATOR }, R.operator_requires_ledger],
    ['ledger without operator', 0, { roles: roles.ROLE_PARTICIPANT, ledger: 3 }, R.ledger_requires_operator],
    ['ok', 0, { roles: roles.ROLE_PARTICIPANT }, R.ok],
  ])('%s', (_n, by, f, code) => {
    const fx = bareState();
    const s = [fx.admin, fx.regulator, fx.operator, fx.alice][by as number];
    const k = signer(9);
    expect(fx.apply([rec({ kind: 'register_key', id: 50n, publicKey: k.publicKey, ...(f as object) } as never, s)])).toEqual([code]);
  });
  it('reserved role bits are refused (state-level check)', () => {
    const fx = bareState();
    // The builders refuse role bits beyond ROLES_ALL, so set the byte by hand (offset 129).
    const r = rec({ kind: 'register_key', id: 50n, publicKey: signer(9).publicKey, roles: 1 }, fx.admin);
    r[129] = 0x21;
    expect(fx.apply([r])).toEqual([R.reserved_role]);
  });
  it('invalid public key, existing key, idempotency', () => {
    const fx = bareState();
    const bad = signer(9).publicKey.slice(); bad[64] ^= 1;
    expect(fx.apply([rec({ kind: 'register_key', id: 50n, publicKey: bad, roles: 8 }, fx.admin)])).toEqual([R.invalid_public_key]);
    expect(fx.apply([rec({ kind: 'register_key', id: 51n, publicKey: fx.alice.publicKey, roles: 8 }, fx.admin)])).toEqual([R.key_exists]);
    const r = rec({ kind: 'register_key', id: 52n, publicKey: signer(9).publicKey, roles: 8 }, fx.admin);
    expect(fx.apply([r])).toEqual([R.ok]);
    expect(fx.apply([r])).toEqual([R.exists]);
    expect(fx.apply([rec({ kind: 'register_key', id: 52n, publicKey: signer(10).publicKey, roles: 8 }, fx.admin)]))
      .toEqual([R.exists_with_different_fields]);
  });
  it('bootstrap is only for the first key', () => {
    const fx = bareState();
    const k = signer(11);
    expect(fx.apply([rec({ kind: 'register_key', id: 60n, publicKey: k.publicKey, roles: roles.ROLE_ADMIN }, k)]))
      .toEqual([R.signer_not_authorized]);
  });
});

describe('create_account', () => {
  it.each([
    ['flags exclusive', { flags: DMNEC | CMNED }, R.flags_are_mutually_exclusive],
    ['id zero', { id: 0n }, R.id_must_not_be_zero],
    ['id max', { id: MAX }, R.id_must_not_be_int_max],
    ['ledger zero', { ledger: 0 }, R.ledger_must_not_be_zero],
    ['code zero', { code: 0 }, R.code_must_not_be_zero],
    ['exists', { id: 10n }, R.exists],
    ['exists different', { id: 10n, code: 2 }, R.exists_with_different_fields],
    ['controller unknown', { controller: new Uint8Array(32).fill(3) }, R.controller_key_not_found],
    ['ok', {}, R.ok],
  ])('%s', (_n, f, code) => {
    const fx = world();
    expect(fx.apply([rec({ kind: 'create_account', id: 30n, ledger: 1, code: 1, controller: fx.alice.keyId, ...(f as object) } as never, fx.alice)]))
      .toEqual([code]);
  });
  it('authorization: participant only for itself; operator on its ledger; admin anywhere', () => {
    const fx = world();
    const ca = (id: bigint, ledger: number, controller: Uint8Array, by: typeof fx.alice) =>
      rec({ kind: 'create_account', id, ledger, code: 1, controller }, by);
    expect(fx.apply([
      ca(30n, 1, fx.bob.keyId, fx.alice), ca(31n, 1, fx.bob.keyId, fx.operator), ca(32n, 2, fx.bob.keyId, fx.operator),
      ca(33n, 5, fx.bob.keyId, fx.admin), ca(34n, 1, fx.bob.keyId, fx.regulator),
    ])).toEqual([R.signer_not_authorized, R.ok, R.signer_not_authorized, R.ok, R.signer_not_authorized]);
  });
  it('halted ledger refuses', () => {
    const fx = world();
    expect(fx.apply([rec({ kind: 'halt_ledger', id: 900n, ledger: 1 }, fx.regulator)])).toEqual([R.ok]);
    expect(fx.apply([rec({ kind: 'create_account', id: 30n, ledger: 1, code: 1, controller: fx.alice.keyId }, fx.alice)]))
      .toEqual([R.ledger_halted]);
  });
});

describe('transfer: validation', () => {
  it.each([
    ['pending+post', { flags: PENDING | POST, pendingId: 5n }, R.flags_are_mutually_exclusive],
    ['post+void', { flags: POST | VOID, pendingId: 5n }, R.flags_are_mutually_exclusive],
    ['id zero', { id: 0n }, R.id_must_not_be_zero],
    ['id max', { id: MAX }, R.id_must_not_be_int_max],
    ['pending id set', { pendingId: 5n }, R.pending_id_must_be_zero],
    ['timeout without pending', { timeout: 5 }, R.timeout_reserved_for_pending_transfer],
    ['debit zero', { debitAccountId: 0n }, R.debit_account_id_must_not_be_zero],
    ['credit zero', { creditAccountId: 0n }, R.credit_account_id_must_not_be_zero],
    ['same accounts', { creditAccountId: 10n }, R.accounts_must_be_different],
    ['ledger zero', { ledger: 0 }, R.ledger_must_not_be_zero],
    ['code zero', { code: 0 }, R.code_must_not_be_zero],
    ['amount zero', { amount: 0n }, R.amount_must_not_be_zero],
    ['debit missing', { debitAccountId: 99n }, R.debit_account_not_found],
    ['credit missing', { creditAccountId: 99n }, R.credit_account_not_found],
    ['ledgers differ', { creditAccountId: 20n }, R.accounts_must_have_the_same_ledger],
    ['transfer ledger differs', { ledger: 2 }, R.transfer_must_have_the_same_ledger_as_accounts],
    ['post pending id zero', { flags: POST }, R.pending_id_must_not_be_zero],
    ['post pending id max', { flags: POST, pendingId: MAX }, R.pending_id_must_not_be_int_max],
    ['post pending id = id', { flags: POST, pendingId: 100n }, R.pending_id_must_be_different],
    ['post with timeout', { flags: POST, pendingId: 5n, timeout: 1 }, R.timeout_reserved_for_pending_transfer],
    ['post unknown pending', { flags: POST, pendingId: 5n }, R.pending_transfer_not_found],
    ['ok', {}, R.ok],
  ])('%s', (_n, f, code) => {
    const fx = world();
    expect(fx.apply([rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 7n, ...(f as object) }), fx.alice)]))
      .toEqual([code]);
  });
});

describe('transfer: semantics', () => {
  it('idempotent by id', () => {
    const fx = world();
    const t = rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 7n }), fx.alice);
    expect(fx.apply([t, t])).toEqual([R.ok, R.exists]);
    expect(fx.apply([rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 8n }), fx.alice)]))
      .toEqual([R.exists_with_different_fields]);
    expect(bal(fx, 10n)).toEqual([0n, 7n, 0n, 0n]);
    expect(bal(fx, 11n)).toEqual([0n, 0n, 0n, 7n]);
  });
  it('authorization: controller of the debit account or operator of the ledger', () => {
    const fx = world();
    expect(fx.apply([
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.bob),
      rec(T({ id: 101n, debitAccountId: 11n, creditAccountId: 10n, amount: 1n }), fx.bob),
      rec(T({ id: 102n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.operator),
      rec(T({ id: 103n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.regulator),
      rec(T({ id: 104n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.admin),
    ])).toEqual([R.signer_not_authorized, R.ok, R.ok, R.signer_not_authorized, R.signer_not_authorized]);
  });
  it('balance limits', () => {
    const fx = world();
    expect(fx.apply([
      rec(T({ id: 100n, debitAccountId: 12n, creditAccountId: 11n, amount: 1n }), fx.alice),
      rec(T({ id: 101n, debitAccountId: 11n, creditAccountId: 12n, amount: 5n }), fx.bob),
      rec(T({ id: 102n, debitAccountId: 12n, creditAccountId: 11n, amount: 5n }), fx.alice),
      rec(T({ id: 103n, debitAccountId: 12n, creditAccountId: 11n, amount: 1n }), fx.alice),
      rec(T({ id: 104n, debitAccountId: 10n, creditAccountId: 13n, amount: 1n }), fx.alice),
      rec(T({ id: 105n, debitAccountId: 13n, creditAccountId: 10n, amount: 3n }), fx.bob),
      rec(T({ id: 106n, debitAccountId: 10n, creditAccountId: 13n, amount: 3n }), fx.alice),
      rec(T({ id: 107n, debitAccountId: 10n, creditAccountId: 13n, amount: 1n, flags: PENDING }), fx.alice),
    ])).toEqual([R.exceeds_credits, R.ok, R.ok, R.exceeds_credits, R.exceeds_debits, R.ok, R.ok, R.exceeds_debits]);
  });
  it('overflow', () => {
    const fx = world();
    const big = MAX - 1n;
    expect(fx.apply([
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: big }), fx.alice),
      rec(T({ id: 101n, debitAccountId: 10n, creditAccountId: 11n, amount: 2n }), fx.alice),
      rec(T({ id: 102n, debitAccountId: 10n, creditAccountId: 11n, amount: 2n, flags: PENDING }), fx.alice),
      rec(T({ id: 103n, debitAccountId: 11n, creditAccountId: 10n, amount: MAX }), fx.bob),
      rec(T({ id: 104n, debitAccountId: 11n, creditAccountId: 10n, amount: 2n, flags: PENDING }), fx.bob),
      rec(T({ id: 105n, debitAccountId: 11n, creditAccountId: 10n, amount: MAX, flags: PENDING }), fx.bob),
    ])).toEqual([R.ok, R.overflows_debits_posted, R.overflows_debits, R.ok, R.overflows_debits, R.overflows_debits]);
    const fx5 = world();
    expect(fx5.apply([
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: MAX, flags: PENDING }), fx5.alice),
      rec(T({ id: 101n, debitAccountId: 10n, creditAccountId: 13n, amount: 1n, flags: PENDING }), fx5.alice),
    ])).toEqual([R.ok, R.overflows_debits_pending]);
    const fx2 = world();
    expect(fx2.apply([
      rec(T({ id: 100n, debitAccountId: 11n, creditAccountId: 10n, amount: big }), fx2.bob),
      rec(T({ id: 101n, debitAccountId: 12n, creditAccountId: 10n, amount: 2n }), fx2.alice),
    ])).toEqual([R.ok, R.overflows_credits_posted]);
    const fx3 = world();
    expect(fx3.apply([
      rec(T({ id: 100n, debitAccountId: 11n, creditAccountId: 10n, amount: big }), fx3.bob),
      rec(T({ id: 101n, debitAccountId: 13n, creditAccountId: 10n, amount: 2n }), fx3.bob),
      rec(T({ id: 102n, debitAccountId: 13n, creditAccountId: 10n, amount: 2n, flags: PENDING }), fx3.bob),
    ])).toEqual([R.ok, R.overflows_credits_posted, R.overflows_credits]);
    const fx4 = world();
    expect(fx4.apply([
      rec(T({ id: 100n, debitAccountId: 13n, creditAccountId: 10n, amount: MAX, flags: PENDING }), fx4.bob),
      rec(T({ id: 101n, debitAccountId: 11n, creditAccountId: 10n, amount: 1n, flags: PENDING }), fx4.bob),
    ])).toEqual([R.ok, R.overflows_credits_pending]);
  });
  it('two-phase: post full, post partial, void, errors', () => {
    const fx = world();
    const { alice } = fx;
    expect(fx.apply([
      rec(T({ id: 200n, debitAccountId: 10n, creditAccountId: 11n, amount: 10n, flags: PENDING }), alice),
      rec(T({ id: 201n, debitAccountId: 10n, creditAccountId: 11n, amount: 10n, flags: PENDING }), alice),
      rec(T({ id: 202n, debitAccountId: 10n, creditAccountId: 11n, amount: 10n, flags: PENDING }), alice),
    ])).toEqual([0, 0, 0]);
    expect(bal(fx, 10n)).toEqual([30n, 0n, 0n, 0n]);
    const P = (id: bigint, pendingId: bigint, f: Record<string, unknown> = {}) =>
      rec(T({ id, pendingId, flags: POST, ledger: 0, code: 0, ...f }), alice);
    expect(fx.apply([
      P(300n, 200n),                                                   // full
      P(301n, 201n, { amount: 4n }),                                    // partial
      P(302n, 202n, { amount: 11n }),                                   // too much
      P(303n, 202n, { debitAccountId: 11n }),
      P(304n, 202n, { creditAccountId: 10n }),
      P(305n, 202n, { ledger: 2 }),
      P(306n, 202n, { code: 9 }),
      rec(T({ id: 307n, pendingId: 202n, flags: VOID, amount: 3n, ledger: 0, code: 0 }), alice),
      rec(T({ id: 308n, pendingId: 202n, flags: VOID, ledger: 0, code: 0 }), alice),
      P(309n, 200n),
      P(310n, 202n),
      rec(T({ id: 311n, pendingId: 201n, flags: VOID, ledger: 0, code: 0 }), alice),
      P(312n, 100n),
      P(300n, 200n),                                                   // idempotent retry
    ])).toEqual([R.ok, R.ok, R.exceeds_pending_transfer_amount, R.pending_transfer_has_different_debit_account_id,
      R.pending_transfer_has_different_credit_account_id, R.pending_transfer_has_different_ledger,
      R.pending_transfer_has_different_code, R.pending_transfer_has_different_amount, R.ok,
      R.pending_transfer_already_posted, R.pending_transfer_already_voided, R.pending_transfer_already_posted,
      R.pending_transfer_not_found, R.exists]);
    expect(bal(fx, 10n)).toEqual([0n, 14n, 0n, 0n]);
    expect(bal(fx, 11n)).toEqual([0n, 0n, 0n, 14n]);
    expect(fx.apply([
      rec(T({ id: 400n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), alice),
      rec(T({ id: 401n, pendingId: 400n, flags: POST, ledger: 0, code: 0 }), alice),
    ])).toEqual([R.ok, R.pending_transfer_not_pending]);
  });
  it('pending transfers expire deterministically by block time', () => {
    const fx = world();
    expect(fx.apply([rec(T({ id: 200n, debitAccountId: 10n, creditAccountId: 11n, amount: 10n, flags: PENDING, timeout: 5 }), fx.alice)],
      10, 2_000_000)).toEqual([0]);
    expect(bal(fx, 10n)).toEqual([10n, 0n, 0n, 0n]);
    fx.apply([], 11, 2_004_999);
    expect(bal(fx, 10n)).toEqual([10n, 0n, 0n, 0n]);
    expect(fx.apply([rec(T({ id: 300n, pendingId: 200n, flags: POST, ledger: 0, code: 0 }), fx.alice)], 12, 2_005_000))
      .toEqual([R.pending_transfer_expired]);
    expect(bal(fx, 10n)).toEqual([0n, 0n, 0n, 0n]);
    expect(bal(fx, 11n)).toEqual([0n, 0n, 0n, 0n]);
  });
  it('linked chains succeed or fail as one', () => {
    const fx = world();
    const { alice, bob } = fx;
    expect(fx.apply([
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 5n, flags: FLAG_LINKED }), alice),
      rec({ kind: 'create_account', id: 40n, ledger: 1, code: 1, controller: alice.keyId, flags: FLAG_LINKED }, alice),
      rec(T({ id: 101n, debitAccountId: 40n, creditAccountId: 11n, amount: 5n, flags: FLAG_LINKED | PENDING }), alice),
      rec(T({ id: 102n, debitAccountId: 11n, creditAccountId: 99n, amount: 5n }), bob),   // fails
      rec(T({ id: 103n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), alice), // independent
    ])).toEqual([R.linked_event_failed, R.linked_event_failed, R.linked_event_failed, R.credit_account_not_found, R.ok]);
    expect(bal(fx, 10n)).toEqual([0n, 1n, 0n, 0n]);
    expect(bal(fx, 11n)).toEqual([0n, 0n, 0n, 1n]);
    expect(fx.state.accounts.count).toBe(5);
    expect(fx.state.transfers.count).toBe(1);
    // The rolled-back ids are free again, and a passing chain applies fully.
    expect(fx.apply([
      rec({ kind: 'create_account', id: 40n, ledger: 1, code: 1, controller: alice.keyId, flags: FLAG_LINKED }, alice),
      rec(T({ id: 101n, debitAccountId: 40n, creditAccountId: 11n, amount: 5n, flags: FLAG_LINKED | PENDING }), alice),
      rec({ kind: 'freeze_account', id: 901n, accountId: 13n }, fx.regulator),
    ])).toEqual([R.ok, R.ok, R.ok]);
    expect(bal(fx, 40n)).toEqual([5n, 0n, 0n, 0n]);
  });
  it('a chain rolls back privileged acts and keys too', () => {
    const fx = world();
    expect(fx.apply([
      rec({ kind: 'halt_ledger', id: 900n, ledger: 1, flags: FLAG_LINKED }, fx.regulator),
      rec({ kind: 'freeze_account', id: 901n, accountId: 10n, flags: FLAG_LINKED }, fx.regulator),
      rec({ kind: 'register_key', id: 902n, publicKey: signer(9).publicKey, roles: 8 }, fx.regulator), // the chain's end
    ])).toEqual([R.linked_event_failed, R.linked_event_failed, R.signer_not_authorized]);
    expect(fx.state.halted.size).toBe(0);
    expect(fx.apply([rec({ kind: 'unfreeze_account', id: 903n, accountId: 10n }, fx.regulator)])).toEqual([R.account_not_frozen]);
  });
});

describe('regulator acts', () => {
  it('freeze / unfreeze', () => {
    const fx = world();
    const F = (id: bigint, accountId: bigint, by = fx.regulator, kind: 'freeze_account' | 'unfreeze_account' = 'freeze_account') =>
      rec({ kind, id, accountId }, by);
    expect(fx.apply([F(900n, 10n, fx.admin), F(900n, 10n), F(900n, 10n), F(901n, 10n), F(902n, 99n), F(903n, 0n),
      F(0n, 10n)])).toEqual([R.signer_not_authorized, R.ok, R.exists, R.account_already_frozen, R.account_not_found,
      R.account_not_found, R.id_must_not_be_zero]);
    expect(fx.apply([
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.alice),
      rec(T({ id: 101n, debitAccountId: 11n, creditAccountId: 10n, amount: 1n }), fx.bob),
      F(900n, 10n, fx.regulator, 'unfreeze_account'),
      F(904n, 10n, fx.regulator, 'unfreeze_account'),
      F(905n, 10n, fx.regulator, 'unfreeze_account'),
      rec(T({ id: 102n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.alice),
    ])).toEqual([R.debit_account_frozen, R.credit_account_frozen, R.exists_with_different_fields, R.ok, R.account_not_frozen, R.ok]);
  });
  it('halt / resume', () => {
    const fx = world();
    const H = (id: bigint, ledger: number, kind: 'halt_ledger' | 'resume_ledger' = 'halt_ledger', by = fx.regulator) =>
      rec({ kind, id, ledger }, by);
    expect(fx.apply([H(900n, 1, 'halt_ledger', fx.operator), H(900n, 1), H(901n, 1), H(902n, 0), H(903n, 2, 'resume_ledger'),
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.alice),
      H(904n, 1, 'resume_ledger'),
      rec(T({ id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 1n }), fx.alice),
    ])).toEqual([R.signer_not_authorized, R.ok, R.ledger_already_halted, R.ledger_must_not_be_zero, R.ledger_not_halted,
      R.ledger_halted, R.ok, R.ok]);
  });
  it('anchor', () => {
    const fx = world();
    const d = new Uint8Array(32).fill(5);
    const stranger = signer(12);
    expect(fx.apply([
      rec({ kind: 'anchor', id: 700n, digest: d, metadata: d }, fx.alice),
      rec({ kind: 'anchor', id: 700n, digest: d, metadata: d }, fx.alice),
      rec({ kind: 'anchor', id: 700n, digest: d }, fx.alice),
      rec({ kind: 'anchor', id: 701n, digest: new Uint8Array(32) }, fx.alice),
      rec({ kind: 'anchor', id: 702n, digest: d }, stranger),
    ])).toEqual([R.ok, R.exists, R.exists_with_different_fields, R.digest_must_not_be_zero, R.signer_not_authorized]);
  });
});
