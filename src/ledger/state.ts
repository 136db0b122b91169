// The deterministic double-entry state machine. Given the same records in the same order,
// with the same block heights and times, it produces the same result codes, the same
// account entries and the same state root on every node and on every replay.
//
// Every record is checked completely before anything is mutated, so a lone record is
// never half-applied. Linked chains mutate as they go and keep an undo log; a failing
// chain is rolled back in reverse order (last-in-first-out).
//
// u128 balances are four little-endian u32 limbs in the account slab, added and compared
// limb-wise with explicit carries: no BigInt on the apply path.

import {
  ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, ACCOUNT_FROZEN,
  AN_DIGEST, CA_CODE, CA_CONTROLLER, CA_LEDGER, CA_USER_DATA, FLAG_LINKED, FR_ACCOUNT, HL_LEDGER, Kind,
  KIND_VOUCH, OFF_BODY, OFF_FLAGS, OFF_ID, OFF_KIND, OFF_SIGNER, RECORD_BYTES, RK_LEDGER, RK_PUBLIC_KEY, RK_ROLES,
  ROLE_ADMIN, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_REGULATOR, ROLES_ALL, BODY_BYTES,
  TRANSFER_DEFERRED, TRANSFER_PENDING, TRANSFER_POST_PENDING, TRANSFER_QUEUE, TRANSFER_VOID_PENDING, TR_AMOUNT,
  TR_CODE, TR_CREDIT, TR_DEBIT,
  TR_LEDGER, TR_PENDING_ID, TR_TIMEOUT, TR_USER_DATA, isZero, u16, u32,
} from '../codec/record.js';
import { type HashAlgorithm, sm3 } from '../crypto/hash.js';
import { ResultCode as R } from '../codec/results.js';
import {
  A_ID, A_DEBITS_PENDING, A_DEBITS_POSTED, A_CREDITS_PENDING, A_CREDITS_POSTED, A_USER_DATA, A_LEDGER, A_CODE_FLAGS,
  A_CONTROLLER, A_TIMESTAMP, A_HEIGHT, T_ID, T_DEBIT, T_CREDIT, T_AMOUNT, T_PENDING_ID, T_USER_DATA, T_LEDGER,
  T_CODE_FLAGS, T_TIMEOUT, T_STATUS, T_TIMESTAMP, T_HEIGHT, T_INDEX, STATUS_POSTED, STATUS_PENDING,
  STATUS_PENDING_POSTED, STATUS_PENDING_VOIDED, STATUS_PENDING_EXPIRED, STATUS_QUEUED, type KeyEntry, type OpEntry,
  opKeyOf,
} from '../codec/entries.js';
import { APP_CLEARING, ClearingState } from '../apps/clearing/state.js';
import { APP_TOLL, TollState } from '../apps/toll/state.js';
import { ENTRY_BYTES, ENTRY_WORDS, IdIndex, Slab } from './tables.js';
import { StateTree } from './statetree.js';

// The entry layouts (account and transfer words, statuses) and the key and op entries
// live in codec/entries.ts; re-exported for the state machine's readers.
export {
  A_ID, A_DEBITS_PENDING, A_DEBITS_POSTED, A_CREDITS_PENDING, A_CREDITS_POSTED, A_USER_DATA, A_LEDGER, A_CODE_FLAGS,
  A_CONTROLLER, A_TIMESTAMP, A_HEIGHT, T_ID, T_DEBIT, T_CREDIT, T_AMOUNT, T_PENDING_ID, T_USER_DATA, T_LEDGER,
  T_CODE_FLAGS, T_TIMEOUT, T_STATUS, T_TIMESTAMP, T_HEIGHT, T_INDEX, STATUS_POSTED, STATUS_PENDING,
  STATUS_PENDING_POSTED, STATUS_PENDING_VOIDED, STATUS_PENDING_EXPIRED,
} from '../codec/entries.js';
export type { KeyEntry, OpEntry } from '../codec/entries.js';
export { opIdOf, opKeyOf } from '../codec/entries.js';

export interface StateOptions {
  alg?: HashAlgorithm;
  /** Optional full public-key check (on-curve); the structural 0x04 check always runs. */
  validatePublicKey?: (publicKey: Uint8Array) => boolean;
}

/** One block's state-tree update: the new size, the touched leaves (increasing) and their entries, packed. */
export interface StateTreeUpdate {
  size: number;
  dirty: Int32Array;
  leaves: Uint32Array;
}

/** What one block changed, for persistence. */
export interface BlockChanges {
  accounts: number[];
  transfers: number[];
  keys: number[];
  ops: string[];
  halts: number[];
}

type Undo =
  | { t: 'acct'; i: number; words: Uint32Array }
  | { t: 'acct_new'; i: number }
  | { t: 'xfer'; i: number; words: Uint32Array }
  | { t: 'xfer_new'; i: number }
  | { t: 'key_new'; entry: KeyEntry }
  | { t: 'op_new'; key: string }
  | { t: 'halt'; ledger: number; was: boolean }
  | { t: 'app'; fn: () => void };

const U32_MAX_WORD = 0xffffffff;

/** The ops map key of the record at `o`: its 16-byte id as a string. */
function opKey(b: Uint8Array, o: number): string {
  return opKeyOf(b, o + OFF_ID);
}

export class LedgerState {
  readonly accounts = new Slab();
  readonly accountIndex = new IdIndex(this.accounts);
  readonly transfers = new Slab(1024, 2);
  readonly transferIndex = new IdIndex(this.transfers);
  readonly keys: KeyEntry[] = [];
  // Key id → entry, bucketed by the id's first four bytes: ids are SM3 digests, so a bucket
  // almost always holds one entry, and a lookup builds no string (see keyById).
  readonly #keyBuckets = new Map<number, KeyEntry[]>();
  #lastKey: KeyEntry | undefined;
  readonly ops = new Map<string, OpEntry>();
  readonly halted = new Set<number>();
  readonly tree: StateTree;
  /** Clearing cycles, the RTGS queue and the regulator's rules (src/apps/clearing). */
  readonly clearing: ClearingState;
  /** Toll split rules, trips and the blacklist (src/apps/toll). */
  readonly toll: TollState;
  readonly #validatePublicKey: ((pk: Uint8Array) => boolean) | undefined;

  // Pending-transfer expiry: a binary min-heap of (expires ms, transfer index) pairs.
  // Entries are checked on pop (lazily deleted), so rolled-back chains need no heap undo.
  #heapTime: number[] = [];
  #heapIdx: number[] = [];

  // Block context.
  /** The last block applied (−1: none yet) and its time. */
  height = -1;
  timeMs = 0;
  #inChain = false;
  #undo: Undo[] = [];
  #snap = new Set<number>();
  #snapX = new Set<number>();
  #changed: { accounts: Set<number>; transfers: Set<number>; keys: Set<number>; ops: Set<string>; halts: Set<number> } =
    { accounts: new Set(), transfers: new Set(), keys: new Set(), ops: new Set(), halts: new Set() };
  #treeSize = 0;
  #appRows: [Uint8Array, Uint8Array][] = [];

  // Scratch limbs.
  readonly #t0 = new Uint32Array(5);
  readonly #t1 = new Uint32Array(5);

