// Clearing inside the deterministic state machine (docs/clearing.md): deferred net
// settlement cycles with gridlock resolution, the RTGS queue, and the regulator's rules.
// Everything here runs on every node and on every replay in the same order, so it uses no
// clock, no randomness and no iteration order that is not the chain's.
//
// Money moves only through the ledger's app surface (AppHost.app*), which keeps the
// undo log, the change sets and the balance invariants. Obligations and queued transfers
// are transfer entries (statuses obligation / queued) that move nothing until they settle,
// so lookups by id, account history, checkpoints and restore cover them unchanged.

import {
  CM_ACCOUNT, CO_CLEARING, CO_CODE, CO_LEDGER, CR_ACCOUNT, CR_ACTION, CR_AMOUNT, CR_UNTIL, CY_CYCLE, CYCLE_CAP,
  CYCLE_DELAY, CYCLE_REFUSE, Kind, OFF_ID, OFF_KIND, ROLE_ADMIN, ROLE_OPERATOR, ROLE_REGULATOR, RULE_ALERT,
  RULE_REFUSE, RULE_REMOVE, RU_ACCOUNT, RU_CODE, RU_LEDGER, RU_MAX_AMOUNT, RU_MAX_COUNT, RU_MAX_WINDOW_AMOUNT,
  RU_RULE, RU_TIER, RU_WINDOW, TR_AMOUNT, TR_CODE, TR_DEBIT, TR_PENDING_ID, TR_TIMEOUT, isZero, setU128, u128, u16, u32,
  u64,
} from '../../codec/record.js';
import {
  A_CODE_FLAGS, A_ID, A_LEDGER, ENTRY_WORDS, T_AMOUNT,
  T_CREDIT, T_DEBIT, T_LEDGER, T_PENDING_ID, STATUS_OBLIGATION, STATUS_OBLIGATION_REMOVED, STATUS_POSTED, STATUS_QUEUED,
  STATUS_QUEUE_EXPIRED, T_STATUS, opKeyOf, wordsU128,
} from '../../codec/entries.js';
import { ACCOUNT_FROZEN } from '../../codec/record.js';
import { ResultCode as R, resultName } from '../../codec/results.js';
import { sm3 } from '../../crypto/hash.js';
import type { AppHost, Notice } from '../host.js';
import { type NetResult, available, netCycle } from './netting.js';
import {
  APP_CLEARING, Z_ALERT, Z_CYCLE, Z_RULE, alertFromJson, alertJson, cycleJson, findAccountBig, reportFromJson,
  ruleJson, windowTimes, zKey,
} from './persist.js';

export { APP_CLEARING };
export type { Notice };
export { type NetResult, available, netCycle };

/** Members one cycle may name. */
export const CYCLE_MEMBERS_MAX = 1024;
/**
 * Obligations one cycle may hold. The close sums each member's amounts limb by limb in
 * doubles: 2²¹ obligations × (2³² − 1) stays below 2⁵³, so every sum is exact.
 */
export const CYCLE_OBLIGATIONS_MAX = 2_097_152;
/** Cycles open at once on a chain. */
export const CYCLES_OPEN_MAX = 256;
/** Transfers waiting in one account's queue. */
export const QUEUE_MAX_PER_ACCOUNT = 65_536;
/** Rules active at once. */
export const RULES_MAX = 4096;
/** Longest rolling window a rule may count over: 7 days of block time. */
export const RULE_WINDOW_MS_MAX = 7 * 86_400_000;
/** Alerts kept in memory for queries (all are kept in the store). */
export const ALERTS_IN_MEMORY_MAX = 100_000;


export type CycleStatus = 'open' | 'settled' | 'refused';

/** What a cycle's close computed (docs/clearing.md, "The report"). */
export interface CycleReport {
  /** Σ amounts of the obligations settled. */
  gross: bigint;
  /** Σ net debits moved (= Σ net credits). */
  net: bigint;
  /** gross − net: the liquidity netting saved. */
  saved: bigint;
  settledCount: number;
  removedCount: number;
  /** Σ amounts of the obligations the gridlock resolution removed (returned unsettled). */
  removedGross: bigint;
  /** Net position per member (same order as members), after removals: + receives, − pays. */
  positions: bigint[];
  /** Rounds of the gridlock resolution (0: every position was covered at once). */
  rounds: number;
}

export class Cycle {
  readonly id: bigint;
  readonly key: string;
  readonly ledger: number;
  readonly code: number;
  /** Account index of the clearing account the net positions move through. */
  readonly clearing: number;
  readonly openedHeight: number;
  /** Member settlement accounts (account indexes), in the order they joined. */
  readonly members: number[] = [];
  readonly slotOf = new Map<number, number>();
  readonly caps: (bigint | undefined)[] = [];
  status: CycleStatus = 'open';
  delayUntilMs = 0;
  closedHeight = -1;
  closedTimeMs = 0;
  report: CycleReport | undefined;
  // Obligations, in submission order: transfer index and member slots.
  obl = new Int32Array(64);
  from = new Uint16Array(64);
  to = new Uint16Array(64);
  n = 0;

  constructor(id: bigint, key: string, ledger: number, code: number, clearing: number, openedHeight: number) {
    this.id = id; this.key = key; this.ledger = ledger; this.code = code; this.clearing = clearing;
    this.openedHeight = openedHeight;
  }

