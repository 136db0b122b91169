// Toll (ETC) settlement inside the deterministic state machine (docs/toll.md): versioned
// split rules, trips split issuer → road-section operators as one all-or-nothing unit, and
// the shared blacklist. Like the clearing app it uses no clock, no randomness and no
// iteration order that is not the chain's; money moves only through AppHost's app
// surface. A trip is one transfer entry (status toll_trip / toll_trip_flagged), so lookups by
// id, checkpoints and restore cover it unchanged; the app's own state ('Z' ‖ APP_TOLL,
// docs/storage.md) is the rule versions, the blacklist and the section table (each trip's
// sections, which with its sealed rule version give its legs again).

import {
  BL_ACCOUNT, BL_ACTION, BL_MODE, BL_VEHICLE, Kind, OFF_ID, OFF_KIND, ROLE_ADMIN, ROLE_OPERATOR, ROLE_REGULATOR,
  TP_CLASS, TP_ISSUER, TP_SECTION_COUNT, TP_SECTIONS, TP_TIME, TP_TOLL, TP_VEHICLE, TP_VERSION, TRU_ACTION,
  TRU_CODE, TRU_EFFECTIVE, TRU_LEDGER, TRU_MODE, TRU_OPERATOR, TRU_SECTION, TRU_SECTION_COUNT, TRU_VALUES,
  TRU_VERSION, isZero, u128, u16, u32, u64,
} from '../../codec/record.js';
import {
  A_CONTROLLER, A_ID, A_LEDGER, ENTRY_WORDS, STATUS_TOLL_TRIP, STATUS_TOLL_TRIP_FLAGGED, T_AMOUNT, T_DEBIT,
  T_PENDING_ID, T_STATUS, T_USER_DATA, wordsU128,
} from '../../codec/entries.js';
import { ResultCode as R } from '../../codec/results.js';
import type { AppHost } from '../host.js';
import {
  BLACKLIST_ADD_ACCOUNT, BLACKLIST_ADD_VEHICLE, BLACKLIST_FLAG, BLACKLIST_REFUSE, BLACKLIST_REMOVE_ACCOUNT,
  BLACKLIST_REMOVE_VEHICLE, MODE_FEE, MODE_SHARE, RULE_ACTIVATE, RULE_SECTION, SHARE_MAX, TOLL_CLASSES,
  TRIP_SECTIONS_MAX, splitShares,
} from './split.js';

/** Persistence namespace of this application under the store's 'Z' prefix (docs/storage.md). */
export const APP_TOLL = 2;
const Z_VERSION = 0x76;    // 'v' ‖ version u32 BE
const Z_BLACKLIST = 0x62;  // 'b' ‖ 1 vehicle (u64 BE) | 2 account (u128 BE)
const Z_ROWS = 0x74;       // 't' ‖ chunk u32 BE: ROWS_PER_CHUNK rows of the section table (the last one partial)
const ROWS_PER_CHUNK = 1024;

/** Rule versions a chain may hold, and sections one version may define. */
export const TOLL_VERSIONS_MAX = 4096;
export const TOLL_SECTIONS_MAX = 65_536;
/** Entries the blacklist may hold (vehicles + accounts). */
export const BLACKLIST_MAX = 1_000_000;


export interface TollSection {
  section: number;
  /** Operator account (index) and id. */
  operator: number;
  operatorId: bigint;
  /** Per vehicle class 1..16 (index class − 1): fee in minor units, or share in basis points; 0 = not served. */
  values: Uint32Array;
  height: number;
}

export interface RuleVersion {
  version: number;
  ledger: number;
  /** Set at activation. */
  code: number;
  mode: number;
  effectiveHeight: number;
  active: boolean;
  activatedHeight: number;
  sections: Map<number, TollSection>;
}

export interface BlacklistEntry { mode: number; height: number }

function keyOfU64(b: Uint8Array, o: number): bigint {
  return u64(b, o);
}

