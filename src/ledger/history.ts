// Account history: per account, its transfers in order, as doubly linked lists threaded
// through the transfer slab. Derived data, never stored: transfers enter the slab in
// chain order, so the lists are rebuilt from the slab alone, and they are built lazily (on
// the first query, then caught up on each later one). Apply pays nothing for them, and no
// per-transfer key is written to the store.
//
// Each transfer t is on two lists, its debit account's (side 0) and its credit account's
// (side 1): prev[2t + side] and next[2t + side] are the neighbouring transfer indexes on
// that list (-1: none). head/tail hold each account's newest and oldest transfer.

import { ENTRY_WORDS } from './tables.js';
import { T_DEBIT, T_CREDIT, type LedgerState } from './state.js';

const NONE = -1;

export class AccountHistory {
  readonly #state: LedgerState;
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = new Int32Array(0);
  #tail = new Int32Array(0);
  /** Transfers [0, linked) are on their lists. */
  #linked = 0;

  constructor(state: LedgerState) {
    this.#state = state;
  }

  /** Memory held, in bytes (16 per linked transfer, 8 per account, plus slack). */
  get bytes(): number {
    return this.#prev.byteLength + this.#next.byteLength + this.#head.byteLength + this.#tail.byteLength;
  }

  /**
   * Links every transfer added to the slab since the last call. Only call between batches:
   * within one, a failing linked chain still removes transfers it added.
   */
  catchUp(): void {
    const st = this.#state;
    const count = st.transfers.count;
    if (count === this.#linked) return;
    if (count < this.#linked) throw new Error(`transfer slab shrank from ${this.#linked} to ${count} entries`);
    this.#ensure(count, st.accounts.count);
    const w = st.transfers.words;
    const prev = this.#prev, next = this.#next, head = this.#head, tail = this.#tail;
    for (let t = this.#linked; t < count; t++) {
      const e = t * ENTRY_WORDS;
      for (let side = 0; side < 2; side++) {
        const o = e + (side === 0 ? T_DEBIT : T_CREDIT);
        const a = st.accountIndex.find(w[o], w[o + 1], w[o + 2], w[o + 3]);
        if (a < 0) throw new Error(`transfer ${t} names an account that does not exist`);
        const last = head[a];
        prev[2 * t + side] = last;
        next[2 * t + side] = NONE;
        if (last === NONE) tail[a] = t;
        else next[2 * last + this.#side(last, a)] = t;
        head[a] = t;
      }
    }
    this.#linked = count;
  }

  /** Newest (`'head'`) or oldest (`'tail'`) transfer of account entry `a`, or -1. */
  end(a: number, which: 'head' | 'tail'): number {
    if (a >= this.#head.length) return NONE;
    return which === 'head' ? this.#head[a] : this.#tail[a];
  }

  /** The transfer before (`older`) or after transfer `t` on account entry `a`'s list, or -1. */
  step(t: number, a: number, older: boolean): number {
    const s = this.#side(t, a);
    return older ? this.#prev[2 * t + s] : this.#next[2 * t + s];
  }

  /** Which of transfer t's lists is account entry a's: 0 (a is the debit account) or 1 (credit). */
  #side(t: number, a: number): number {
    return this.#names(t, T_DEBIT, a) ? 0 : 1;
  }

  /** True if transfer t debits or credits account entry a. */
  involves(t: number, a: number): boolean {
    if (t < 0 || t >= this.#linked || a < 0 || a >= this.#state.accounts.count) return false;
    return this.#names(t, T_DEBIT, a) || this.#names(t, T_CREDIT, a);
  }

  /** True if transfer t's account id at word `field` (T_DEBIT or T_CREDIT) is account entry a's id. */
  #names(t: number, field: number, a: number): boolean {
    const w = this.#state.transfers.words;
    const aw = this.#state.accounts.words;
    const e = t * ENTRY_WORDS + field;
    const b = a * ENTRY_WORDS;
    return w[e] === aw[b] && w[e + 1] === aw[b + 1] && w[e + 2] === aw[b + 2] && w[e + 3] === aw[b + 3];
  }

  #ensure(transfers: number, accounts: number): void {
    if (this.#prev.length < 2 * transfers) {
      const size = 2 * Math.max(transfers, Math.ceil(this.#prev.length * 0.75), 1024);
      this.#prev = grow(this.#prev, size);
      this.#next = grow(this.#next, size);
    }
    if (this.#head.length < accounts) {
      const size = Math.max(accounts, Math.ceil(this.#head.length * 1.25), 1024);
      this.#head = grow(this.#head, size);
      this.#tail = grow(this.#tail, size);
    }
  }
}

function grow(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(size).fill(NONE);
  out.set(a);
  return out;
}