  push(t: number, f: number, to: number): void {
    if (this.n === this.obl.length) {
      const size = this.n * 2;
      const o = new Int32Array(size); o.set(this.obl); this.obl = o;
      const a = new Uint16Array(size); a.set(this.from); this.from = a;
      const b = new Uint16Array(size); b.set(this.to); this.to = b;
    }
    this.obl[this.n] = t; this.from[this.n] = f; this.to[this.n] = to;
    this.n++;
  }
}

export interface Rule {
  ruleId: number;
  ledger: number;
  /** Transfer code the rule applies to; 0 = any. */
  code: number;
  tier: number;
  /** Debit account index, −1 = every account of the ledger. */
  account: number;
  accountId: bigint;
  maxAmount: bigint;
  /** maxAmount as four limbs (undefined: no per-payment limit), compared without BigInt on the hot path. */
  maxLimbs: Uint32Array | undefined;
  windowMs: number;
  maxCount: number;
  maxWindowAmount: bigint;
  height: number;
  /** Rolling windows per debit account index. */
  windows: Map<number, RuleWindow>;
  /** An account rule's one window (windows holds it too), once it has one. */
  window?: RuleWindow;
  /** Changed since the last checkpoint (listed in the dirty set). */
  dirty?: boolean;
}

/** A rule's rolling window for one debit account: times (and amounts, for a window-amount limit) from `head` on. */
interface RuleWindow { times: number[]; amounts: bigint[] | undefined; head: number; sum: bigint }

/** A rule of tier `alert` that a payment broke: the payment went through; this is on record. */
export interface Alert {
  seq: number;
  height: number;
  /** The record's index in its block. */
  index: number;
  timeMs: number;
  ruleId: number;
  /** Result-code name of what was exceeded: rule_max_amount, rule_max_count or rule_max_window_amount. */
  violation: string;
  transferId: bigint;
  accountId: bigint;
  amount: bigint;
  ledger: number;
  code: number;
}

interface Queue { items: number[]; head: number; live: number }



function limbsOf(v: bigint, out: Uint32Array): Uint32Array {
  for (let k = 0; k < 4; k++) out[k] = Number((v >> BigInt(32 * k)) & 0xffffffffn);
  return out;
}

/** Index of the account whose id is the four words at `w[at..]` (−1: none). */
function accountAt(st: AppHost, w: Uint32Array, at: number): number {
  return st.accountIndex.find(w[at], w[at + 1], w[at + 2], w[at + 3]);
}

/** The cycles map key of a u128 id (as opKeyOf makes from its 16 bytes). */
function keyOfBig(v: bigint): string {
  const b = new Uint8Array(16);
  setU128(b, 0, v);
  return opKeyOf(b);
}

/** The id of a cycle's settlement transfer for one member: SM3('gmledger/cycle' ‖ cycle id ‖ account id)[0..16). */
export function settlementTransferId(cycleId: bigint, accountId: bigint): Uint8Array {
  const m = new Uint8Array(14 + 32);
  m.set(new TextEncoder().encode('gmledger/cycle'));
  setU128(m, 14, cycleId);
  setU128(m, 30, accountId);
  return sm3(m).slice(0, 16);
}

export class ClearingState {
  readonly #st: AppHost;
  readonly cycles = new Map<string, Cycle>();
  #openCycles = 0;
  readonly rules = new Map<number, Rule>();
  // Account rules by debit account index: a dense array (a hole is undefined), read once per
  // payment — cheaper than a map lookup on the hot path; 8 bytes per account up to the last ruled one.
  readonly #rulesByAccount: (Rule[] | undefined)[] = [];
  #accountRuleLists = 0;
  readonly #rulesByLedger = new Map<number, Rule[]>();
  readonly alerts: Alert[] = [];
  #alertSeq = 0;
  readonly queues = new Map<number, Queue>();
  // Checks made by checkRules for the payment being applied, consumed by noteRules.
  readonly #matched: Rule[] = [];
  #matchedCount = 0;
  #amount: bigint | undefined;
  #alertsPending: { rule: Rule; violation: number }[] = [];
  // Block-scoped.
  #credited = new Set<number>();
  /** Queued transfers settled / expired in the current block (transfer indexes), and the alerts raised. */
  blockQueueSettled: number[] = [];
  blockQueueExpired: number[] = [];
  blockAlerts: Alert[] = [];
  // Since the last checkpoint.
  #dirtyCycles = new Set<string>();
  #dirtyRules = new Set<number>();
  #dirtyAlerts: Alert[] = [];
  readonly #limbs = new Uint32Array(4);

  constructor(state: AppHost) {
    this.#st = state;
  }

  // -------------------------------------------------------------------------------------
  // Records.

  apply(b: Uint8Array, o: number, index: number): number {
    switch (b[o + OFF_KIND]) {
      case Kind.cycle_open: return this.#open(b, o, index);
      case Kind.cycle_member: return this.#member(b, o, index);
      case Kind.cycle_close: return this.#close(b, o, index);
      case Kind.cycle_regulate: return this.#regulate(b, o, index);
      case Kind.rule: return this.#rule(b, o, index);
    }
    throw new Error(`clearing: record kind ${b[o + OFF_KIND]}`);
  }