export class TollState {
  readonly #st: AppHost;
  readonly versions = new Map<number, RuleVersion>();
  /** Activated versions in activation order: versions and effective heights both increase. */
  readonly active: RuleVersion[] = [];
  readonly vehicles = new Map<bigint, BlacklistEntry>();
  /** Blacklisted accounts by account index. */
  readonly accounts = new Map<number, BlacklistEntry>();
  #dirtyVersions = new Set<number>();
  #dirtyVehicles = new Set<bigint>();
  #dirtyAccounts = new Set<number>();
  /**
   * The section table: one row of TRIP_SECTIONS_MAX u32 per trip, the sections it drove (a
   * trip's entry names its row in user_data word 2); rows below #rowsStored are in the store.
   */
  rows = new Uint32Array(4096);
  rowCount = 0;
  /** Undoes a #pushRow (one function for all trips: no closure per trip). */
  readonly #popRow = (): void => { this.rowCount--; };
  #rowsStored = 0;
  // Scratch for the trip being applied.
  readonly #sections = new Uint32Array(TRIP_SECTIONS_MAX);
  readonly #operators = new Int32Array(TRIP_SECTIONS_MAX);
  readonly #values = new Float64Array(TRIP_SECTIONS_MAX);
  readonly #parts = new Float64Array(TRIP_SECTIONS_MAX);
  readonly #amt = new Uint32Array(4);
  readonly #ud = new Uint32Array(4);

  constructor(state: AppHost) {
    this.#st = state;
  }

  apply(b: Uint8Array, o: number, index: number): number {
    switch (b[o + OFF_KIND]) {
      case Kind.toll_rule: return this.#rule(b, o, index);
      case Kind.trip: return this.#trip(b, o, index);
      case Kind.blacklist: return this.#blacklist(b, o, index);
    }
    throw new Error(`toll: record kind ${b[o + OFF_KIND]}`);
  }

  /** The version in force at block `height`: the activated one with the greatest effective height ≤ height. */
  inForceAt(height: number): RuleVersion | undefined {
    for (let i = this.active.length - 1; i >= 0; i--) {
      if (this.active[i].effectiveHeight <= height) return this.active[i];
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------
  // Rule versions.

  #rule(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const ledger = u32(b, o + TRU_LEDGER);
    const s = st.appSigner(b, o);
    if (s === undefined || ((s.roles & ROLE_ADMIN) === 0 && ((s.roles & ROLE_OPERATOR) === 0 || s.ledger !== ledger))) {
      return R.signer_not_authorized;
    }
    const code = st.appCheckRequest(b, o);
    if (code !== R.ok) return code;
    if (ledger === 0) return R.ledger_must_not_be_zero;
    if (u32(b, o + TRU_VERSION) === 0) return R.toll_rule_invalid;
    const action = b[o + TRU_ACTION];
    const result = action === RULE_SECTION ? this.#section(b, o, ledger)
      : action === RULE_ACTIVATE ? this.#activate(b, o, ledger) : R.toll_rule_invalid;
    if (result === R.ok) st.appRecordOp(b, o, index);
    return result;
  }

  #section(b: Uint8Array, o: number, ledger: number): number {
    const st = this.#st;
    if (b[o + TRU_MODE] !== 0 || u16(b, o + TRU_CODE) !== 0 || !isZero(b, o + TRU_EFFECTIVE, o + TRU_EFFECTIVE + 8) ||
        u32(b, o + TRU_SECTION_COUNT) !== 0 || u32(b, o + TRU_SECTION) === 0 ||
        isZero(b, o + TRU_VALUES, o + TRU_VALUES + 64)) {
      return R.toll_rule_invalid;
    }
    const versionNo = u32(b, o + TRU_VERSION);
    const section = u32(b, o + TRU_SECTION);
    const existing = this.versions.get(versionNo);
    if (existing !== undefined && existing.active) return R.toll_rule_version_sealed;
    if (existing !== undefined && existing.ledger !== ledger) return R.toll_rule_ledger_mismatch;
    const operator = st.findAccount(b, o + TRU_OPERATOR);
    if (operator < 0) return R.toll_operator_account_not_found;
    if (st.accounts.words[operator * ENTRY_WORDS + A_LEDGER] !== ledger) return R.toll_rule_ledger_mismatch;
    if (existing !== undefined && existing.sections.has(section)) return R.toll_section_exists;
    const full = existing === undefined ? this.versions.size >= TOLL_VERSIONS_MAX
      : existing.sections.size >= TOLL_SECTIONS_MAX;
    if (full) {
      return R.toll_rules_full;
    }
    const v: RuleVersion = existing ?? {
      version: versionNo, ledger, code: 0, mode: 0, effectiveHeight: 0, active: false, activatedHeight: -1,
      sections: new Map(),
    };
    const values = new Uint32Array(TOLL_CLASSES);
    for (let c = 0; c < TOLL_CLASSES; c++) values[c] = u32(b, o + TRU_VALUES + 4 * c);
    v.sections.set(section, {
      section, operator, operatorId: u128(b, o + TRU_OPERATOR), values, height: st.height,
    });
    if (existing === undefined) this.versions.set(versionNo, v);
    this.#dirtyVersions.add(versionNo);
    st.appOnUndo(() => {
      v.sections.delete(section);
      if (existing === undefined) this.versions.delete(versionNo);
    });
    return R.ok;
  }