  constructor(options: StateOptions = {}) {
    this.tree = new StateTree(ENTRY_BYTES, options.alg ?? 'sm3');
    this.#validatePublicKey = options.validatePublicKey;
    this.clearing = new ClearingState(this);
    this.toll = new TollState(this);
  }

  // -------------------------------------------------------------------------------------
  // Lookups.

  findAccount(b: Uint8Array, o: number): number {
    return this.accountIndex.find(u32(b, o), u32(b, o + 4), u32(b, o + 8), u32(b, o + 12));
  }

  findTransfer(b: Uint8Array, o: number): number {
    return this.transferIndex.find(u32(b, o), u32(b, o + 4), u32(b, o + 8), u32(b, o + 12));
  }

  /**
   * Key by 32-byte key id at `keyId[off..off+32)`. Batches are usually signed by few keys,
   * so the last key found is compared first. No string or allocation per lookup.
   */
  keyById(keyId: Uint8Array, off = 0): KeyEntry | undefined {
    const last = this.#lastKey;
    if (last !== undefined && equalRange(last.keyId, 0, keyId, off, 32)) return last;
    const bucket = this.#keyBuckets.get(u32(keyId, off));
    if (bucket === undefined) return undefined;
    for (let k = 0; k < bucket.length; k++) {
      if (equalRange(bucket[k].keyId, 0, keyId, off, 32)) return (this.#lastKey = bucket[k]);
    }
    return undefined;
  }

  /** Adds `entry` to the key-id index; an entry with the same id is replaced (as a Map would). */
  #indexKey(entry: KeyEntry): void {
    const word = u32(entry.keyId, 0);
    const bucket = this.#keyBuckets.get(word);
    if (bucket === undefined) { this.#keyBuckets.set(word, [entry]); return; }
    for (let k = 0; k < bucket.length; k++) {
      if (equalRange(bucket[k].keyId, 0, entry.keyId, 0, 32)) { bucket[k] = entry; return; }
    }
    bucket.push(entry);
  }

  // -------------------------------------------------------------------------------------
  // Blocks.

  /**
   * Opens block `height` at `timeMs` (≥ the previous block's time) and expires every
   * pending transfer whose deadline is ≤ timeMs, in (deadline, creation) order.
   */
  beginBlock(height: number, timeMs: number): void {
    if (timeMs < this.timeMs) throw new Error(`block time ${timeMs} is before ${this.timeMs}`);
    this.height = height;
    this.timeMs = timeMs;
    while (this.#heapTime.length > 0 && this.#heapTime[0] <= timeMs) {
      const at = this.#heapTime[0];
      const i = this.#heapPop();
      if (i >= this.transfers.count) continue;
      const w = this.transfers.words;
      const b = i * ENTRY_WORDS;
      if (this.#expiresAt(i) !== at) continue;
      if (w[b + T_STATUS] === STATUS_QUEUED) {
        this.clearing.queueExpire(i);
        continue;
      }
      if (w[b + T_STATUS] !== STATUS_PENDING) continue;
      const dr = this.#accountOfWords(w, b + T_DEBIT);
      const cr = this.#accountOfWords(w, b + T_CREDIT);
      this.#touchTransfer(i);
      w[b + T_STATUS] = STATUS_PENDING_EXPIRED;
      this.#touchAccount(dr);
      this.#touchAccount(cr);
      const aw = this.accounts.words;
      sub128(aw, dr * ENTRY_WORDS + A_DEBITS_PENDING, w, b + T_AMOUNT);
      sub128(aw, cr * ENTRY_WORDS + A_CREDITS_PENDING, w, b + T_AMOUNT);
    }
  }

  /** Closes the block: updates the state tree, returns the changes and the state root. */
  endBlock(): { stateRoot: Uint8Array; changes: BlockChanges } {
    const { changes, tree } = this.endBlockDeferred();
    this.tree.updatePacked(tree.size, tree.dirty, tree.leaves);
    return { stateRoot: this.tree.root(), changes };
  }

  /**
   * Closes the block without touching the state tree: returns the changes and the tree
   * update (the touched leaves copied out, since the slab moves on with the next block) for
   * whoever owns the tree — the ledger's seal worker. Updates must be applied in order.
   */
  endBlockDeferred(): { changes: BlockChanges; tree: StateTreeUpdate } {
    // Queued transfers whose debit account was credited in this block settle now, in
    // (account index, arrival) order: after every record, so the order is the block's alone.
    this.clearing.endBlock();
    const accounts = this.#changed.accounts;
    for (let i = this.#treeSize; i < this.accounts.count; i++) accounts.add(i);
    const dirty = new Int32Array(accounts.size);
    let n = 0;
    for (const i of accounts) if (i < this.accounts.count) dirty[n++] = i;
    const sorted = dirty.subarray(0, n).sort();
    const leaves = new Uint32Array(n * ENTRY_WORDS);
    const w = this.accounts.words;
    for (let k = 0; k < n; k++) {
      leaves.set(w.subarray(sorted[k] * ENTRY_WORDS, (sorted[k] + 1) * ENTRY_WORDS), k * ENTRY_WORDS);
    }
    this.#treeSize = this.accounts.count;
    const changes: BlockChanges = {
      accounts: Array.from(sorted),
      transfers: [...this.#changed.transfers].filter((i) => i < this.transfers.count).sort((a, b) => a - b),
      keys: [...this.#changed.keys].filter((i) => i < this.keys.length).sort((a, b) => a - b),
      ops: [...this.#changed.ops].filter((k) => this.ops.has(k)),
      halts: [...this.#changed.halts],
    };
    this.#changed = { accounts: new Set(), transfers: new Set(), keys: new Set(), ops: new Set(), halts: new Set() };
    return { changes, tree: { size: this.accounts.count, dirty: sorted, leaves } };
  }

  // -------------------------------------------------------------------------------------
  // Apply.

  /**
   * Applies `count` records from `batch` (count × 256 bytes, starting at record `start`)
   * in order, chain by chain; writes one result code per record into `results[first..]`.
   * `indexBase` is the block index of the first record. Chains must be closed within the
   * range: Ledger.append refuses a batch that ends inside one, and verify a block that
   * does; here it is an invariant, checked before anything is mutated.
   */
  applyBatch(
    batch: Uint8Array, start: number, count: number, results: Uint16Array, first: number, indexBase: number,
  ): void {
    if (count > 0 && (u16(batch, (start + count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) {
      throw new Error('applyBatch: the range ends inside a linked chain');
    }
    let i = 0;
    while (i < count) {
      let end = i;
      while (end < count - 1 && (u16(batch, (start + end) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) end++;
      if (end === i) {
        results[first + i] = this.#apply(batch, (start + i) * RECORD_BYTES, indexBase + i);
        i++;
        continue;
      }
      // A linked chain [i, end].
      this.#inChain = true;
      this.#undo.length = 0;
      this.#snap.clear();
      this.#snapX.clear();
      let failed = -1;
      let failCode = 0;
      for (let j = i; j <= end; j++) {
        const code = this.#apply(batch, (start + j) * RECORD_BYTES, indexBase + j);
        if (code !== R.ok) { failed = j; failCode = code; break; }
      }
      if (failed >= 0) this.#rollback();
      this.#inChain = false;
      this.#undo.length = 0;
      for (let j = i; j <= end; j++) {
        results[first + j] = failed < 0 ? R.ok : (j === failed ? failCode : R.linked_event_failed);
      }
      i = end + 1;
    }
  }

  #apply(b: Uint8Array, o: number, index: number): number {
    switch (b[o + OFF_KIND]) {
      case Kind.transfer: return this.#transfer(b, o, index);
      case Kind.create_account: return this.#createAccount(b, o);
      case Kind.register_key: return this.#registerKey(b, o, index);
      case Kind.anchor: return this.#anchor(b, o, index);
      case Kind.freeze_account: return this.#freeze(b, o, index, true);
      case Kind.unfreeze_account: return this.#freeze(b, o, index, false);
      case Kind.halt_ledger: return this.#halt(b, o, index, true);
      case Kind.resume_ledger: return this.#halt(b, o, index, false);
      case Kind.cycle_open: case Kind.cycle_member: case Kind.cycle_close: case Kind.cycle_regulate: case Kind.rule:
        return this.clearing.apply(b, o, index);
      case Kind.toll_rule: case Kind.trip: case Kind.blacklist: return this.toll.apply(b, o, index);
      // A vouch changes no state: admission (and verify) checked its signature and digest;
      // on the chain it is the audit record of who vouched for the records after it.
      case KIND_VOUCH: return R.ok;
    }
    throw new Error(`record kind ${b[o + OFF_KIND]} passed admission`);
  }

  #signer(b: Uint8Array, o: number): KeyEntry | undefined {
    return this.keyById(b, o + OFF_SIGNER);
  }

  #checkId(b: Uint8Array, o: number): number {
    if (isZero(b, o + OFF_ID, o + OFF_ID + 16)) return R.id_must_not_be_zero;
    if (isMax(b, o + OFF_ID)) return R.id_must_not_be_int_max;
    return R.ok;
  }

  /** A request (register_key, anchor, freeze, halt…): its id, then idempotency by id. */
  #checkRequest(b: Uint8Array, o: number): number {
    const code = this.#checkId(b, o);
    return code !== R.ok ? code : this.#checkOp(b, o);
  }

  /** A request whose signer must hold one of `roles`: that, then #checkRequest. */
  #checkSignedRequest(b: Uint8Array, o: number, roles: number): number {
    const signer = this.#signer(b, o);
    if (signer === undefined || (signer.roles & roles) === 0) return R.signer_not_authorized;
    return this.#checkRequest(b, o);
  }

  /** Idempotency for privileged acts and anchors: one id namespace across those kinds. */
  #checkOp(b: Uint8Array, o: number): number {
    const op = this.ops.get(opKey(b, o));
    if (op === undefined) return R.ok;
    if (op.kind === b[o + OFF_KIND] && op.flags === (u16(b, o + OFF_FLAGS) & ~FLAG_LINKED) &&
        equalRange(op.body, 0, b, o + OFF_BODY, BODY_BYTES)) return R.exists;
    return R.exists_with_different_fields;
  }

  #recordOp(b: Uint8Array, o: number, index: number): void {
    const key = opKey(b, o);
    this.ops.set(key, {
      kind: b[o + OFF_KIND], flags: u16(b, o + OFF_FLAGS) & ~FLAG_LINKED,
      body: b.slice(o + OFF_BODY, o + OFF_BODY + BODY_BYTES), height: this.height, index,
    });
    this.#changed.ops.add(key);
    if (this.#inChain) this.#undo.push({ t: 'op_new', key });
  }

  #registerKey(b: Uint8Array, o: number, index: number): number {
    const signer = this.#signer(b, o);
    // Bootstrap: the very first key may register itself, and only as an admin (genesis).
    const bootstrap = this.keys.length === 0 &&
      equalRange(b, o + OFF_SIGNER, sm3(b.subarray(o + RK_PUBLIC_KEY, o + RK_PUBLIC_KEY + 65)), 0, 32) &&
      (b[o + RK_ROLES] & ROLE_ADMIN) !== 0;
    if (!bootstrap && (signer === undefined || (signer.roles & ROLE_ADMIN) === 0)) return R.signer_not_authorized;
    const code = this.#checkRequest(b, o);
    if (code !== R.ok) return code;
    const roles = b[o + RK_ROLES];
    const ledger = u32(b, o + RK_LEDGER);
    if (roles === 0) return R.roles_must_not_be_zero;
    if ((roles & ~ROLES_ALL) !== 0) return R.reserved_role;
    if ((roles & ROLE_OPERATOR) !== 0 && ledger === 0) return R.operator_requires_ledger;
    if ((roles & ROLE_OPERATOR) === 0 && ledger !== 0) return R.ledger_requires_operator;
    const pk = b.subarray(o + RK_PUBLIC_KEY, o + RK_PUBLIC_KEY + 65);
    if (pk[0] !== 0x04 || (this.#validatePublicKey !== undefined && !this.#validatePublicKey(pk))) {
      return R.invalid_public_key;
    }
    const keyId = sm3(pk);
    if (this.keyById(keyId) !== undefined) return R.key_exists;
    const entry: KeyEntry = {
      index: this.keys.length, keyId, publicKey: pk.slice(), roles, ledger, height: this.height,
    };
    this.keys.push(entry);
    this.#indexKey(entry);
    this.#changed.keys.add(entry.index);
    if (this.#inChain) this.#undo.push({ t: 'key_new', entry });
    this.#recordOp(b, o, index);
    return R.ok;
  }

  #createAccount(b: Uint8Array, o: number): number {
    const flags = u16(b, o + OFF_FLAGS) & ~FLAG_LINKED;
    if ((flags & ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS) !== 0 &&
        (flags & ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS) !== 0) {
      return R.flags_are_mutually_exclusive;
    }
    const code = this.#checkId(b, o);
    if (code !== R.ok) return code;
    const ledger = u32(b, o + CA_LEDGER);
    const acode = u16(b, o + CA_CODE);
    if (ledger === 0) return R.ledger_must_not_be_zero;
    if (acode === 0) return R.code_must_not_be_zero;
    const existing = this.findAccount(b, o + OFF_ID);
    const controller = this.keyById(b, o + CA_CONTROLLER);
    if (existing >= 0) {
      const w = this.accounts.words;
      const e = existing * ENTRY_WORDS;
      const same = w[e + A_LEDGER] === ledger && (w[e + A_CODE_FLAGS] & 0xffff) === acode &&
        ((w[e + A_CODE_FLAGS] >>> 16) & ~ACCOUNT_FROZEN) === flags &&
        equalWords(w, e + A_USER_DATA, b, o + CA_USER_DATA) &&
        controller !== undefined && w[e + A_CONTROLLER] === controller.index;
      return same ? R.exists : R.exists_with_different_fields;
    }
    if (controller === undefined) return R.controller_key_not_found;
    const signer = this.#signer(b, o);
    if (signer === undefined) return R.signer_not_authorized;
    const allowed = (signer.roles & ROLE_ADMIN) !== 0 ||
      ((signer.roles & ROLE_OPERATOR) !== 0 && signer.ledger === ledger) ||
      ((signer.roles & ROLE_PARTICIPANT) !== 0 && signer.index === controller.index);
    if (!allowed) return R.signer_not_authorized;
    if (this.halted.has(ledger)) return R.ledger_halted;
    const i = this.accounts.push();
    const w = this.accounts.words;
    const e = i * ENTRY_WORDS;
    for (let k = 0; k < 4; k++) w[e + A_ID + k] = u32(b, o + OFF_ID + 4 * k);
    for (let k = 0; k < 4; k++) w[e + A_USER_DATA + k] = u32(b, o + CA_USER_DATA + 4 * k);
    w[e + A_LEDGER] = ledger;
    w[e + A_CODE_FLAGS] = (acode | (flags << 16)) >>> 0;
    w[e + A_CONTROLLER] = controller.index;
    w[e + A_TIMESTAMP] = this.timeMs % 0x100000000;
    w[e + A_TIMESTAMP + 1] = Math.floor(this.timeMs / 0x100000000);
    w[e + A_HEIGHT] = this.height >>> 0;
    this.accountIndex.insert(i);
    this.#changed.accounts.add(i);
    if (this.#inChain) this.#undo.push({ t: 'acct_new', i });
    return R.ok;
  }

  #transfer(b: Uint8Array, o: number, index: number): number {
    const flags = u16(b, o + OFF_FLAGS) & ~FLAG_LINKED;
    const pending = (flags & TRANSFER_PENDING) !== 0;
    const post = (flags & TRANSFER_POST_PENDING) !== 0;
    const voiding = (flags & TRANSFER_VOID_PENDING) !== 0;
    const deferred = (flags & TRANSFER_DEFERRED) !== 0;
    const queue = (flags & TRANSFER_QUEUE) !== 0;
    const flagCode = checkTransferFlags(flags);
    if (flagCode !== R.ok) return flagCode;
    const idCode = this.#checkId(b, o);
    if (idCode !== R.ok) return idCode;
    const timeout = u32(b, o + TR_TIMEOUT);
    if (deferred) {
      // A payment into a clearing cycle: pending_id names the cycle (docs/clearing.md).
      if (isZero(b, o + TR_PENDING_ID, o + TR_PENDING_ID + 16)) return R.deferred_requires_cycle;
      if (timeout !== 0) return R.timeout_reserved_for_pending_transfer;
    }
    if (post || voiding) {
      if (isZero(b, o + TR_PENDING_ID, o + TR_PENDING_ID + 16)) return R.pending_id_must_not_be_zero;
      if (isMax(b, o + TR_PENDING_ID)) return R.pending_id_must_not_be_int_max;
      if (equalRange(b, o + TR_PENDING_ID, b, o + OFF_ID, 16)) return R.pending_id_must_be_different;
      if (timeout !== 0) return R.timeout_reserved_for_pending_transfer;
      return this.#resolvePending(b, o, index, post);
    }
    const fieldCode = checkNewTransferFields(b, o, flags);
    if (fieldCode !== R.ok) return fieldCode;
    const ledger = u32(b, o + TR_LEDGER);

    const existing = this.findTransfer(b, o + OFF_ID);
    if (existing >= 0) return this.#compareTransfer(existing, b, o);

    const dr = this.findAccount(b, o + TR_DEBIT);
    if (dr < 0) return R.debit_account_not_found;
    const cr = this.findAccount(b, o + TR_CREDIT);
    if (cr < 0) return R.credit_account_not_found;
    const aw = this.accounts.words;
    const d = dr * ENTRY_WORDS;
    const c = cr * ENTRY_WORDS;
    if (aw[d + A_LEDGER] !== aw[c + A_LEDGER]) return R.accounts_must_have_the_same_ledger;
    if (aw[d + A_LEDGER] !== ledger) return R.transfer_must_have_the_same_ledger_as_accounts;
    if (!this.#authorized(b, o, dr, ledger)) return R.signer_not_authorized;
    if (this.halted.has(ledger)) return R.ledger_halted;
    if (((aw[d + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.debit_account_frozen;
    if (((aw[c + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.credit_account_frozen;

    // The regulator's rules see every new payment: plain, pending, deferred or queued.
    const clearing = this.clearing;
    if (clearing.rulesActive) {
      const ruleCode = clearing.checkRules(b, o, dr, ledger);
      if (ruleCode !== R.ok) return ruleCode;
    }
    if (deferred) {
      const code = clearing.obligation(b, o, index, dr, cr);
      if (code === R.ok && clearing.rulesActive) clearing.noteRules(b, o, index, dr, ledger);
      return code;
    }

    // Overflow checks (amount read once into limbs).
    const amt = this.#t0;
    for (let k = 0; k < 4; k++) amt[k] = u32(b, o + TR_AMOUNT + 4 * k);
    const amountCode = this.#checkAmount(aw, d, c, amt, pending);
    if ((pending || queue) && this.timeMs + timeout * 1000 > Number.MAX_SAFE_INTEGER) return R.overflows_timeout;
    if (queue && (amountCode === R.exceeds_credits || clearing.queued(dr))) {
      // Short of funds, or others wait before it: it joins the debit account's FIFO queue.
      const code = clearing.enqueue(b, o, index, dr);
      if (code === R.ok && clearing.rulesActive) clearing.noteRules(b, o, index, dr, ledger);
      return code;
    }
    if (amountCode !== R.ok) return amountCode;
    this.#applyNew(b, o, index, dr, cr, amt, pending);
    if (clearing.rulesActive) clearing.noteRules(b, o, index, dr, ledger);
    return R.ok;
  }

  /** Applies a checked new transfer of `amt` from `dr` to `cr`: balances, its entry, expiry. */
  #applyNew(b: Uint8Array, o: number, index: number, dr: number, cr: number, amt: Uint32Array, pending: boolean): void {
    const aw = this.accounts.words;
    const d = dr * ENTRY_WORDS;
    const c = cr * ENTRY_WORDS;
    this.#touchAccount(dr);
    this.#touchAccount(cr);
    if (pending) {
      add128(aw, d + A_DEBITS_PENDING, amt, 0);
      add128(aw, c + A_CREDITS_PENDING, amt, 0);
    } else {
      add128(aw, d + A_DEBITS_POSTED, amt, 0);
      add128(aw, c + A_CREDITS_POSTED, amt, 0);
    }
    const t = this.#newTransfer(b, o, index, pending ? STATUS_PENDING : STATUS_POSTED);
    if (pending && u32(b, o + TR_TIMEOUT) !== 0) this.#heapPush(this.#expiresAt(t), t);
    if (!pending) this.clearing.credited(cr);
  }

  /**
   * The amount against the debit (words at `d`) and credit (`c`) accounts: the balances it
   * lands in must not overflow, and neither must Σ pending + posted + amount, since that is
   * what the balance-limit flags compare.
   */
  #checkAmount(aw: Uint32Array, d: number, c: number, amt: Uint32Array, pending: boolean): number {
    const s = this.#t1;
    if (pending) {
      if (addOverflows(aw, d + A_DEBITS_PENDING, amt)) return R.overflows_debits_pending;
      if (addOverflows(aw, c + A_CREDITS_PENDING, amt)) return R.overflows_credits_pending;
    } else {
      if (addOverflows(aw, d + A_DEBITS_POSTED, amt)) return R.overflows_debits_posted;
      if (addOverflows(aw, c + A_CREDITS_POSTED, amt)) return R.overflows_credits_posted;
    }
    if (sum3(s, aw, d + A_DEBITS_PENDING, d + A_DEBITS_POSTED, amt) !== 0) return R.overflows_debits;
    const dFlags = aw[d + A_CODE_FLAGS] >>> 16;
    if ((dFlags & ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS) !== 0 && cmp128(s, 0, aw, d + A_CREDITS_POSTED) > 0) {
      return R.exceeds_credits;
    }
    if (sum3(s, aw, c + A_CREDITS_PENDING, c + A_CREDITS_POSTED, amt) !== 0) return R.overflows_credits;
    const cFlags = aw[c + A_CODE_FLAGS] >>> 16;
    if ((cFlags & ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS) !== 0 && cmp128(s, 0, aw, c + A_DEBITS_POSTED) > 0) {
      return R.exceeds_debits;
    }
    return R.ok;
  }

  #resolvePending(b: Uint8Array, o: number, index: number, post: boolean): number {
    const existing = this.findTransfer(b, o + OFF_ID);
    if (existing >= 0) return this.#compareTransfer(existing, b, o);
    const p = this.findTransfer(b, o + TR_PENDING_ID);
    if (p < 0) return R.pending_transfer_not_found;
    const tw = this.transfers.words;
    const pb = p * ENTRY_WORDS;
    if (((tw[pb + T_CODE_FLAGS] >>> 16) & TRANSFER_PENDING) === 0) return R.pending_transfer_not_pending;
    if (!isZero(b, o + TR_DEBIT, o + TR_DEBIT + 16) && !equalWords(tw, pb + T_DEBIT, b, o + TR_DEBIT)) {
      return R.pending_transfer_has_different_debit_account_id;
    }
    if (!isZero(b, o + TR_CREDIT, o + TR_CREDIT + 16) && !equalWords(tw, pb + T_CREDIT, b, o + TR_CREDIT)) {
      return R.pending_transfer_has_different_credit_account_id;
    }
    const ledger = u32(b, o + TR_LEDGER);
    if (ledger !== 0 && ledger !== tw[pb + T_LEDGER]) return R.pending_transfer_has_different_ledger;
    const code = u16(b, o + TR_CODE);
    if (code !== 0 && code !== (tw[pb + T_CODE_FLAGS] & 0xffff)) return R.pending_transfer_has_different_code;
    const amt = this.#t0;
    for (let k = 0; k < 4; k++) amt[k] = u32(b, o + TR_AMOUNT + 4 * k);
    const amountZero = (amt[0] | amt[1] | amt[2] | amt[3]) === 0;
    if (post) {
      if (!amountZero && cmp128(amt, 0, tw, pb + T_AMOUNT) > 0) return R.exceeds_pending_transfer_amount;
    } else if (!amountZero && cmp128(amt, 0, tw, pb + T_AMOUNT) !== 0) {
      return R.pending_transfer_has_different_amount;
    }
    const status = tw[pb + T_STATUS];
    if (status === STATUS_PENDING_POSTED) return R.pending_transfer_already_posted;
    if (status === STATUS_PENDING_VOIDED) return R.pending_transfer_already_voided;
    if (status === STATUS_PENDING_EXPIRED) return R.pending_transfer_expired;
    const dr = this.#accountOfWords(tw, pb + T_DEBIT);
    const cr = this.#accountOfWords(tw, pb + T_CREDIT);
    const pLedger = tw[pb + T_LEDGER];
    if (!this.#authorized(b, o, dr, pLedger)) return R.signer_not_authorized;
    if (this.halted.has(pLedger)) return R.ledger_halted;
    const aw = this.accounts.words;
    const d = dr * ENTRY_WORDS;
    const c = cr * ENTRY_WORDS;
    if (((aw[d + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.debit_account_frozen;
    if (((aw[c + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.credit_account_frozen;
    if (amountZero || !post) for (let k = 0; k < 4; k++) amt[k] = tw[pb + T_AMOUNT + k];
    // Moving ≤ the pending amount from pending to posted cannot overflow: pending + posted
    // already fit when the pending transfer was accepted.
    this.#touchAccount(dr);
    this.#touchAccount(cr);
    this.#touchTransfer(p);
    sub128(aw, d + A_DEBITS_PENDING, tw, pb + T_AMOUNT);
    sub128(aw, c + A_CREDITS_PENDING, tw, pb + T_AMOUNT);
    if (post) {
      add128(aw, d + A_DEBITS_POSTED, amt, 0);
      add128(aw, c + A_CREDITS_POSTED, amt, 0);
    }
    tw[pb + T_STATUS] = post ? STATUS_PENDING_POSTED : STATUS_PENDING_VOIDED;
    // A void releases the debit account's pending amount; a post credits the credit account.
    this.clearing.credited(post ? cr : dr);
    const t = this.#newTransfer(b, o, index, STATUS_POSTED);
    // Store the resolved fields, so queries and idempotency see the full transfer. (The
    // push may have grown the slab: `tw` is stale from here on.)
    const nw = this.transfers.words;
    const nb = t * ENTRY_WORDS;
    for (let k = 0; k < 4; k++) {
      nw[nb + T_DEBIT + k] = nw[pb + T_DEBIT + k];
      nw[nb + T_CREDIT + k] = nw[pb + T_CREDIT + k];
      nw[nb + T_AMOUNT + k] = amt[k];
    }
    nw[nb + T_LEDGER] = nw[pb + T_LEDGER];
    nw[nb + T_CODE_FLAGS] = ((nw[pb + T_CODE_FLAGS] & 0xffff) | (nw[nb + T_CODE_FLAGS] & 0xffff0000)) >>> 0;
    return R.ok;
  }

  /** Same id again: `exists` when every field matches (zero post/void fields match the resolved ones). */
  #compareTransfer(t: number, b: Uint8Array, o: number): number {
    const w = this.transfers.words;
    const e = t * ENTRY_WORDS;
    const flags = u16(b, o + OFF_FLAGS) & ~FLAG_LINKED;
    const resolving = (flags & (TRANSFER_POST_PENDING | TRANSFER_VOID_PENDING)) !== 0;
    const okField = (wo: number, bo: number): boolean =>
      equalWords(w, e + wo, b, o + bo) || (resolving && isZero(b, o + bo, o + bo + 16));
    const same = (w[e + T_CODE_FLAGS] >>> 16) === flags &&
      okField(T_DEBIT, TR_DEBIT) && okField(T_CREDIT, TR_CREDIT) && okField(T_AMOUNT, TR_AMOUNT) &&
      equalWords(w, e + T_PENDING_ID, b, o + TR_PENDING_ID) && equalWords(w, e + T_USER_DATA, b, o + TR_USER_DATA) &&
      (w[e + T_LEDGER] === u32(b, o + TR_LEDGER) || (resolving && u32(b, o + TR_LEDGER) === 0)) &&
      ((w[e + T_CODE_FLAGS] & 0xffff) === u16(b, o + TR_CODE) || (resolving && u16(b, o + TR_CODE) === 0)) &&
      w[e + T_TIMEOUT] === u32(b, o + TR_TIMEOUT);
    return same ? R.exists : R.exists_with_different_fields;
  }

  #authorized(b: Uint8Array, o: number, debitAccount: number, ledger: number): boolean {
    const signer = this.#signer(b, o);
    if (signer === undefined) return false;
    if ((signer.roles & ROLE_OPERATOR) !== 0 && signer.ledger === ledger) return true;
    return this.accounts.words[debitAccount * ENTRY_WORDS + A_CONTROLLER] === signer.index &&
      (signer.roles & (ROLE_PARTICIPANT | ROLE_OPERATOR | ROLE_ADMIN)) !== 0;
  }

  #newTransfer(b: Uint8Array, o: number, index: number, status: number): number {
    const t = this.transfers.push();
    const w = this.transfers.words;
    const e = t * ENTRY_WORDS;
    for (let k = 0; k < 4; k++) {
      w[e + T_ID + k] = u32(b, o + OFF_ID + 4 * k);
      w[e + T_DEBIT + k] = u32(b, o + TR_DEBIT + 4 * k);
      w[e + T_CREDIT + k] = u32(b, o + TR_CREDIT + 4 * k);
      w[e + T_AMOUNT + k] = u32(b, o + TR_AMOUNT + 4 * k);
      w[e + T_PENDING_ID + k] = u32(b, o + TR_PENDING_ID + 4 * k);
      w[e + T_USER_DATA + k] = u32(b, o + TR_USER_DATA + 4 * k);
    }
    w[e + T_LEDGER] = u32(b, o + TR_LEDGER);
    w[e + T_CODE_FLAGS] = (u16(b, o + TR_CODE) | ((u16(b, o + OFF_FLAGS) & ~FLAG_LINKED) << 16)) >>> 0;
    w[e + T_TIMEOUT] = u32(b, o + TR_TIMEOUT);
    return this.#stampTransfer(t, status, index);
  }

  /** Finishes new transfer entry `t`: status, block time, height, index; indexed, tracked, undoable. */
  #stampTransfer(t: number, status: number, index: number): number {
    const w = this.transfers.words;
    const e = t * ENTRY_WORDS;
    w[e + T_STATUS] = status;
    w[e + T_TIMESTAMP] = this.timeMs % 0x100000000;
    w[e + T_TIMESTAMP + 1] = Math.floor(this.timeMs / 0x100000000);
    w[e + T_HEIGHT] = this.height >>> 0;
    w[e + T_INDEX] = index >>> 0;
    this.transferIndex.insert(t);
    this.#changed.transfers.add(t);
    if (this.#inChain) this.#undo.push({ t: 'xfer_new', i: t });
    return t;
  }

  #anchor(b: Uint8Array, o: number, index: number): number {
    const code = this.#checkSignedRequest(b, o, ROLES_ALL);
    if (code !== R.ok) return code;
    if (isZero(b, o + AN_DIGEST, o + AN_DIGEST + 32)) return R.digest_must_not_be_zero;
    this.#recordOp(b, o, index);
    return R.ok;
  }

  #freeze(b: Uint8Array, o: number, index: number, freeze: boolean): number {
    const code = this.#checkSignedRequest(b, o, ROLE_REGULATOR);
    if (code !== R.ok) return code;
    const a = this.findAccount(b, o + FR_ACCOUNT);
    if (a < 0) return R.account_not_found;
    const w = this.accounts.words;
    const e = a * ENTRY_WORDS;
    const frozen = ((w[e + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0;
    if (freeze && frozen) return R.account_already_frozen;
    if (!freeze && !frozen) return R.account_not_frozen;
    this.#touchAccount(a);
    w[e + A_CODE_FLAGS] = freeze ? (w[e + A_CODE_FLAGS] | (ACCOUNT_FROZEN << 16)) >>> 0
      : (w[e + A_CODE_FLAGS] & ~(ACCOUNT_FROZEN << 16)) >>> 0;
    this.#recordOp(b, o, index);
    return R.ok;
  }

  #halt(b: Uint8Array, o: number, index: number, halt: boolean): number {
    const code = this.#checkSignedRequest(b, o, ROLE_REGULATOR);
    if (code !== R.ok) return code;
    const ledger = u32(b, o + HL_LEDGER);
    if (ledger === 0) return R.ledger_must_not_be_zero;
    const was = this.halted.has(ledger);
    if (halt && was) return R.ledger_already_halted;
    if (!halt && !was) return R.ledger_not_halted;
    if (halt) this.halted.add(ledger); else this.halted.delete(ledger);
    this.#changed.halts.add(ledger);
    if (this.#inChain) this.#undo.push({ t: 'halt', ledger, was });
    this.#recordOp(b, o, index);
    return R.ok;
  }

  // -------------------------------------------------------------------------------------
  // Undo.

  #touchAccount(i: number): void {
    this.#changed.accounts.add(i);
    if (this.#inChain && !this.#snap.has(i)) {
      this.#snap.add(i);
      this.#undo.push({ t: 'acct', i, words: this.accounts.words.slice(i * ENTRY_WORDS, (i + 1) * ENTRY_WORDS) });
    }
  }

  #touchTransfer(i: number): void {
    this.#changed.transfers.add(i);
    if (this.#inChain && !this.#snapX.has(i)) {
      this.#snapX.add(i);
      this.#undo.push({ t: 'xfer', i, words: this.transfers.words.slice(i * ENTRY_WORDS, (i + 1) * ENTRY_WORDS) });
    }
  }

  #rollback(): void {
    for (let k = this.#undo.length - 1; k >= 0; k--) {
      const u = this.#undo[k];
      switch (u.t) {
        case 'acct': this.accounts.words.set(u.words, u.i * ENTRY_WORDS); break;
        case 'xfer': this.transfers.words.set(u.words, u.i * ENTRY_WORDS); break;
        case 'acct_new':
          if (u.i !== this.accounts.count - 1) throw new Error('undo out of order');
          this.accountIndex.removeLast(u.i); this.accounts.pop(); break;
        case 'xfer_new':
          if (u.i !== this.transfers.count - 1) throw new Error('undo out of order');
          this.transferIndex.removeLast(u.i); this.transfers.pop(); break;
        case 'key_new': {
          const word = u32(u.entry.keyId, 0);
          const bucket = this.#keyBuckets.get(word)!;
          bucket.splice(bucket.indexOf(u.entry), 1);
          if (bucket.length === 0) this.#keyBuckets.delete(word);
          this.keys.pop();
          this.#lastKey = undefined;
          if (u.entry.index !== this.keys.length) throw new Error('undo out of order');
          break;
        }
        case 'op_new': this.ops.delete(u.key); break;
        case 'halt': if (u.was) this.halted.add(u.ledger); else this.halted.delete(u.ledger); break;
        case 'app': u.fn(); break;
      }
    }
    this.#undo.length = 0;
  }

  // -------------------------------------------------------------------------------------
  // Restore (on start: entries loaded from the store, then the tree rebuilt once).

  restoreAccount(entry: Uint8Array): void {
    const i = this.accounts.push();
    this.accounts.bytes.set(entry, i * ENTRY_BYTES);
    this.accountIndex.insert(i);
  }

  restoreTransfer(entry: Uint8Array): void {
    const t = this.transfers.push();
    this.transfers.bytes.set(entry, t * ENTRY_BYTES);
    this.transferIndex.insert(t);
    const w = this.transfers.words;
    const status = w[t * ENTRY_WORDS + T_STATUS];
    if ((status === STATUS_PENDING || status === STATUS_QUEUED) && w[t * ENTRY_WORDS + T_TIMEOUT] !== 0) {
      this.#heapPush(this.#expiresAt(t), t);
    }
  }

  /** An application's stored entry ('Z' ‖ app ‖ …, docs/storage.md), applied at finishRestore. */
  restoreApp(key: Uint8Array, value: Uint8Array): void {
    this.#appRows.push([key, value]);
  }

  restoreKey(entry: KeyEntry): void {
    if (entry.index !== this.keys.length) throw new Error('keys must be restored in order');
    this.keys.push(entry);
    this.#indexKey(entry);
  }

  /**
   * The bulk alternative to restoreAccount / restoreTransfer (restore.ts): once the caller
   * has written every entry into the slabs (Slab.reserve, bytes, setCount), builds both id
   * indexes in one pass each and queues the pending transfers that can expire. `tick`: called
   * now and then along the way (IdIndex.rebuild).
   */
  restoreEntries(tick?: () => void): void {
    this.accountIndex.rebuild(tick);
    this.transferIndex.rebuild(tick);
    const w = this.transfers.words;
    for (let t = 0, e = 0; t < this.transfers.count; t++, e += ENTRY_WORDS) {
      const status = w[e + T_STATUS];
      if ((status === STATUS_PENDING || status === STATUS_QUEUED) && w[e + T_TIMEOUT] !== 0) {
        this.#heapPush(this.#expiresAt(t), t);
      }
    }
  }

  /**
   * Finishes a restore: builds the state tree over all accounts at once (unless the caller
   * has built it: `treeBuilt`) and sets the block context.
   */
  finishRestore(height: number, timeMs: number, treeBuilt = false): void {
    if (!treeBuilt) this.tree.rebuild(this.accounts.count, this.accounts.words);
    else if (this.tree.size !== this.accounts.count) {
      throw new Error('the state tree was built over a different account count');
    }
    this.#treeSize = this.accounts.count;
    this.height = height;
    this.timeMs = timeMs;
    for (const [key, value] of this.#appRows) {
      if (key[1] === APP_CLEARING) this.clearing.restoreEntry(key, value);
      else if (key[1] === APP_TOLL) this.toll.restoreEntry(key, value);
      else throw new Error(`the store holds state of an unknown application (${key[1]})`);
    }
    this.#appRows = [];
    this.clearing.finishRestore();
    this.toll.finishRestore();
  }

  // -------------------------------------------------------------------------------------
  // The surface the applications (src/apps) apply their records through. They change
  // accounts and transfers only through these, so undo, change tracking and the balance
  // invariants stay in one place.

  /** True while a linked chain is being applied (its changes are undone if it fails). */
  get inChain(): boolean {
    return this.#inChain;
  }

  appSigner(b: Uint8Array, o: number): KeyEntry | undefined {
    return this.#signer(b, o);
  }

  /** The record's signer holds one of `roles`, its id is valid, and it is new (or `exists`). */
  appCheckSignedRequest(b: Uint8Array, o: number, roles: number): number {
    return this.#checkSignedRequest(b, o, roles);
  }

  /** The record's id is valid and new among requests (idempotency: same id and fields → `exists`). */
  appCheckRequest(b: Uint8Array, o: number): number {
    return this.#checkRequest(b, o);
  }

  /** Keeps the request record at `o` for idempotency and lookup (docs/storage.md 'O'). */
  appRecordOp(b: Uint8Array, o: number, index: number): void {
    this.#recordOp(b, o, index);
  }

  appTouchAccount(i: number): void {
    this.#touchAccount(i);
  }

  appTouchTransfer(i: number): void {
    this.#touchTransfer(i);
  }

  /** Registers `undo` to run if the enclosing linked chain fails (nothing outside a chain). */
  appOnUndo(undo: () => void): void {
    if (this.#inChain) this.#undo.push({ t: 'app', fn: undo });
  }

  /**
   * Runs `fn` as one all-or-nothing unit: if it returns a code other than ok, every change
   * it made through this surface is undone. Inside a linked chain the chain's own undo log
   * does that (a failing record fails the chain).
   */
  appAtomic(fn: () => number): number {
    if (this.#inChain) return fn();
    this.#inChain = true;
    this.#undo.length = 0;
    this.#snap.clear();
    this.#snapX.clear();
    let code: number;
    try {
      code = fn();
    } catch (e) {
      this.#rollback();
      this.#inChain = false;
      throw e;
    }
    if (code !== R.ok) this.#rollback();
    this.#inChain = false;
    this.#undo.length = 0;
    return code;
  }

  /**
   * Whether `amt` (4 limbs) can move from account `dr` to `cr` as a posted amount: frozen
   * accounts, a halted ledger, overflows and the balance-limit flags. Changes nothing.
   */
  appCheckMove(dr: number, cr: number, amt: Uint32Array): number {
    const aw = this.accounts.words;
    const d = dr * ENTRY_WORDS;
    const c = cr * ENTRY_WORDS;
    if (this.halted.has(aw[d + A_LEDGER])) return R.ledger_halted;
    if (((aw[d + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.debit_account_frozen;
    if (((aw[c + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.credit_account_frozen;
    return this.#checkAmount(aw, d, c, amt, false);
  }

  /** Moves `amt` from `dr` to `cr` as posted amounts; the caller checked it (appCheckMove). */
  appMove(dr: number, cr: number, amt: Uint32Array): void {
    this.#touchAccount(dr);
    this.#touchAccount(cr);
    const aw = this.accounts.words;
    add128(aw, dr * ENTRY_WORDS + A_DEBITS_POSTED, amt, 0);
    add128(aw, cr * ENTRY_WORDS + A_CREDITS_POSTED, amt, 0);
    this.clearing.credited(cr);
  }

  /** A transfer entry for the transfer record at `o`, with `status`; moves nothing. */
  appNewTransfer(b: Uint8Array, o: number, index: number, status: number): number {
    return this.#newTransfer(b, o, index, status);
  }

  /**
   * A transfer entry made by the state machine itself (a settlement, a split): id (16
   * bytes), accounts by index, amount and user data as 4 limbs. Moves nothing (appMove).
   * The id must be new: returns −1 (and adds nothing) if a transfer has it.
   */
  appNewEntry(id: Uint8Array, dr: number, cr: number, amt: Uint32Array, userData: Uint32Array, ledger: number,
    code: number, flags: number, status: number, index: number): number {
    if (this.transferIndex.find(u32(id, 0), u32(id, 4), u32(id, 8), u32(id, 12)) >= 0) return -1;
    const t = this.transfers.push();
    const w = this.transfers.words;
    const aw = this.accounts.words;
    const e = t * ENTRY_WORDS;
    w.fill(0, e, e + ENTRY_WORDS);
    for (let k = 0; k < 4; k++) {
      w[e + T_ID + k] = u32(id, 4 * k);
      w[e + T_DEBIT + k] = aw[dr * ENTRY_WORDS + A_ID + k];
      w[e + T_CREDIT + k] = aw[cr * ENTRY_WORDS + A_ID + k];
      w[e + T_AMOUNT + k] = amt[k];
      w[e + T_USER_DATA + k] = userData[k];
    }
    w[e + T_LEDGER] = ledger;
    w[e + T_CODE_FLAGS] = ((code & 0xffff) | ((flags & 0xffff) << 16)) >>> 0;
    return this.#stampTransfer(t, status, index);
  }

  /** Queues transfer `t` (pending or queued, with a timeout) for expiry at its deadline. */
  appScheduleExpiry(t: number): void {
    this.#heapPush(this.#expiresAt(t), t);
  }

  // -------------------------------------------------------------------------------------

  #accountOfWords(w: Uint32Array, at: number): number {
    const a = this.accountIndex.find(w[at], w[at + 1], w[at + 2], w[at + 3]);
    if (a < 0) throw new Error('transfer refers to a missing account');
    return a;
  }

  #expiresAt(t: number): number {
    const w = this.transfers.words;
    const e = t * ENTRY_WORDS;
    return w[e + T_TIMESTAMP] + w[e + T_TIMESTAMP + 1] * 0x100000000 + w[e + T_TIMEOUT] * 1000;
  }

  #heapPush(time: number, idx: number): void {
    const ht = this.#heapTime, hi = this.#heapIdx;
    let k = ht.length;
    ht.push(time); hi.push(idx);
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (ht[p] < time || (ht[p] === time && hi[p] <= idx)) break;
      ht[k] = ht[p]; hi[k] = hi[p];
      k = p;
    }
    ht[k] = time; hi[k] = idx;
  }

  #heapPop(): number {
    const ht = this.#heapTime, hi = this.#heapIdx;
    const top = hi[0];
    const lastT = ht.pop()!, lastI = hi.pop()!;
    const n = ht.length;
    if (n > 0) {
      let k = 0;
      for (;;) {
        let c = 2 * k + 1;
        if (c >= n) break;
        if (c + 1 < n && (ht[c + 1] < ht[c] || (ht[c + 1] === ht[c] && hi[c + 1] < hi[c]))) c++;
        if (lastT < ht[c] || (lastT === ht[c] && lastI <= hi[c])) break;
        ht[k] = ht[c]; hi[k] = hi[c];
        k = c;
      }
      ht[k] = lastT; hi[k] = lastI;
    }
    return top;
  }
}

/** The transfer flags' combinations: one of pending/post/void/deferred at most; queue only single-phase. */
function checkTransferFlags(flags: number): number {
  const pending = (flags & TRANSFER_PENDING) !== 0;
  const post = (flags & TRANSFER_POST_PENDING) !== 0;
  const voiding = (flags & TRANSFER_VOID_PENDING) !== 0;
  const deferred = (flags & TRANSFER_DEFERRED) !== 0;
  const queue = (flags & TRANSFER_QUEUE) !== 0;
  if ((pending ? 1 : 0) + (post ? 1 : 0) + (voiding ? 1 : 0) + (deferred ? 1 : 0) > 1 || (deferred && queue)) {
    return R.flags_are_mutually_exclusive;
  }
  if (queue && (pending || post || voiding)) return R.flags_reserved_for_single_phase;
  return R.ok;
}

/** A new (not post/void) transfer's fields that need no state: pending id, timeout, accounts, ledger, code, amount. */
function checkNewTransferFields(b: Uint8Array, o: number, flags: number): number {
  const deferred = (flags & TRANSFER_DEFERRED) !== 0;
  const timed = (flags & (TRANSFER_PENDING | TRANSFER_QUEUE)) !== 0;
  if (!deferred && !isZero(b, o + TR_PENDING_ID, o + TR_PENDING_ID + 16)) return R.pending_id_must_be_zero;
  if (!timed && u32(b, o + TR_TIMEOUT) !== 0) return R.timeout_reserved_for_pending_transfer;
  if (isZero(b, o + TR_DEBIT, o + TR_DEBIT + 16)) return R.debit_account_id_must_not_be_zero;
  if (isZero(b, o + TR_CREDIT, o + TR_CREDIT + 16)) return R.credit_account_id_must_not_be_zero;
  if (equalRange(b, o + TR_DEBIT, b, o + TR_CREDIT, 16)) return R.accounts_must_be_different;
  if (u32(b, o + TR_LEDGER) === 0) return R.ledger_must_not_be_zero;
  if (u16(b, o + TR_CODE) === 0) return R.code_must_not_be_zero;
  if (isZero(b, o + TR_AMOUNT, o + TR_AMOUNT + 16)) return R.amount_must_not_be_zero;
  return R.ok;
}

// ---------------------------------------------------------------------------------------
// u128 limb arithmetic.

function isMax(b: Uint8Array, o: number): boolean {
  let acc = 0xff;
  for (let i = 0; i < 16; i++) acc &= b[o + i];
  return acc === 0xff;
}

function equalRange(a: Uint8Array, ao: number, b: Uint8Array, bo: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

function equalWords(w: Uint32Array, at: number, b: Uint8Array, o: number): boolean {
  return w[at] === u32(b, o) && w[at + 1] === u32(b, o + 4) &&
    w[at + 2] === u32(b, o + 8) && w[at + 3] === u32(b, o + 12);
}

/** True if w[at..at+4] + a overflows u128. */
function addOverflows(w: Uint32Array, at: number, a: Uint32Array): boolean {
  let carry = 0;
  for (let k = 0; k < 4; k++) carry = (w[at + k] + a[k] + carry) > U32_MAX_WORD ? 1 : 0;
  return carry !== 0;
}

/** w[at..] += a[ao..] (caller checked overflow). */
function add128(w: Uint32Array, at: number, a: Uint32Array, ao: number): void {
  let carry = 0;
  for (let k = 0; k < 4; k++) {
    const s = w[at + k] + a[ao + k] + carry;
    w[at + k] = s >>> 0;
    carry = s > U32_MAX_WORD ? 1 : 0;
  }
}

/** w[at..] -= a[ao..]; the invariants guarantee no borrow out. */
function sub128(w: Uint32Array, at: number, a: Uint32Array, ao: number): void {
  let borrow = 0;
  for (let k = 0; k < 4; k++) {
    const d = w[at + k] - a[ao + k] - borrow;
    w[at + k] = d >>> 0;
    borrow = d < 0 ? 1 : 0;
  }
  if (borrow !== 0) throw new Error('balance underflow: ledger invariant broken');
}

/** out = w[x] + w[y] + a (4 limbs); returns the carry out of 128 bits (0, 1 or 2). */
function sum3(out: Uint32Array, w: Uint32Array, x: number, y: number, a: Uint32Array): number {
  let carry = 0;
  for (let k = 0; k < 4; k++) {
    const s = w[x + k] + w[y + k] + a[k] + carry;
    out[k] = s >>> 0;
    carry = Math.floor(s / 0x100000000);
  }
  return carry;
}

/** Compares a[ao..] with w[wo..] as u128: −1, 0 or 1. */
function cmp128(a: Uint32Array, ao: number, w: Uint32Array, wo: number): number {
  for (let k = 3; k >= 0; k--) {
    if (a[ao + k] !== w[wo + k]) return a[ao + k] > w[wo + k] ? 1 : -1;
  }
  return 0;
}