  /** The signer may run cycles on `ledger`: an admin, or an operator of that ledger. */
  #operates(b: Uint8Array, o: number, ledger: number): boolean {
    const s = this.#st.appSigner(b, o);
    if (s === undefined) return false;
    return (s.roles & ROLE_ADMIN) !== 0 || ((s.roles & ROLE_OPERATOR) !== 0 && s.ledger === ledger);
  }

  #open(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const ledger = u32(b, o + CO_LEDGER);
    if (!this.#operates(b, o, ledger)) return R.signer_not_authorized;
    const code = st.appCheckRequest(b, o);
    if (code !== R.ok) return code;
    if (ledger === 0) return R.ledger_must_not_be_zero;
    if (u16(b, o + CO_CODE) === 0) return R.code_must_not_be_zero;
    const clearing = st.findAccount(b, o + CO_CLEARING);
    if (clearing < 0) return R.clearing_account_not_found;
    const sameLedger = st.accounts.words[clearing * ENTRY_WORDS + A_LEDGER] === ledger;
    if (!sameLedger) return R.transfer_must_have_the_same_ledger_as_accounts;
    if (st.halted.has(ledger)) return R.ledger_halted;
    if (this.#openCycles >= CYCLES_OPEN_MAX) return R.cycles_open_full;
    const key = opKeyOf(b, o + OFF_ID);
    const cycle = new Cycle(u128(b, o + OFF_ID), key, ledger, u16(b, o + CO_CODE), clearing, st.height);
    this.cycles.set(key, cycle);
    this.#openCycles++;
    this.#dirtyCycles.add(key);
    st.appOnUndo(() => { this.cycles.delete(key); this.#openCycles--; });
    st.appRecordOp(b, o, index);
    return R.ok;
  }

  #cycleOf(b: Uint8Array, o: number): Cycle | undefined {
    return this.cycles.get(opKeyOf(b, o + CY_CYCLE));
  }

  /**
   * The open cycle a member or close request at `o` names, once its signer may operate it and
   * its id is new; else the code to refuse it with (an unknown cycle after the id checks).
   */
  #openCycleFor(b: Uint8Array, o: number): Cycle | number {
    const st = this.#st;
    const cycle = this.#cycleOf(b, o);
    if (cycle === undefined) {
      const code = st.appCheckRequest(b, o);
      return code !== R.ok ? code : R.cycle_not_found;
    }
    if (!this.#operates(b, o, cycle.ledger)) return R.signer_not_authorized;
    const code = st.appCheckRequest(b, o);
    if (code !== R.ok) return code;
    return cycle.status !== 'open' ? R.cycle_not_open : cycle;
  }

  #member(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const cycle = this.#openCycleFor(b, o);
    if (typeof cycle === 'number') return cycle;
    const a = st.findAccount(b, o + CM_ACCOUNT);
    if (a < 0) return R.cycle_member_account_not_found;
    const sameLedger = st.accounts.words[a * ENTRY_WORDS + A_LEDGER] === cycle.ledger;
    if (!sameLedger) return R.transfer_must_have_the_same_ledger_as_accounts;
    if (a === cycle.clearing) return R.cycle_member_is_clearing_account;
    if (cycle.slotOf.has(a)) return R.cycle_member_exists;
    if (cycle.members.length >= CYCLE_MEMBERS_MAX) return R.cycle_members_full;
    cycle.slotOf.set(a, cycle.members.length);
    cycle.members.push(a);
    cycle.caps.push(undefined);
    this.#dirtyCycles.add(cycle.key);
    st.appOnUndo(() => { cycle.members.pop(); cycle.caps.pop(); cycle.slotOf.delete(a); });
    st.appRecordOp(b, o, index);
    return R.ok;
  }

  /**
   * A transfer flagged deferred (the state machine checked its ids, accounts, ledger,
   * signer, freezes and the rules): recorded as an obligation of the cycle its pending_id
   * names, moving nothing.
   */
  obligation(b: Uint8Array, o: number, index: number, dr: number, cr: number): number {
    const st = this.#st;
    const cycle = this.cycles.get(opKeyOf(b, o + TR_PENDING_ID));
    if (cycle === undefined) return R.cycle_not_found;
    if (cycle.status !== 'open') return R.cycle_not_open;
    if (cycle.ledger !== st.accounts.words[dr * ENTRY_WORDS + A_LEDGER]) {
      return R.transfer_must_have_the_same_ledger_as_accounts;
    }
    const f = cycle.slotOf.get(dr);
    const to = cycle.slotOf.get(cr);
    if (f === undefined || to === undefined) return R.cycle_member_not_found;
    if (cycle.n >= CYCLE_OBLIGATIONS_MAX) return R.cycle_obligations_full;
    const t = st.appNewTransfer(b, o, index, STATUS_OBLIGATION);
    cycle.push(t, f, to);
    st.appOnUndo(() => { cycle.n--; });
    return R.ok;
  }

  #regulate(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const code = st.appCheckSignedRequest(b, o, ROLE_REGULATOR);
    if (code !== R.ok) return code;
    const cycle = this.#cycleOf(b, o);
    if (cycle === undefined) return R.cycle_not_found;
    if (cycle.status !== 'open') return R.cycle_not_open;
    const action = b[o + CR_ACTION];
    switch (action) {
      case CYCLE_DELAY: {
        const until = Number(u64(b, o + CR_UNTIL));
        if (!isZero(b, o + CR_ACCOUNT, o + CR_AMOUNT + 16)) return R.invalid_cycle_action;
        const was = cycle.delayUntilMs;
        cycle.delayUntilMs = until;
        st.appOnUndo(() => { cycle.delayUntilMs = was; });
        break;
      }
      case CYCLE_REFUSE: {
        if (!isZero(b, o + CR_UNTIL, o + CR_AMOUNT + 16)) return R.invalid_cycle_action;
        cycle.status = 'refused';
        cycle.closedHeight = st.height;
        cycle.closedTimeMs = st.timeMs;
        this.#openCycles--;
        st.appOnUndo(() => {
          cycle.status = 'open'; cycle.closedHeight = -1; cycle.closedTimeMs = 0; this.#openCycles++;
        });
        break;
      }
      case CYCLE_CAP: {
        if (!isZero(b, o + CR_UNTIL, o + CR_UNTIL + 8)) return R.invalid_cycle_action;
        const a = st.findAccount(b, o + CR_ACCOUNT);
        const slot = a < 0 ? undefined : cycle.slotOf.get(a);
        if (slot === undefined) return R.cycle_member_not_found;
        const was = cycle.caps[slot];
        cycle.caps[slot] = u128(b, o + CR_AMOUNT);
        st.appOnUndo(() => { cycle.caps[slot] = was; });
        break;
      }
      default: return R.invalid_cycle_action;
    }
    this.#dirtyCycles.add(cycle.key);
    st.appRecordOp(b, o, index);
    return R.ok;
  }

  #close(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const cycle = this.#openCycleFor(b, o);
    if (typeof cycle === 'number') return cycle;
    if (st.timeMs < cycle.delayUntilMs) return R.cycle_close_delayed;
    if (st.halted.has(cycle.ledger)) return R.ledger_halted;
    const aw = st.accounts.words;
    for (const a of cycle.members) {
      if (((aw[a * ENTRY_WORDS + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.cycle_member_frozen;
    }
    if (((aw[cycle.clearing * ENTRY_WORDS + A_CODE_FLAGS] >>> 16) & ACCOUNT_FROZEN) !== 0) return R.cycle_member_frozen;
    const net = netCycle(cycle, st.transfers.words, (slot) => available(aw, cycle.members[slot]));
    const result = st.appAtomic(() => this.#settle(cycle, net, index));
    if (result !== R.ok) return result;
    st.appRecordOp(b, o, index);
    return R.ok;
  }

  /** Moves the net positions and marks the removed obligations; all or nothing (appAtomic). */
  #settle(cycle: Cycle, net: NetResult, index: number): number {
    const st = this.#st;
    const amt = this.#limbs;
    const userData = limbsOf(cycle.id, new Uint32Array(4));
    const aw = st.accounts.words;
    // Debtors first, so the clearing account never goes below where it started.
    for (let pass = 0; pass < 2; pass++) {
      for (let s = 0; s < cycle.members.length; s++) {
        const p = net.positions[s];
        if (pass === 0 ? p >= 0n : p <= 0n) continue;
        const member = cycle.members[s];
        const dr = pass === 0 ? member : cycle.clearing;
        const cr = pass === 0 ? cycle.clearing : member;
        limbsOf(p < 0n ? -p : p, amt);
        const check = st.appCheckMove(dr, cr, amt);
        if (check !== R.ok) return R.cycle_settlement_failed;
        const id = settlementTransferId(cycle.id, wordsU128(aw, member * ENTRY_WORDS + A_ID));
        if (st.appNewEntry(id, dr, cr, amt, userData, cycle.ledger, cycle.code, 0, STATUS_POSTED, index) < 0) {
          return R.cycle_settlement_failed;
        }
        st.appMove(dr, cr, amt);
      }
    }
    const tw = st.transfers.words;
    for (let k = 0; k < cycle.n; k++) {
      if (net.removed[k] === 0) continue;
      st.appTouchTransfer(cycle.obl[k]);
      tw[cycle.obl[k] * ENTRY_WORDS + T_STATUS] = STATUS_OBLIGATION_REMOVED;
    }
    cycle.status = 'settled';
    cycle.closedHeight = st.height;
    cycle.closedTimeMs = st.timeMs;
    cycle.report = {
      gross: net.gross, net: net.net, saved: net.gross - net.net, settledCount: cycle.n - net.removedCount,
      removedCount: net.removedCount, removedGross: net.removedGross, positions: net.positions, rounds: net.rounds,
    };
    this.#openCycles--;
    this.#dirtyCycles.add(cycle.key);
    st.appOnUndo(() => {
      cycle.status = 'open'; cycle.closedHeight = -1; cycle.closedTimeMs = 0; cycle.report = undefined;
      this.#openCycles++;
    });
    return R.ok;
  }

  /**
   * Status of obligation entry `t` in view of its cycle: obligation (open), obligation_settled,
   * obligation_removed or obligation_voided.
   */
  obligationStatus(t: number): string {
    const w = this.#st.transfers.words;
    const e = t * ENTRY_WORDS;
    if (w[e + T_STATUS] === STATUS_OBLIGATION_REMOVED) return 'obligation_removed';
    const cycle = this.cycles.get(keyOfBig(wordsU128(w, e + T_PENDING_ID)));
    if (cycle === undefined) return 'obligation';
    return cycle.status === 'settled' ? 'obligation_settled' : cycle.status === 'refused' ? 'obligation_voided'
      : 'obligation';
  }

  /** The cycle with this id, if any. */
  cycle(id: bigint): Cycle | undefined {
    return this.cycles.get(keyOfBig(id));
  }

  // -------------------------------------------------------------------------------------
  // The RTGS queue.

  /** Account `a` has transfers waiting in its queue. */
  queued(a: number): boolean {
    const q = this.queues.get(a);
    return q !== undefined && q.live > 0;
  }

  enqueue(b: Uint8Array, o: number, index: number, dr: number): number {
    const st = this.#st;
    let q = this.queues.get(dr);
    if (q !== undefined && q.live >= QUEUE_MAX_PER_ACCOUNT) return R.queue_full;
    const t = st.appNewTransfer(b, o, index, STATUS_QUEUED);
    if (q === undefined) { q = { items: [], head: 0, live: 0 }; this.queues.set(dr, q); }
    const queue = q;
    queue.items.push(t);
    queue.live++;
    if (u32(b, o + TR_TIMEOUT) !== 0) st.appScheduleExpiry(t);
    st.appOnUndo(() => { queue.items.pop(); queue.live--; });
    return R.ok;
  }

  /** Account `a` gained available funds in this block: its queue is tried at the block's end. */
  credited(a: number): void {
    if (this.queues.size !== 0 && this.queues.has(a)) this.#credited.add(a);
  }

  /** Queued transfer `t` reached its timeout (called at the start of a block, in deadline order). */
  queueExpire(t: number): void {
    const st = this.#st;
    st.appTouchTransfer(t);
    const w = st.transfers.words;
    w[t * ENTRY_WORDS + T_STATUS] = STATUS_QUEUE_EXPIRED;
    const dr = accountAt(st, w, t * ENTRY_WORDS + T_DEBIT);
    const q = this.queues.get(dr);
    if (q !== undefined) {
      q.live--;
      this.#credited.add(dr); // the transfers behind it may settle now
    }
    this.blockQueueExpired.push(t);
  }

  /** End of block: settles queue heads of the accounts that gained funds, in account order, FIFO. */
  endBlock(): void {
    const st = this.#st;
    while (this.#credited.size > 0) {
      const accounts = [...this.#credited].sort((x, y) => x - y);
      this.#credited.clear();
      for (const a of accounts) {
        const q = this.queues.get(a);
        if (q === undefined) continue;
        while (q.head < q.items.length) {
          const t = q.items[q.head];
          const w = st.transfers.words;
          const e = t * ENTRY_WORDS;
          if (w[e + T_STATUS] !== STATUS_QUEUED) { q.head++; continue; }
          const cr = accountAt(st, w, e + T_CREDIT);
          const amt = this.#limbs;
          for (let k = 0; k < 4; k++) amt[k] = w[e + T_AMOUNT + k];
          if (st.appCheckMove(a, cr, amt) !== R.ok) break; // strict FIFO: the head waits, so do the rest
          st.appTouchTransfer(t);
          st.transfers.words[e + T_STATUS] = STATUS_POSTED;
          st.appMove(a, cr, amt);
          q.head++;
          q.live--;
          this.blockQueueSettled.push(t);
        }
        if (q.head === q.items.length) this.queues.delete(a);
        else if (q.head > 1024 && q.head * 2 > q.items.length) { q.items.splice(0, q.head); q.head = 0; }
      }
    }
  }

  /** The transfers waiting in account `a`'s queue, in order (transfer indexes). */
  queueOf(a: number): number[] {
    const q = this.queues.get(a);
    if (q === undefined) return [];
    const w = this.#st.transfers.words;
    return q.items.slice(q.head).filter((t) => w[t * ENTRY_WORDS + T_STATUS] === STATUS_QUEUED);
  }

  /**
   * Takes the block's notices, JSON-ready, each with the topic it goes to (docs/clearing.md,
   * "Events"): queue_settled / queue_expired on `ledger/<n>`, rule_alert on `alerts`.
   */
  takeNotices(): Notice[] {
    const st = this.#st;
    const w = st.transfers.words;
    const out: Notice[] = [];
    const queueNotice = (kind: string, t: number): void => {
      const e = t * ENTRY_WORDS;
      out.push({
        topic: `ledger/${w[e + T_LEDGER]}`, kind, height: st.height, transferId: wordsU128(w, e).toString(),
        debitAccountId: wordsU128(w, e + T_DEBIT).toString(), creditAccountId: wordsU128(w, e + T_CREDIT).toString(),
        amount: wordsU128(w, e + T_AMOUNT).toString(),
      });
    };
    for (const t of this.blockQueueSettled) queueNotice('queue_settled', t);
    for (const t of this.blockQueueExpired) queueNotice('queue_expired', t);
    for (const a of this.blockAlerts) out.push({ topic: 'alerts', kind: 'rule_alert', ...alertJson(a) });
    this.blockQueueSettled = [];
    this.blockQueueExpired = [];
    this.blockAlerts = [];
    return out;
  }

  // -------------------------------------------------------------------------------------
  // The regulator's rules.

  get rulesActive(): boolean {
    return this.rules.size !== 0;
  }

  #rule(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const code = st.appCheckSignedRequest(b, o, ROLE_REGULATOR);
    if (code !== R.ok) return code;
    const ruleId = u32(b, o + RU_RULE);
    const tier = b[o + RU_TIER];
    const previous = this.rules.get(ruleId);
    if (tier === RULE_REMOVE) {
      if (previous === undefined) return R.rule_not_found;
      if (!isZero(b, o + RU_LEDGER, o + RU_MAX_WINDOW_AMOUNT + 16) || b[o + RU_TIER] !== 0) {
        return R.invalid_rule_tier;
      }
      this.#unindex(previous);
      this.rules.delete(ruleId);
      this.#dirtyRules.add(ruleId);
      st.appOnUndo(() => { this.rules.set(ruleId, previous); this.#index(previous); });
      st.appRecordOp(b, o, index);
      return R.ok;
    }
    if (tier !== RULE_ALERT && tier !== RULE_REFUSE) return R.invalid_rule_tier;
    const ledger = u32(b, o + RU_LEDGER);
    if (ledger === 0) return R.ledger_must_not_be_zero;
    let account = -1;
    if (!isZero(b, o + RU_ACCOUNT, o + RU_ACCOUNT + 16)) {
      account = st.findAccount(b, o + RU_ACCOUNT);
      if (account < 0) return R.account_not_found;
      if (st.accounts.words[account * ENTRY_WORDS + A_LEDGER] !== ledger) {
        return R.transfer_must_have_the_same_ledger_as_accounts;
      }
    }
    const windowMs = u32(b, o + RU_WINDOW);
    const maxCount = u32(b, o + RU_MAX_COUNT);
    const maxWindowAmount = u128(b, o + RU_MAX_WINDOW_AMOUNT);
    const maxAmount = u128(b, o + RU_MAX_AMOUNT);
    const windowed = maxCount !== 0 || maxWindowAmount !== 0n;
    if (windowed !== (windowMs !== 0) || windowMs > RULE_WINDOW_MS_MAX) return R.invalid_rule_window;
    if (!windowed && maxAmount === 0n) return R.invalid_rule_window;
    if (previous === undefined && this.rules.size >= RULES_MAX) return R.rules_full;
    const rule: Rule = {
      ruleId, ledger, code: u16(b, o + RU_CODE), tier, account, accountId: u128(b, o + RU_ACCOUNT), maxAmount,
      maxLimbs: maxAmount === 0n ? undefined : limbsOf(maxAmount, new Uint32Array(4)), windowMs, maxCount,
      maxWindowAmount, height: st.height, windows: new Map(), window: undefined, dirty: false,
    };
    if (previous !== undefined) this.#unindex(previous);
    this.rules.set(ruleId, rule);
    this.#index(rule);
    this.#dirtyRules.add(ruleId);
    st.appOnUndo(() => {
      this.#unindex(rule);
      if (previous === undefined) this.rules.delete(ruleId);
      else { this.rules.set(ruleId, previous); this.#index(previous); }
    });
    st.appRecordOp(b, o, index);
    return R.ok;
  }

  #index(rule: Rule): void {
    let list: Rule[] | undefined;
    if (rule.account >= 0) {
      const byAccount = this.#rulesByAccount;
      while (byAccount.length <= rule.account) byAccount.push(undefined);
      list = byAccount[rule.account];
      if (list === undefined) { byAccount[rule.account] = [rule]; this.#accountRuleLists++; return; }
    } else {
      list = this.#rulesByLedger.get(rule.ledger);
      if (list === undefined) { this.#rulesByLedger.set(rule.ledger, [rule]); return; }
    }
    list.push(rule);
    list.sort((x, y) => x.ruleId - y.ruleId);
  }

  #unindex(rule: Rule): void {
    const list = rule.account >= 0 ? this.#rulesByAccount[rule.account] : this.#rulesByLedger.get(rule.ledger);
    if (list === undefined) return;
    const i = list.indexOf(rule);
    if (i >= 0) list.splice(i, 1);
    if (list.length > 0) return;
    if (rule.account >= 0) { this.#rulesByAccount[rule.account] = undefined; this.#accountRuleLists--; }
    else this.#rulesByLedger.delete(rule.ledger);
  }

  /**
   * Checks a new payment (transfer record at `o`, debit account `dr`) against the rules:
   * the first `refuse` rule it breaks (by rule number, account rules first) refuses it with
   * that code; `alert` rules it breaks are noted for noteRules. Changes nothing but the
   * pruning of expired window entries, which every node does alike.
   */
  checkRules(b: Uint8Array, o: number, dr: number, ledger: number): number {
    this.#matchedCount = 0;
    if (this.#alertsPending.length !== 0) this.#alertsPending.length = 0;
    this.#amount = undefined;
    const byAccount = this.#accountRuleLists === 0 || dr >= this.#rulesByAccount.length ? undefined
      : this.#rulesByAccount[dr];
    const byLedger = this.#rulesByLedger.size === 0 ? undefined : this.#rulesByLedger.get(ledger);
    if (byAccount === undefined && byLedger === undefined) return R.ok;
    const code = u16(b, o + TR_CODE);
    for (let pass = 0; pass < 2; pass++) {
      const list = pass === 0 ? byAccount : byLedger;
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const rule = list[k];
        if (rule.ledger !== ledger || (rule.code !== 0 && rule.code !== code)) continue;
        this.#matched[this.#matchedCount++] = rule;
        const violation = this.#breaks(rule, b, o, dr);
        if (violation === R.ok) continue;
        if (rule.tier === RULE_REFUSE) return violation;
        this.#alertsPending.push({ rule, violation });
      }
    }
    return R.ok;
  }

  /** The code of the limit the payment at `o` breaks under `rule` (ok: none). Amounts as limbs while they can be. */
  #breaks(rule: Rule, b: Uint8Array, o: number, dr: number): number {
    if (rule.maxLimbs !== undefined && aboveLimbs(b, o + TR_AMOUNT, rule.maxLimbs)) return R.rule_max_amount;
    if (rule.windowMs === 0) return R.ok;
    const win = rule.account >= 0 ? rule.window : rule.windows.get(dr);
    if (win !== undefined) prune(win, this.#st.timeMs - rule.windowMs);
    const count = win === undefined ? 0 : win.times.length - win.head;
    if (rule.maxCount !== 0 && count + 1 > rule.maxCount) return R.rule_max_count;
    if (rule.maxWindowAmount !== 0n) {
      this.#amount ??= u128(b, o + TR_AMOUNT);
      if ((win === undefined ? 0n : win.sum) + this.#amount > rule.maxWindowAmount) return R.rule_max_window_amount;
    }
    return R.ok;
  }

  /** The payment checkRules passed was applied: count it in the windows and record its alerts. */
  noteRules(b: Uint8Array, o: number, index: number, dr: number, ledger: number): void {
    if (this.#matchedCount === 0) return;
    const st = this.#st;
    for (let k = 0; k < this.#matchedCount; k++) {
      const rule = this.#matched[k];
      if (rule.windowMs === 0) continue;
      // An account rule has one window (no map lookup per payment); a ledger rule one per debit account.
      let win = rule.account >= 0 ? rule.window : rule.windows.get(dr);
      if (win === undefined) {
        win = { times: [], amounts: rule.maxWindowAmount !== 0n ? [] : undefined, head: 0, sum: 0n };
        rule.windows.set(dr, win);
        if (rule.account >= 0) rule.window = win;
      }
      const w = win;
      w.times.push(st.timeMs);
      if (w.amounts !== undefined) {
        this.#amount ??= u128(b, o + TR_AMOUNT);
        w.amounts.push(this.#amount);
        w.sum += this.#amount;
      }
      if (!rule.dirty) { rule.dirty = true; this.#dirtyRules.add(rule.ruleId); }
      if (st.inChain) {
        st.appOnUndo(() => { w.times.pop(); if (w.amounts !== undefined) w.sum -= w.amounts.pop()!; });
      }
    }
    for (const { rule, violation } of this.#alertsPending) this.#alert(b, o, index, ledger, rule, violation);
    this.#matchedCount = 0;
    this.#alertsPending.length = 0;
  }

  #alert(b: Uint8Array, o: number, index: number, ledger: number, rule: Rule, violation: number): void {
    const st = this.#st;
    const alert: Alert = {
      seq: this.#alertSeq++, height: st.height, index, timeMs: st.timeMs, ruleId: rule.ruleId,
      violation: resultName(violation), transferId: u128(b, o + OFF_ID), accountId: u128(b, o + TR_DEBIT),
      amount: u128(b, o + TR_AMOUNT), ledger, code: u16(b, o + TR_CODE),
    };
    this.alerts.push(alert);
    if (this.alerts.length > ALERTS_IN_MEMORY_MAX) this.alerts.splice(0, this.alerts.length - ALERTS_IN_MEMORY_MAX);
    this.blockAlerts.push(alert);
    this.#dirtyAlerts.push(alert);
    st.appOnUndo(() => {
      this.#alertSeq--;
      if (this.alerts[this.alerts.length - 1] === alert) this.alerts.pop();
      if (this.blockAlerts[this.blockAlerts.length - 1] === alert) this.blockAlerts.pop();
      if (this.#dirtyAlerts[this.#dirtyAlerts.length - 1] === alert) this.#dirtyAlerts.pop();
    });
  }

  // -------------------------------------------------------------------------------------
  // Persistence: 'Z' ‖ APP_CLEARING ‖ type ‖ id (docs/storage.md), written with checkpoints.

  checkpointInto(put: (key: Uint8Array, value: Uint8Array) => void, del: (key: Uint8Array) => void): void {
    const enc = new TextEncoder();
    for (const key of this.#dirtyCycles) {
      const k = zKey(Z_CYCLE, 16);
      for (let i = 0; i < 16; i++) k[3 + i] = key.charCodeAt(i);
      const c = this.cycles.get(key);
      if (c === undefined) del(k); else put(k, enc.encode(JSON.stringify(cycleJson(c, this.#st))));
    }
    for (const id of this.#dirtyRules) {
      const k = zKey(Z_RULE, 4);
      new DataView(k.buffer).setUint32(3, id);
      const r = this.rules.get(id);
      if (r === undefined) del(k); else put(k, enc.encode(JSON.stringify(ruleJson(r))));
    }
    for (const a of this.#dirtyAlerts) {
      const k = zKey(Z_ALERT, 8);
      new DataView(k.buffer).setBigUint64(3, BigInt(a.seq));
      put(k, enc.encode(JSON.stringify(alertJson(a))));
    }
    this.#dirtyCycles.clear();
    for (const id of this.#dirtyRules) { const r = this.rules.get(id); if (r !== undefined) r.dirty = false; }
    this.#dirtyRules.clear();
    this.#dirtyAlerts = [];
  }

  /** One stored entry (key without the 'Z' ‖ app prefix bytes' meaning checked by the caller). */
  restoreEntry(key: Uint8Array, value: Uint8Array): void {
    const j = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>;
    const st = this.#st;
    const accountOf = (id: string): number => {
      const a = findAccountBig(st, BigInt(id));
      if (a < 0) throw new Error(`clearing restore: account ${id} is missing`);
      return a;
    };
    switch (key[2]) {
      case Z_CYCLE: {
        const id = BigInt(j.id as string);
        const clearing = accountOf(j.clearingAccountId as string);
        const c = new Cycle(id, keyOfBig(id), j.ledger as number, j.code as number, clearing, j.openedHeight as number);
        for (const m of j.members as string[]) {
          c.slotOf.set(accountOf(m), c.members.length);
          c.members.push(accountOf(m));
        }
        for (const cap of j.caps as (string | null)[]) c.caps.push(cap === null ? undefined : BigInt(cap));
        c.status = j.status as CycleStatus;
        c.delayUntilMs = j.delayUntilMs as number;
        c.closedHeight = j.closedHeight as number;
        c.closedTimeMs = j.closedTimeMs as number;
        if (j.report) c.report = reportFromJson(j.report as Record<string, unknown>);
        this.cycles.set(c.key, c);
        if (c.status === 'open') this.#openCycles++;
        break;
      }
      case Z_RULE: {
        const r: Rule = {
          ruleId: j.ruleId as number, ledger: j.ledger as number, code: j.code as number, tier: j.tier as number,
          account: j.accountId === '0' ? -1 : accountOf(j.accountId as string),
          accountId: BigInt(j.accountId as string),
          maxAmount: BigInt(j.maxAmount as string), maxLimbs: undefined, windowMs: j.windowMs as number,
          maxCount: j.maxCount as number, maxWindowAmount: BigInt(j.maxWindowAmount as string),
          height: j.height as number, windows: new Map(), window: undefined, dirty: false,
        };
        if (r.maxAmount !== 0n) r.maxLimbs = limbsOf(r.maxAmount, new Uint32Array(4));
        for (const [a, encoded, amounts] of j.windows as [number, string, string[] | null][]) {
          const times = windowTimes(encoded);
          const am = amounts === null ? undefined : amounts.map((x) => BigInt(x));
          const sum = am === undefined ? 0n : am.reduce((x, y) => x + y, 0n);
          const w: RuleWindow = { times, amounts: am, head: 0, sum };
          r.windows.set(a, w);
          if (r.account >= 0) r.window = w;
        }
        this.rules.set(r.ruleId, r);
        this.#index(r);
        break;
      }
      case Z_ALERT: {
        const a = alertFromJson(j);
        this.alerts.push(a);
        if (this.alerts.length > ALERTS_IN_MEMORY_MAX) this.alerts.shift();
        this.#alertSeq = Math.max(this.#alertSeq, a.seq + 1);
        break;
      }
      default: throw new Error(`clearing restore: unknown entry type ${key[2]}`);
    }
  }

  /** After the transfers are restored: rebuilds the cycles' obligation lists and the queues from them. */
  finishRestore(): void {
    const st = this.#st;
    const w = st.transfers.words;
    for (let t = 0, e = 0; t < st.transfers.count; t++, e += ENTRY_WORDS) {
      const status = w[e + T_STATUS];
      if (status === STATUS_OBLIGATION || status === STATUS_OBLIGATION_REMOVED) {
        const cycle = this.cycles.get(keyOfBig(wordsU128(w, e + T_PENDING_ID)));
        if (cycle === undefined) throw new Error('clearing restore: an obligation of an unknown cycle');
        const dr = accountAt(st, w, e + T_DEBIT);
        const cr = accountAt(st, w, e + T_CREDIT);
        cycle.push(t, cycle.slotOf.get(dr)!, cycle.slotOf.get(cr)!);
      } else if (status === STATUS_QUEUED) {
        const dr = accountAt(st, w, e + T_DEBIT);
        let q = this.queues.get(dr);
        if (q === undefined) { q = { items: [], head: 0, live: 0 }; this.queues.set(dr, q); }
        q.items.push(t);
        q.live++;
      }
    }
  }
}

function prune(win: RuleWindow, before: number): void {
  // Entries at times ≤ now − window have left the window.
  const amounts = win.amounts;
  while (win.head < win.times.length && win.times[win.head] <= before) {
    if (amounts !== undefined) win.sum -= amounts[win.head];
    win.head++;
  }
  if (win.head > 256 && win.head * 2 > win.times.length) {
    win.times.splice(0, win.head);
    amounts?.splice(0, win.head);
    win.head = 0;
  }
}

/** The u128 at `b[o..]` is above the four limbs `max`. */
function aboveLimbs(b: Uint8Array, o: number, max: Uint32Array): boolean {
  for (let k = 3; k >= 0; k--) {
    const w = u32(b, o + 4 * k);
    if (w !== max[k]) return w > max[k];
  }
  return false;
}

