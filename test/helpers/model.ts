// An independent reference model of the ledger semantics (docs/protocol.md §3) in plain
// BigInt and Maps, written from the spec, for differential property tests. Keys and roles
// are simplified: the model is told each record's signer role facts by the test.

import {
  TRANSFER_PENDING as PENDING, TRANSFER_POST_PENDING as POST, TRANSFER_VOID_PENDING as VOID, FLAG_LINKED,
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS as CMNED, U128_MAX,
} from '../../dist/src/codec/record.js';
import { ResultCode as R } from '../../dist/src/codec/results.js';

export interface MAccount { id: bigint; ledger: number; code: number; flags: number; frozen: boolean; controller: string; dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }
export interface MTransfer { id: bigint; dr: bigint; cr: bigint; amount: bigint; pendingId: bigint; ledger: number; code: number; flags: number; timeout: number; status: number; expires: number }
export type MRecord =
  | { kind: 'create_account'; id: bigint; ledger: number; code: number; flags: number; controller: string; signer: string }
  | { kind: 'transfer'; id: bigint; dr: bigint; cr: bigint; amount: bigint; pendingId: bigint; ledger: number; code: number; flags: number; timeout: number; signer: string }
  | { kind: 'freeze_account' | 'unfreeze_account'; id: bigint; account: bigint; flags: number; signer: string }
  | { kind: 'halt_ledger' | 'resume_ledger'; id: bigint; ledger: number; flags: number; signer: string };

export interface MSigner { name: string; admin?: boolean; regulator?: boolean; operatorLedger?: number; participant?: boolean }

const MAX = U128_MAX;

export class Model {
  accounts = new Map<bigint, MAccount>();
  transfers = new Map<bigint, MTransfer>();
  ops = new Map<bigint, string>();
  halted = new Set<number>();
  time = 0;
  constructor(readonly signers: Map<string, MSigner>) {}

  clone(): Model {
    const m = new Model(this.signers);
    for (const [k, v] of this.accounts) m.accounts.set(k, { ...v });
    for (const [k, v] of this.transfers) m.transfers.set(k, { ...v });
    m.ops = new Map(this.ops); m.halted = new Set(this.halted); m.time = this.time;
    return m;
  }

  beginBlock(time: number): void {
    this.time = time;
    const due = [...this.transfers.values()].filter((t) => t.status === 1 && t.timeout > 0 && t.expires <= time);
    for (const t of due) {
      t.status = 4;
      this.accounts.get(t.dr)!.dp -= t.amount;
      this.accounts.get(t.cr)!.cp -= t.amount;
    }
  }

  /** Applies a block's records; returns codes. Chains end at the first record without linked. */
  apply(records: MRecord[]): number[] {
    const codes: number[] = [];
    let i = 0;
    while (i < records.length) {
      let end = i;
      while (end < records.length - 1 && (records[end].flags & FLAG_LINKED)) end++;
      const snapshot = this.clone();
      const chain: number[] = [];
      let failed = -1;
      for (let j = i; j <= end; j++) {
        const c = this.one(records[j]);
        chain.push(c);
        if (c !== 0 && end > i) { failed = j; break; }
      }
      if (failed >= 0) {
        Object.assign(this, { accounts: snapshot.accounts, transfers: snapshot.transfers, ops: snapshot.ops, halted: snapshot.halted });
        for (let j = i; j <= end; j++) codes.push(j === failed ? chain[j - i] : R.linked_event_failed);
      } else codes.push(...chain);
      i = end + 1;
    }
    return codes;
  }