  #activate(b: Uint8Array, o: number, ledger: number): number {
    const st = this.#st;
    if (u32(b, o + TRU_SECTION) !== 0 || !isZero(b, o + TRU_OPERATOR, o + TRU_OPERATOR + 16) ||
        !isZero(b, o + TRU_VALUES, o + TRU_VALUES + 64)) {
      return R.toll_rule_invalid;
    }
    const mode = b[o + TRU_MODE];
    if (mode !== MODE_FEE && mode !== MODE_SHARE) return R.toll_rule_invalid;
    if (u16(b, o + TRU_CODE) === 0) return R.code_must_not_be_zero;
    const v = this.versions.get(u32(b, o + TRU_VERSION));
    if (v === undefined) return R.toll_rule_not_found;
    if (v.active) return R.toll_rule_version_sealed;
    if (v.ledger !== ledger) return R.toll_rule_ledger_mismatch;
    if (u32(b, o + TRU_SECTION_COUNT) !== v.sections.size) return R.toll_rule_incomplete;
    if (mode === MODE_SHARE) {
      for (const s of v.sections.values()) for (const x of s.values) if (x > SHARE_MAX) return R.toll_rule_invalid;
    }
    const last = this.active[this.active.length - 1];
    if (last !== undefined && v.version <= last.version) return R.toll_rule_version_not_increasing;
    const effective = u64(b, o + TRU_EFFECTIVE);
    if (effective <= BigInt(st.height)) return R.toll_rule_height_not_future;
    if (last !== undefined && effective <= BigInt(last.effectiveHeight)) return R.toll_rule_height_overlaps;
    if (effective > BigInt(Number.MAX_SAFE_INTEGER)) return R.toll_rule_invalid;
    v.active = true;
    v.mode = mode;
    v.code = u16(b, o + TRU_CODE);
    v.effectiveHeight = Number(effective);
    v.activatedHeight = st.height;
    this.active.push(v);
    this.#dirtyVersions.add(v.version);
    st.appOnUndo(() => {
      this.active.pop();
      v.active = false; v.mode = 0; v.code = 0; v.effectiveHeight = 0; v.activatedHeight = -1;
    });
    return R.ok;
  }

  // -------------------------------------------------------------------------------------
  // Trips.

  /** The trip's shape: sections (into #sections), class, toll. */
  #checkTripShape(b: Uint8Array, o: number): number {
    if (isZero(b, o + OFF_ID, o + OFF_ID + 16)) return R.id_must_not_be_zero;
    let max = 0xff;
    for (let i = 0; i < 16; i++) max &= b[o + OFF_ID + i];
    if (max === 0xff) return R.id_must_not_be_int_max;
    const n = b[o + TP_SECTION_COUNT];
    if (n === 0 || n > TRIP_SECTIONS_MAX) return R.trip_sections_invalid;
    const sec = this.#sections;
    for (let k = 0; k < TRIP_SECTIONS_MAX; k++) {
      const id = u32(b, o + TP_SECTIONS + 4 * k);
      if (k >= n) {
        if (id !== 0) return R.trip_sections_invalid;
        continue;
      }
      if (id === 0) return R.trip_sections_invalid;
      for (let j = 0; j < k; j++) if (sec[j] === id) return R.trip_sections_invalid;
      sec[k] = id;
    }
    const cls = b[o + TP_CLASS];
    if (cls === 0 || cls > TOLL_CLASSES) return R.trip_class_invalid;
    if (u32(b, o + TP_TOLL) === 0) return R.trip_amount_must_not_be_zero;
    return R.ok;
  }

  #trip(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const shape = this.#checkTripShape(b, o);
    if (shape !== R.ok) return shape;
    const existing = st.findTransfer(b, o + OFF_ID);
    if (existing >= 0) return this.#compareTrip(existing, b, o);
    const v = this.inForceAt(st.height);
    if (v === undefined) return R.trip_no_rule_in_force;
    if (u32(b, o + TP_VERSION) !== v.version) return R.trip_rule_version_mismatch;
    const issuer = st.findAccount(b, o + TP_ISSUER);
    if (issuer < 0) return R.trip_issuer_not_found;
    const aw = st.accounts.words;
    if (aw[issuer * ENTRY_WORDS + A_LEDGER] !== v.ledger) return R.trip_issuer_ledger_mismatch;
    // The gateway (an operator key of the ledger) or the issuer's own controller key.
    const s = st.appSigner(b, o);
    if (s === undefined || !(((s.roles & ROLE_OPERATOR) !== 0 && s.ledger === v.ledger) ||
        aw[issuer * ENTRY_WORDS + A_CONTROLLER] === s.index)) {
      return R.signer_not_authorized;
    }
    if (st.halted.has(v.ledger)) return R.ledger_halted;
    const n = b[o + TP_SECTION_COUNT];
    const code = this.#priceLegs(v, b[o + TP_CLASS], issuer, n);
    if (code !== R.ok) return code;
    let flagged = false;
    if (this.vehicles.size !== 0 || this.accounts.size !== 0) {
      const bl = this.#blacklisted(b, o, issuer, n);
      if (bl === BLACKLIST_REFUSE_VEHICLE) return R.trip_vehicle_blacklisted;
      if (bl === BLACKLIST_REFUSE_ACCOUNT) return R.trip_account_blacklisted;
      flagged = bl === BLACKLIST_FLAGGED;
    }
    const toll = u32(b, o + TP_TOLL);
    if (v.mode === MODE_FEE) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += this.#values[k];
      if (sum !== toll) return R.trip_amount_mismatch;
      this.#parts.set(this.#values);
    } else {
      splitShares(toll, this.#values, n, this.#parts);
    }
    const pre = this.#precheck(issuer, n, toll);
    if (pre !== R.ok) return pre;
    this.#settle(b, o, index, v, issuer, n, flagged);
    return R.ok;
  }

  /**
   * The whole trip is checked before anything moves, so its legs then cannot fail (one
   * all-or-nothing unit without an undo log): each move passes appCheckMove with the whole
   * toll — exact for the issuer, who is debited the toll; for an operator (credited its
   * part) it only adds the toll-sized overflow margin.
   */
  #precheck(issuer: number, n: number, toll: number): number {
    const st = this.#st;
    const amt = this.#amt;
    amt[0] = toll; amt[1] = 0; amt[2] = 0; amt[3] = 0;
    for (let k = 0; k < n; k++) {
      const check = st.appCheckMove(issuer, this.#operators[k], amt);
      if (check !== R.ok) return check;
    }
    return R.ok;
  }

  /** Each traversed section's operator and value for the class (into #operators, #values). */
  #priceLegs(v: RuleVersion, cls: number, issuer: number, n: number): number {
    for (let k = 0; k < n; k++) {
      const s = v.sections.get(this.#sections[k]);
      if (s === undefined) return R.trip_section_unknown;
      const value = s.values[cls - 1];
      if (value === 0) return R.trip_class_not_served;
      if (s.operator === issuer) return R.trip_issuer_is_operator;
      this.#operators[k] = s.operator;
      this.#values[k] = value;
    }
    return R.ok;
  }

  /**
   * The trip's one transfer entry (issuer → the first section's operator, the toll), its row
   * of sections, and the moves of the parts issuer → operators (#precheck passed: nothing
   * here fails).
   */
  #settle(b: Uint8Array, o: number, index: number, v: RuleVersion, issuer: number, n: number, flagged: boolean): void {
    const st = this.#st;
    const amt = this.#amt;
    const ud = this.#ud;
    const row = this.#pushRow(n);
    ud[0] = v.version;
    ud[1] = (b[o + TP_CLASS] | (n << 8)) >>> 0;
    ud[2] = row;
    ud[3] = 0;
    amt[0] = u32(b, o + TP_TOLL);
    const t = st.appNewEntry(b.subarray(o + OFF_ID, o + OFF_ID + 16), issuer, this.#operators[0], amt, ud, v.ledger,
      v.code, 0, flagged ? STATUS_TOLL_TRIP_FLAGGED : STATUS_TOLL_TRIP, index);
    if (t < 0) throw new Error('toll: the trip id was taken after the check');
    const w = st.transfers.words;
    const e = t * ENTRY_WORDS + T_PENDING_ID;
    w[e] = u32(b, o + TP_VEHICLE); w[e + 1] = u32(b, o + TP_VEHICLE + 4);
    w[e + 2] = u32(b, o + TP_TIME); w[e + 3] = u32(b, o + TP_TIME + 4);
    for (let k = 0; k < n; k++) {
      amt[0] = this.#parts[k];
      st.appMove(issuer, this.#operators[k], amt);
    }
  }

  /** Appends the trip's sections (#sections[0..n)) as a row of the section table; returns its number. */
  #pushRow(n: number): number {
    const row = this.rowCount;
    if ((row + 1) * TRIP_SECTIONS_MAX > this.rows.length) {
      const next = new Uint32Array(Math.max(4096, this.rows.length * 2));
      next.set(this.rows);
      this.rows = next;
    }
    const at = row * TRIP_SECTIONS_MAX;
    this.rows.fill(0, at, at + TRIP_SECTIONS_MAX);
    for (let k = 0; k < n; k++) this.rows[at + k] = this.#sections[k];
    this.rowCount++;
    if (this.#st.inChain) this.#st.appOnUndo(this.#popRow);
    return row;
  }

  /** The same trip id again: `exists` when the trip it names has every field of this record. */
  #compareTrip(t: number, b: Uint8Array, o: number): number {
    const w = this.#st.transfers.words;
    const e = t * ENTRY_WORDS;
    const status = w[e + T_STATUS];
    if (status !== STATUS_TOLL_TRIP && status !== STATUS_TOLL_TRIP_FLAGGED) return R.exists_with_different_fields;
    const n = b[o + TP_SECTION_COUNT];
    const same = w[e + T_USER_DATA] === u32(b, o + TP_VERSION) &&
      w[e + T_USER_DATA + 1] === ((b[o + TP_CLASS] | (n << 8)) >>> 0) &&
      w[e + T_AMOUNT] === u32(b, o + TP_TOLL) && wordsU128(w, e + T_DEBIT) === u128(b, o + TP_ISSUER) &&
      w[e + T_PENDING_ID] === u32(b, o + TP_VEHICLE) && w[e + T_PENDING_ID + 1] === u32(b, o + TP_VEHICLE + 4) &&
      w[e + T_PENDING_ID + 2] === u32(b, o + TP_TIME) && w[e + T_PENDING_ID + 3] === u32(b, o + TP_TIME + 4);
    if (!same) return R.exists_with_different_fields;
    const at = w[e + T_USER_DATA + 2] * TRIP_SECTIONS_MAX;
    for (let k = 0; k < n; k++) if (this.rows[at + k] !== this.#sections[k]) return R.exists_with_different_fields;
    return R.exists;
  }

  /** The sections of the trip whose entry is transfer `t` (a toll_trip entry). */
  tripSections(t: number): number[] {
    const w = this.#st.transfers.words;
    const e = t * ENTRY_WORDS;
    const at = w[e + T_USER_DATA + 2] * TRIP_SECTIONS_MAX;
    return Array.from(this.rows.subarray(at, at + ((w[e + T_USER_DATA + 1] >>> 8) & 0xff)));
  }

  // -------------------------------------------------------------------------------------
  // The blacklist.

  /** Whether the trip's vehicle, issuer or an operator is listed: refuse vehicle/account, flagged, or 0. */
  #blacklisted(b: Uint8Array, o: number, issuer: number, n: number): number {
    let flagged = false;
    if (this.vehicles.size !== 0) {
      const e = this.vehicles.get(keyOfU64(b, o + TP_VEHICLE));
      if (e !== undefined) {
        if (e.mode === BLACKLIST_REFUSE) return BLACKLIST_REFUSE_VEHICLE;
        flagged = true;
      }
    }
    if (this.accounts.size !== 0) {
      for (let k = -1; k < n; k++) {
        const e = this.accounts.get(k < 0 ? issuer : this.#operators[k]);
        if (e === undefined) continue;
        if (e.mode === BLACKLIST_REFUSE) return BLACKLIST_REFUSE_ACCOUNT;
        flagged = true;
      }
    }
    return flagged ? BLACKLIST_FLAGGED : 0;
  }

  #blacklist(b: Uint8Array, o: number, index: number): number {
    const st = this.#st;
    const code = st.appCheckSignedRequest(b, o, ROLE_ADMIN | ROLE_REGULATOR | ROLE_OPERATOR);
    if (code !== R.ok) return code;
    const action = b[o + BL_ACTION];
    const mode = b[o + BL_MODE];
    const add = action === BLACKLIST_ADD_VEHICLE || action === BLACKLIST_ADD_ACCOUNT;
    const vehicle = action === BLACKLIST_ADD_VEHICLE || action === BLACKLIST_REMOVE_VEHICLE;
    if (action < BLACKLIST_ADD_VEHICLE || action > BLACKLIST_REMOVE_ACCOUNT) return R.blacklist_invalid;
    if (add ? mode !== BLACKLIST_REFUSE && mode !== BLACKLIST_FLAG : mode !== 0) return R.blacklist_invalid;
    const vehicleZero = isZero(b, o + BL_VEHICLE, o + BL_VEHICLE + 8);
    const accountZero = isZero(b, o + BL_ACCOUNT, o + BL_ACCOUNT + 16);
    if (vehicle ? vehicleZero || !accountZero : !vehicleZero || accountZero) return R.blacklist_invalid;
    let result: number;
    if (vehicle) {
      result = this.#listEdit(this.vehicles, this.#dirtyVehicles, keyOfU64(b, o + BL_VEHICLE), add, mode);
    } else {
      const a = st.findAccount(b, o + BL_ACCOUNT);
      if (a < 0) return R.account_not_found;
      result = this.#listEdit(this.accounts, this.#dirtyAccounts, a, add, mode);
    }
    if (result === R.ok) st.appRecordOp(b, o, index);
    return result;
  }

  #listEdit<K>(map: Map<K, BlacklistEntry>, dirty: Set<K>, key: K, add: boolean, mode: number): number {
    const st = this.#st;
    const was = map.get(key);
    if (add && was !== undefined) return R.blacklist_entry_exists;
    if (!add && was === undefined) return R.blacklist_entry_not_found;
    if (add && this.vehicles.size + this.accounts.size >= BLACKLIST_MAX) return R.blacklist_full;
    if (add) map.set(key, { mode, height: st.height }); else map.delete(key);
    dirty.add(key);
    st.appOnUndo(() => { if (was === undefined) map.delete(key); else map.set(key, was); });
    return R.ok;
  }

  // -------------------------------------------------------------------------------------
  // Persistence: 'Z' ‖ APP_TOLL ‖ type ‖ key (docs/storage.md), written with checkpoints.

  checkpointInto(put: (key: Uint8Array, value: Uint8Array) => void, del: (key: Uint8Array) => void): void {
    const enc = new TextEncoder();
    for (const no of this.#dirtyVersions) {
      const k = zKey(Z_VERSION, 4);
      new DataView(k.buffer).setUint32(3, no);
      const v = this.versions.get(no);
      if (v === undefined) del(k); else put(k, enc.encode(JSON.stringify(versionJson(v))));
    }
    for (const id of this.#dirtyVehicles) {
      const k = zKey(Z_BLACKLIST, 9);
      k[3] = 1;
      new DataView(k.buffer).setBigUint64(4, id);
      const e = this.vehicles.get(id);
      if (e === undefined) del(k); else put(k, enc.encode(JSON.stringify(e)));
    }
    for (const a of this.#dirtyAccounts) {
      const k = zKey(Z_BLACKLIST, 17);
      k[3] = 2;
      const id = wordsU128(this.#st.accounts.words, a * ENTRY_WORDS + A_ID);
      new DataView(k.buffer).setBigUint64(4, id >> 64n);
      new DataView(k.buffer).setBigUint64(12, id & 0xffffffffffffffffn);
      const e = this.accounts.get(a);
      if (e === undefined) del(k); else put(k, enc.encode(JSON.stringify(e)));
    }
    this.#dirtyVersions.clear();
    this.#dirtyVehicles.clear();
    this.#dirtyAccounts.clear();
    this.#checkpointRows(put);
  }

  /** The chunks of the section table with rows added since the last checkpoint (a partial last chunk rewritten). */
  #checkpointRows(put: (key: Uint8Array, value: Uint8Array) => void): void {
    const words = ROWS_PER_CHUNK * TRIP_SECTIONS_MAX;
    for (let c = Math.floor(this.#rowsStored / ROWS_PER_CHUNK); c * ROWS_PER_CHUNK < this.rowCount; c++) {
      const k = zKey(Z_ROWS, 4);
      new DataView(k.buffer).setUint32(3, c);
      const end = Math.min(this.rowCount * TRIP_SECTIONS_MAX, (c + 1) * words);
      put(k, new Uint8Array(this.rows.slice(c * words, end).buffer));
    }
    this.#rowsStored = this.rowCount;
  }

  restoreEntry(key: Uint8Array, value: Uint8Array): void {
    const dv = new DataView(key.buffer, key.byteOffset, key.length);
    if (key[2] === Z_ROWS) {
      const first = dv.getUint32(3) * ROWS_PER_CHUNK;
      const n = value.length / (4 * TRIP_SECTIONS_MAX);
      while ((first + n) * TRIP_SECTIONS_MAX > this.rows.length) {
        const next = new Uint32Array(this.rows.length * 2);
        next.set(this.rows);
        this.rows = next;
      }
      this.rows.set(new Uint32Array(value.slice().buffer), first * TRIP_SECTIONS_MAX);
      this.rowCount = Math.max(this.rowCount, first + n);
      return;
    }
    const j = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown>;
    if (key[2] === Z_VERSION) {
      const v = versionFromJson(j, (id) => this.#accountOf(id));
      this.versions.set(v.version, v);
    } else if (key[2] === Z_BLACKLIST && key[3] === 1) {
      this.vehicles.set(dv.getBigUint64(4), { mode: j.mode as number, height: j.height as number });
    } else if (key[2] === Z_BLACKLIST && key[3] === 2) {
      const id = (dv.getBigUint64(4) << 64n) | dv.getBigUint64(12);
      this.accounts.set(this.#accountOf(id.toString()), { mode: j.mode as number, height: j.height as number });
    } else {
      throw new Error(`toll restore: unknown entry type ${key[2]}`);
    }
  }

  finishRestore(): void {
    this.#rowsStored = this.rowCount;
    const active = [...this.versions.values()].filter((v) => v.active).sort((x, y) => x.version - y.version);
    this.active.length = 0;
    this.active.push(...active);
  }

  #accountOf(id: string): number {
    const v = BigInt(id);
    const w = (k: number): number => Number((v >> BigInt(32 * k)) & 0xffffffffn);
    const a = this.#st.accountIndex.find(w(0), w(1), w(2), w(3));
    if (a < 0) throw new Error(`toll restore: account ${id} is missing`);
    return a;
  }
}

const BLACKLIST_REFUSE_VEHICLE = 1;
const BLACKLIST_REFUSE_ACCOUNT = 2;
const BLACKLIST_FLAGGED = 3;

function zKey(type: number, idBytes: number): Uint8Array {
  const k = new Uint8Array(3 + idBytes);
  k[0] = 0x5a; // 'Z'
  k[1] = APP_TOLL;
  k[2] = type;
  return k;
}

function versionJson(v: RuleVersion): Record<string, unknown> {
  const sections = [...v.sections.values()].sort((x, y) => x.section - y.section).map((s) => ({
    section: s.section, operatorAccountId: s.operatorId.toString(), values: Array.from(s.values), height: s.height,
  }));
  return {
    version: v.version, ledger: v.ledger, code: v.code, mode: v.mode, effectiveHeight: v.effectiveHeight,
    active: v.active, activatedHeight: v.activatedHeight, sections,
  };
}

function versionFromJson(j: Record<string, unknown>, accountOf: (id: string) => number): RuleVersion {
  const v: RuleVersion = {
    version: j.version as number, ledger: j.ledger as number, code: j.code as number, mode: j.mode as number,
    effectiveHeight: j.effectiveHeight as number, active: j.active as boolean,
    activatedHeight: j.activatedHeight as number, sections: new Map(),
  };
  for (const s of j.sections as { section: number; operatorAccountId: string; values: number[]; height: number }[]) {
    v.sections.set(s.section, {
      section: s.section, operator: accountOf(s.operatorAccountId), operatorId: BigInt(s.operatorAccountId),
      values: Uint32Array.from(s.values), height: s.height,
    });
  }
  return v;
}
