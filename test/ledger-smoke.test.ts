import { describe, expect, it } from 'vitest';
import { bareState, rec } from './helpers/ledger.js';

describe('smoke', () => {
  it('creates accounts and transfers', () => {
    const { state, alice, bob, apply, operator } = bareState();
    const codes = apply([
      rec({ kind: 'create_account', id: 10n, ledger: 1, code: 1, controller: alice.keyId }, alice),
      rec({ kind: 'create_account', id: 11n, ledger: 1, code: 1, controller: bob.keyId }, bob),
      rec({ kind: 'transfer', id: 100n, debitAccountId: 10n, creditAccountId: 11n, amount: 5n, ledger: 1, code: 1 }, alice),
      rec({ kind: 'transfer', id: 101n, debitAccountId: 10n, creditAccountId: 11n, amount: 5n, ledger: 1, code: 1 }, bob),
      rec({ kind: 'transfer', id: 102n, debitAccountId: 10n, creditAccountId: 11n, amount: 5n, ledger: 1, code: 1 }, operator),
    ]);
    expect(codes).toEqual([0, 0, 0, 33, 0]);
    expect(state.accounts.count).toBe(2);
  });
});