  one(r: MRecord): number {
    const s = this.signers.get(r.signer)!;
    const id0 = r.id === 0n ? R.id_must_not_be_zero : r.id === MAX ? R.id_must_not_be_int_max : 0;
    const flags = r.flags & ~FLAG_LINKED;
    switch (r.kind) {
      case 'create_account': {
        if ((flags & DMNEC) && (flags & CMNED)) return R.flags_are_mutually_exclusive;
        if (id0) return id0;
        if (r.ledger === 0) return R.ledger_must_not_be_zero;
        if (r.code === 0) return R.code_must_not_be_zero;
        const e = this.accounts.get(r.id);
        if (e) return e.ledger === r.ledger && e.code === r.code && e.flags === flags && e.controller === r.controller ? R.exists : R.exists_with_different_fields;
        if (!this.signers.has(r.controller)) return R.controller_key_not_found;
        const ok = s.admin || s.operatorLedger === r.ledger || (s.participant && r.controller === r.signer);
        if (!ok) return R.signer_not_authorized;
        if (this.halted.has(r.ledger)) return R.ledger_halted;
        this.accounts.set(r.id, { id: r.id, ledger: r.ledger, code: r.code, flags, frozen: false, controller: r.controller, dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
        return 0;
      }
      case 'freeze_account': case 'unfreeze_account': {
        if (!s.regulator) return R.signer_not_authorized;
        if (id0) return id0;
        const key = `${r.kind}:${r.account}`;
        if (this.ops.has(r.id)) return this.ops.get(r.id) === key ? R.exists : R.exists_with_different_fields;
        const a = this.accounts.get(r.account);
        if (!a) return R.account_not_found;
        if (r.kind === 'freeze_account' && a.frozen) return R.account_already_frozen;
        if (r.kind === 'unfreeze_account' && !a.frozen) return R.account_not_frozen;
        a.frozen = r.kind === 'freeze_account';
        this.ops.set(r.id, key);
        return 0;
      }
      case 'halt_ledger': case 'resume_ledger': {
        if (!s.regulator) return R.signer_not_authorized;
        if (id0) return id0;
        const key = `${r.kind}:${r.ledger}`;
        if (this.ops.has(r.id)) return this.ops.get(r.id) === key ? R.exists : R.exists_with_different_fields;
        if (r.ledger === 0) return R.ledger_must_not_be_zero;
        if (r.kind === 'halt_ledger' && this.halted.has(r.ledger)) return R.ledger_already_halted;
        if (r.kind === 'resume_ledger' && !this.halted.has(r.ledger)) return R.ledger_not_halted;
        if (r.kind === 'halt_ledger') this.halted.add(r.ledger); else this.halted.delete(r.ledger);
        this.ops.set(r.id, key);
        return 0;
      }
      case 'transfer': return this.transfer(r, s, flags, id0);
    }
  }

  transfer(r: Extract<MRecord, { kind: 'transfer' }>, s: MSigner, flags: number, id0: number): number {
    const pending = !!(flags & PENDING), post = !!(flags & POST), voiding = !!(flags & VOID);
    if (+pending + +post + +voiding > 1) return R.flags_are_mutually_exclusive;
    if (id0) return id0;
    const auth = (dr: MAccount, ledger: number) => s.operatorLedger === ledger || (dr.controller === r.signer && (s.participant || s.admin || s.operatorLedger !== undefined));
    if (post || voiding) {
      if (r.pendingId === 0n) return R.pending_id_must_not_be_zero;
      if (r.pendingId === MAX) return R.pending_id_must_not_be_int_max;
      if (r.pendingId === r.id) return R.pending_id_must_be_different;
      if (r.timeout) return R.timeout_reserved_for_pending_transfer;
      const ex = this.transfers.get(r.id);
      if (ex) {
        const same = ex.flags === flags && (r.dr === 0n || r.dr === ex.dr) && (r.cr === 0n || r.cr === ex.cr) &&
          (r.amount === 0n || r.amount === ex.amount) && ex.pendingId === r.pendingId && (r.ledger === 0 || r.ledger === ex.ledger) &&
          (r.code === 0 || r.code === ex.code) && ex.timeout === r.timeout;
        return same ? R.exists : R.exists_with_different_fields;
      }
      const p = this.transfers.get(r.pendingId);
      if (!p) return R.pending_transfer_not_found;
      if (!(p.flags & PENDING)) return R.pending_transfer_not_pending;
      if (r.dr !== 0n && r.dr !== p.dr) return R.pending_transfer_has_different_debit_account_id;
      if (r.cr !== 0n && r.cr !== p.cr) return R.pending_transfer_has_different_credit_account_id;
      if (r.ledger !== 0 && r.ledger !== p.ledger) return R.pending_transfer_has_different_ledger;
      if (r.code !== 0 && r.code !== p.code) return R.pending_transfer_has_different_code;
      if (post && r.amount > p.amount) return R.exceeds_pending_transfer_amount;
      if (voiding && r.amount !== 0n && r.amount !== p.amount) return R.pending_transfer_has_different_amount;
      if (p.status === 2) return R.pending_transfer_already_posted;
      if (p.status === 3) return R.pending_transfer_already_voided;
      if (p.status === 4) return R.pending_transfer_expired;
      const dr = this.accounts.get(p.dr)!, cr = this.accounts.get(p.cr)!;
      if (!auth(dr, p.ledger)) return R.signer_not_authorized;
      if (this.halted.has(p.ledger)) return R.ledger_halted;
      if (dr.frozen) return R.debit_account_frozen;
      if (cr.frozen) return R.credit_account_frozen;
      const amount = post ? (r.amount === 0n ? p.amount : r.amount) : p.amount;
      dr.dp -= p.amount; cr.cp -= p.amount;
      if (post) { dr.dpo += amount; cr.cpo += amount; }
      p.status = post ? 2 : 3;
      this.transfers.set(r.id, { id: r.id, dr: p.dr, cr: p.cr, amount, pendingId: r.pendingId, ledger: p.ledger, code: p.code, flags, timeout: 0, status: 0, expires: 0 });
      return 0;
    }
    if (r.pendingId !== 0n) return R.pending_id_must_be_zero;
    if (!pending && r.timeout) return R.timeout_reserved_for_pending_transfer;
    if (r.dr === 0n) return R.debit_account_id_must_not_be_zero;
    if (r.cr === 0n) return R.credit_account_id_must_not_be_zero;
    if (r.dr === r.cr) return R.accounts_must_be_different;
    if (r.ledger === 0) return R.ledger_must_not_be_zero;
    if (r.code === 0) return R.code_must_not_be_zero;
    if (r.amount === 0n) return R.amount_must_not_be_zero;
    const ex = this.transfers.get(r.id);
    if (ex) {
      const same = ex.flags === flags && ex.dr === r.dr && ex.cr === r.cr && ex.amount === r.amount && ex.pendingId === r.pendingId &&
        ex.ledger === r.ledger && ex.code === r.code && ex.timeout === r.timeout;
      return same ? R.exists : R.exists_with_different_fields;
    }
    const dr = this.accounts.get(r.dr);
    if (!dr) return R.debit_account_not_found;
    const cr = this.accounts.get(r.cr);
    if (!cr) return R.credit_account_not_found;
    if (dr.ledger !== cr.ledger) return R.accounts_must_have_the_same_ledger;
    if (dr.ledger !== r.ledger) return R.transfer_must_have_the_same_ledger_as_accounts;
    if (!auth(dr, r.ledger)) return R.signer_not_authorized;
    if (this.halted.has(r.ledger)) return R.ledger_halted;
    if (dr.frozen) return R.debit_account_frozen;
    if (cr.frozen) return R.credit_account_frozen;
    const a = r.amount;
    if (pending) {
      if (dr.dp + a > MAX) return R.overflows_debits_pending;
      if (cr.cp + a > MAX) return R.overflows_credits_pending;
    } else {
      if (dr.dpo + a > MAX) return R.overflows_debits_posted;
      if (cr.cpo + a > MAX) return R.overflows_credits_posted;
    }
    if (dr.dp + dr.dpo + a > MAX) return R.overflows_debits;
    if ((dr.flags & DMNEC) && dr.dp + dr.dpo + a > dr.cpo) return R.exceeds_credits;
    if (cr.cp + cr.cpo + a > MAX) return R.overflows_credits;
    if ((cr.flags & CMNED) && cr.cp + cr.cpo + a > cr.dpo) return R.exceeds_debits;
    if (pending) { dr.dp += a; cr.cp += a; } else { dr.dpo += a; cr.cpo += a; }
    this.transfers.set(r.id, { id: r.id, dr: r.dr, cr: r.cr, amount: a, pendingId: 0n, ledger: r.ledger, code: r.code, flags, timeout: r.timeout, status: pending ? 1 : 0, expires: this.time + r.timeout * 1000 });
    return 0;
  }
}
