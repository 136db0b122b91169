// The toll application in the state machine (docs/toll.md): rule versions, trips split
// issuer → operators, the blacklist; every result code; splits against an independent model
// on random rule tables with rule changes mid-stream; Σ parts = toll; zero float.
import { describe, expect, it } from 'vitest';
import { bareState, rec, FLAG_LINKED } from './helpers/ledger.js';
import { ResultCode as R } from '../dist/src/codec/results.js';
import { readTransfer } from '../dist/src/codec/entries.js';
import { packU32x16, splitTrip } from '../dist/src/apps/toll/sdk.js';
import { tripView } from '../dist/src/apps/toll/query.js';

type Fx = ReturnType<typeof bareState>;
const ISSUERS = [100n, 101n];
const OPS = [200n, 201n, 202n, 203n, 204n, 205n];
const CENTRE = 300n; // the provincial clearing centre's account: the design moves nothing through it

function idBytes(id: bigint): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((id >> BigInt(8 * i)) & 0xffn);
  return b;
}
/** [debits posted, credits posted] of account `id`. */
function bal(fx: Fx, id: bigint): [bigint, bigint] {
  const i = fx.state.findAccount(idBytes(id), 0);
  const e = fx.state.accounts.entry(i);
  const rd = (o: number) => { let v = 0n; for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(e[o + k]); return v; };
  return [rd(32), rd(64)];
}

/** Issuers 100, 101 (alice), operators 200..205 (bob), the centre 300 (admin), all on ledger 1; 400 on ledger 2. */
function world(): Fx {
  const fx = bareState();
  const { alice, bob, admin, apply } = fx;
  const ca = (id: bigint, by: typeof alice, ledger = 1) => rec({ kind: 'create_account', id, ledger, code: 1, controller: by.keyId }, by);
  const codes = apply([...ISSUERS.map((id) => ca(id, alice)), ...OPS.map((id) => ca(id, bob)), ca(CENTRE, admin), ca(400n, bob, 2)]);
  expect(codes.every((c) => c === 0)).toBe(true);
  return fx;
}

let nextId = 10_000n;
const section = (fx: Fx, version: number, s: number, op: bigint, values: number[], extra: Record<string, unknown> = {}) =>
  rec({ kind: 'toll_rule', id: nextId++, ruleVersion: version, action: 1, ledger: 1, section: s, operatorAccountId: op, classValues: packU32x16(values), ...extra } as never, fx.operator);
const activate = (fx: Fx, version: number, effectiveHeight: number, sectionCount: number, mode = 1, extra: Record<string, unknown> = {}) =>
  rec({ kind: 'toll_rule', id: nextId++, ruleVersion: version, action: 2, ledger: 1, mode, code: 7, effectiveHeight: BigInt(effectiveHeight), sectionCount, ...extra } as never, fx.operator);
const trip = (fx: Fx, f: { id?: bigint; issuer?: bigint; toll: number; version?: number; cls?: number; sections: number[]; vehicle?: bigint; time?: bigint }, by = fx.operator) =>
  rec({ kind: 'trip', id: f.id ?? nextId++, issuerAccountId: f.issuer ?? 100n, toll: f.toll, ruleVersion: f.version ?? 1, vehicleClass: f.cls ?? 1, sectionCount: f.sections.length, sections: packU32x16(f.sections), vehicleId: f.vehicle ?? 77n, tripTimeMs: f.time ?? 5n } as never, by);

/** Version 1 (fee mode), sections 1..6 → operators 200..205; class c on section s costs s·100 + c fen. In force from the next block. */
function tolled(): Fx {
  const fx = world();
  const recs = OPS.map((op, i) => section(fx, 1, i + 1, op, Array.from({ length: 16 }, (_, c) => (i + 1) * 100 + c + 1)));
  expect(fx.apply(recs)).toEqual(recs.map(() => 0));
  expect(fx.apply([activate(fx, 1, fx.state.height + 2, 6)])).toEqual([R.ok]);
  return fx;
}
const fee = (s: number, cls: number) => s * 100 + cls;

function snapshot(fx: Fx): string {
  return JSON.stringify([fx.state.transfers.count, ...[...ISSUERS, ...OPS, CENTRE].map((id) => bal(fx, id).map(String))]);
}

describe('toll: a trip is split issuer → operators', () => {
  it('fee mode: each section its fee, one trip entry, Σ parts = toll', () => {
    const fx = tolled();
    const toll = fee(1, 2) + fee(3, 2) + fee(4, 2);
    expect(fx.apply([trip(fx, { id: 5000n, toll, cls: 2, sections: [1, 3, 4] })])).toEqual([R.ok]);
    expect(bal(fx, 100n)).toEqual([BigInt(toll), 0n]);
    expect(bal(fx, 200n)).toEqual([0n, BigInt(fee(1, 2))]);
    expect(bal(fx, 202n)).toEqual([0n, BigInt(fee(3, 2))]);
    expect(bal(fx, 203n)).toEqual([0n, BigInt(fee(4, 2))]);
    expect(bal(fx, CENTRE)).toEqual([0n, 0n]);
    const entry = readTransfer(fx.state.transfers.words, fx.state.findTransfer(idBytes(5000n), 0));
    expect(entry).toMatchObject({ id: 5000n, debitAccountId: 100n, creditAccountId: 200n, amount: BigInt(toll), code: 7, ledger: 1, status: 'toll_trip' });
    const view = tripView(fx.state, 5000n)!;
    expect(view).toMatchObject({ toll, ruleVersion: 1, vehicleClass: 2, vehicleId: 77n, tripTimeMs: 5n, flagged: false });
    expect(view.legs).toEqual([[1, 200n, fee(1, 2)], [3, 202n, fee(3, 2)], [4, 203n, fee(4, 2)]]
      .map(([section, operatorAccountId, amount]) => ({ section, operatorAccountId, amount: BigInt(amount) })));
  });
  it('the same trip again is exists; the same id with other fields is exists_with_different_fields', () => {
    const fx = tolled();
    const toll = fee(1, 1) + fee(2, 1);
    const t = trip(fx, { id: 5001n, toll, sections: [1, 2] });
    expect(fx.apply([t])).toEqual([R.ok]);
    const before = snapshot(fx);
    expect(fx.apply([t])).toEqual([R.exists]);
    expect(fx.apply([trip(fx, { id: 5001n, toll, sections: [1, 2], vehicle: 78n })])).toEqual([R.exists_with_different_fields]);
    expect(fx.apply([trip(fx, { id: 5001n, toll: fee(1, 1) + fee(3, 1), sections: [1, 3] })])).toEqual([R.exists_with_different_fields]);
    expect(snapshot(fx)).toBe(before);
  });
  it('share mode: basis points, the largest remainder takes the leftover fen', () => {
    const fx = world();
    // Weights 3333, 3333, 3334 per class 1 on sections 1..3.
    const recs = [3333, 3333, 3334].map((w, i) => section(fx, 1, i + 1, OPS[i], [w]));
    expect(fx.apply(recs)).toEqual([0, 0, 0]);
    expect(fx.apply([activate(fx, 1, fx.state.height + 2, 3, 2)])).toEqual([R.ok]);
    fx.apply([]);
    expect(fx.apply([trip(fx, { toll: 100, sections: [1, 2, 3] })])).toEqual([R.ok]);
    // 33.33 + 33.33 + 33.34 → 33, 33, 33 and the leftover fen to the largest remainder (section 3: 0.34).
    expect([bal(fx, 200n)[1], bal(fx, 201n)[1], bal(fx, 202n)[1]]).toEqual([33n, 33n, 34n]);
  });
  it('a trip of a linked chain that fails leaves nothing behind', () => {
    const fx = tolled();
    fx.apply([]);
    const before = snapshot(fx);
    const t = trip(fx, { toll: fee(1, 1), sections: [1] });
    t[2] |= FLAG_LINKED;
    const bad = rec({ kind: 'transfer', id: 9n, debitAccountId: 100n, creditAccountId: 999n, amount: 1n, ledger: 1, code: 1 }, fx.alice);
    expect(fx.apply([t, bad])).toEqual([R.linked_event_failed, R.credit_account_not_found]);
    expect(snapshot(fx)).toBe(before);
  });
});

describe('toll: bad trips are refused with a named code and change nothing', () => {
  const ok = { toll: fee(1, 1) + fee(2, 1), sections: [1, 2] };
  it.each([
    ['unknown section', { toll: fee(1, 1) + 7, sections: [1, 9] }, R.trip_section_unknown],
    ['wrong amount', { ...ok, toll: ok.toll + 1 }, R.trip_amount_mismatch],
    ['zero toll', { ...ok, toll: 0 }, R.trip_amount_must_not_be_zero],
    ['wrong rule version', { ...ok, version: 2 }, R.trip_rule_version_mismatch],
    ['no sections', { ...ok, sections: [] }, R.trip_sections_invalid],
    ['a section twice', { toll: 2 * fee(1, 1), sections: [1, 1] }, R.trip_sections_invalid],
    ['section id 0', { ...ok, sections: [1, 0] }, R.trip_sections_invalid],
    ['class 0', { ...ok, cls: 0 }, R.trip_class_invalid],
    ['class 17', { ...ok, cls: 17 }, R.trip_class_invalid],
    ['unknown issuer', { ...ok, issuer: 999n }, R.trip_issuer_not_found],
    ['issuer on another ledger', { ...ok, issuer: 400n }, R.trip_issuer_ledger_mismatch],
    ['issuer is an operator', { ...ok, issuer: 200n }, R.trip_issuer_is_operator],
    ['id zero', { ...ok, id: 0n }, R.id_must_not_be_zero],
    ['id max', { ...ok, id: (1n << 128n) - 1n }, R.id_must_not_be_int_max],
  ])('%s', (_n, f, code) => {
    const fx = tolled();
    fx.apply([]);
    const before = snapshot(fx);
    expect(fx.apply([trip(fx, f as never)])).toEqual([code]);
    expect(snapshot(fx)).toBe(before);
  });
  it('sections beyond the count must be zero', () => {
    const fx = tolled();
    fx.apply([]);
    const t = trip(fx, ok);
    t[105] = 1; // count 1, but a second section id follows
    expect(fx.apply([t])).toEqual([R.trip_sections_invalid]);
  });
  it('no rule in force yet; then in force from its effective height', () => {
    const fx = world();
    expect(fx.apply([trip(fx, ok)])).toEqual([R.trip_no_rule_in_force]);
    expect(fx.apply([section(fx, 1, 1, 200n, [fee(1, 1)]), section(fx, 1, 2, 201n, [fee(2, 1)])])).toEqual([0, 0]);
    const h = fx.state.height;
    expect(fx.apply([activate(fx, 1, h + 3, 2)])).toEqual([R.ok]);
    expect(fx.apply([trip(fx, ok)])).toEqual([R.trip_no_rule_in_force]); // h + 2
    expect(fx.apply([trip(fx, ok)])).toEqual([R.ok]);                    // h + 3
  });
  it('class not served; signer not the gateway nor the issuer', () => {
    const fx = world();
    expect(fx.apply([section(fx, 1, 1, 200n, [fee(1, 1), 0, 5])])).toEqual([0]);
    expect(fx.apply([activate(fx, 1, fx.state.height + 2, 1)])).toEqual([R.ok]);
    fx.apply([]);
    expect(fx.apply([trip(fx, { toll: 5, cls: 2, sections: [1] })])).toEqual([R.trip_class_not_served]);
    expect(fx.apply([trip(fx, { toll: fee(1, 1), sections: [1] }, fx.bob)])).toEqual([R.signer_not_authorized]);
    expect(fx.apply([trip(fx, { toll: fee(1, 1), sections: [1] }, fx.alice)])).toEqual([R.ok]); // the issuer's controller
  });
  it('the issuer short of funds (debits_must_not_exceed_credits): nothing moves, no leg is left', () => {
    const fx = tolled();
    expect(fx.apply([rec({ kind: 'create_account', id: 110n, ledger: 1, code: 1, flags: 2, controller: fx.alice.keyId }, fx.alice)])).toEqual([0]);
    fx.apply([rec({ kind: 'transfer', id: 1n, debitAccountId: 205n, creditAccountId: 110n, amount: BigInt(fee(1, 1) + 1), ledger: 1, code: 1 }, fx.operator)]);
    const before = snapshot(fx);
    const t = trip(fx, { id: 6000n, issuer: 110n, ...ok });
    expect(fx.apply([t])).toEqual([R.exceeds_credits]);
    expect(snapshot(fx)).toBe(before);
    expect(fx.state.findTransfer(idBytes(6000n), 0)).toBe(-1);
  });
  it('a trip id taken by a transfer: exists_with_different_fields, nothing moves', () => {
    const fx = tolled();
    fx.apply([rec({ kind: 'transfer', id: 7000n, debitAccountId: 205n, creditAccountId: 100n, amount: 1n, ledger: 1, code: 1 }, fx.operator)]);
    const before = snapshot(fx);
    expect(fx.apply([trip(fx, { id: 7000n, ...ok })])).toEqual([R.exists_with_different_fields]);
    expect(snapshot(fx)).toBe(before);
  });
  it('a frozen operator account refuses the whole trip', () => {
    const fx = tolled();
    expect(fx.apply([rec({ kind: 'freeze_account', id: 8000n, accountId: 201n }, fx.regulator)])).toEqual([0]);
    const before = snapshot(fx);
    expect(fx.apply([trip(fx, ok)])).toEqual([R.credit_account_frozen]);
    expect(snapshot(fx)).toBe(before);
  });
});

describe('toll: rule versions', () => {
  it('every refusal of a rule record has its code', () => {
    const fx = world();
    const h = () => fx.state.height;
    expect(fx.apply([section(fx, 1, 1, 200n, [1])])).toEqual([R.ok]);
    expect(fx.apply([
      section(fx, 1, 1, 201n, [1]),                                   // the same section twice
      section(fx, 1, 2, 999n, [1]),                                   // unknown operator account
      section(fx, 1, 2, 400n, [1]),                                   // operator on another ledger
      section(fx, 0, 2, 201n, [1]),                                   // version 0
      section(fx, 1, 2, 201n, []),                                    // no class priced
      section(fx, 1, 0, 201n, [1]),                                   // section 0
      section(fx, 1, 2, 201n, [1], { mode: 1 }),                      // activation fields in a section record
      activate(fx, 1, h() + 5, 2),                                    // count ≠ sections defined
      activate(fx, 2, h() + 5, 1),                                    // unknown version
      activate(fx, 1, h() + 5, 1, 3),                                 // mode 3
      activate(fx, 1, h() + 5, 1, 1, { code: 0 }),                    // code 0
      activate(fx, 1, 1, 1),                                          // not in the future
      rec({ kind: 'toll_rule', id: nextId++, ruleVersion: 1, action: 9, ledger: 1 } as never, fx.operator),
      rec({ kind: 'toll_rule', id: nextId++, ruleVersion: 1, action: 2, ledger: 2, mode: 1, code: 1, effectiveHeight: 99n, sectionCount: 1 } as never, fx.operator),
      rec({ kind: 'toll_rule', id: nextId++, ruleVersion: 1, action: 1, ledger: 1, section: 3, operatorAccountId: 202n, classValues: packU32x16([1]) } as never, fx.alice),
    ])).toEqual([
      R.toll_section_exists, R.toll_operator_account_not_found, R.toll_rule_ledger_mismatch, R.toll_rule_invalid,
      R.toll_rule_invalid, R.toll_rule_invalid, R.toll_rule_invalid, R.toll_rule_incomplete, R.toll_rule_not_found,
      R.toll_rule_invalid, R.code_must_not_be_zero, R.toll_rule_height_not_future, R.toll_rule_invalid,
      R.signer_not_authorized, R.signer_not_authorized,
    ]);
    const H = h() + 10;
    expect(fx.apply([activate(fx, 1, H, 1)])).toEqual([R.ok]);
    expect(fx.apply([section(fx, 1, 2, 201n, [1]), activate(fx, 1, H + 1, 1)])).toEqual([R.toll_rule_version_sealed, R.toll_rule_version_sealed]);
    expect(fx.apply([section(fx, 2, 1, 200n, [2]), section(fx, 3, 1, 200n, [3])])).toEqual([0, 0]);
    expect(fx.apply([activate(fx, 2, H, 1)])).toEqual([R.toll_rule_height_overlaps]);
    expect(fx.apply([activate(fx, 3, H + 1, 1)])).toEqual([R.ok]);
    expect(fx.apply([activate(fx, 2, H + 2, 1)])).toEqual([R.toll_rule_version_not_increasing]);
    // Shares above 10,000 bp cannot be activated in share mode.
    expect(fx.apply([section(fx, 4, 1, 200n, [10_001])])).toEqual([0]);
    expect(fx.apply([activate(fx, 4, H + 5, 1, 2)])).toEqual([R.toll_rule_invalid]);
  });
  it('a rule change mid-stream: trips priced by the old version are refused once the new one is in force', () => {
    const fx = tolled();
    fx.apply([]);
    const v2 = OPS.map((op, i) => section(fx, 2, i + 1, op, Array.from({ length: 16 }, () => 50)));
    expect(fx.apply(v2)).toEqual(v2.map(() => 0));
    const from = fx.state.height + 3;
    expect(fx.apply([activate(fx, 2, from, 6)])).toEqual([R.ok]);
    expect(fx.apply([trip(fx, { toll: fee(1, 1), sections: [1] })])).toEqual([R.ok]);                        // from − 1: v1
    expect(fx.apply([trip(fx, { toll: fee(1, 1), sections: [1] })])).toEqual([R.trip_rule_version_mismatch]); // v2 in force
    expect(fx.apply([trip(fx, { toll: 50, sections: [1], version: 2 })])).toEqual([R.ok]);
    expect(fx.apply([trip(fx, { toll: 51, sections: [1], version: 2 })])).toEqual([R.trip_amount_mismatch]);
  });
});

describe('toll: the blacklist', () => {
  const bl = (fx: Fx, f: Record<string, unknown>, by = fx.regulator) => rec({ kind: 'blacklist', id: nextId++, ...f } as never, by);
  const ok = { toll: fee(1, 1), sections: [1] };
  it('refuse a vehicle, an account; flag a vehicle; remove', () => {
    const fx = tolled();
    expect(fx.apply([bl(fx, { action: 1, mode: 1, vehicleId: 66n }), bl(fx, { action: 1, mode: 2, vehicleId: 67n }), bl(fx, { action: 3, mode: 1, accountId: 101n })]))
      .toEqual([0, 0, 0]);
    const before = snapshot(fx);
    expect(fx.apply([trip(fx, { ...ok, vehicle: 66n }), trip(fx, { ...ok, issuer: 101n })]))
      .toEqual([R.trip_vehicle_blacklisted, R.trip_account_blacklisted]);
    expect(snapshot(fx)).toBe(before);
    expect(fx.apply([trip(fx, { ...ok, id: 9100n, vehicle: 67n })])).toEqual([R.ok]);
    expect(readTransfer(fx.state.transfers.words, fx.state.findTransfer(idBytes(9100n), 0)).status).toBe('toll_trip_flagged');
    expect(fx.apply([bl(fx, { action: 2, vehicleId: 66n }), trip(fx, { ...ok, vehicle: 66n })])).toEqual([R.ok, R.ok]);
  });
  it('bad blacklist records', () => {
    const fx = tolled();
    expect(fx.apply([
      bl(fx, { action: 1, mode: 1, vehicleId: 66n }),
      bl(fx, { action: 1, mode: 1, vehicleId: 66n }),
      bl(fx, { action: 2, vehicleId: 65n }),
      bl(fx, { action: 5, mode: 1, vehicleId: 1n }),
      bl(fx, { action: 1, mode: 3, vehicleId: 1n }),
      bl(fx, { action: 1, mode: 1 }),
      bl(fx, { action: 3, mode: 1, vehicleId: 1n, accountId: 100n }),
      bl(fx, { action: 2, mode: 1, vehicleId: 66n }),
      bl(fx, { action: 3, mode: 1, accountId: 999n }),
      bl(fx, { action: 1, mode: 1, vehicleId: 9n }, fx.alice),
    ])).toEqual([R.ok, R.blacklist_entry_exists, R.blacklist_entry_not_found, R.blacklist_invalid, R.blacklist_invalid,
      R.blacklist_invalid, R.blacklist_invalid, R.blacklist_invalid, R.account_not_found, R.signer_not_authorized]);
  });
});

// ---------------------------------------------------------------------------------------
// The independent model: BigInt, sort-based largest remainder, versions by effective height.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
interface MVersion { version: number; mode: 1 | 2; from: number; sections: Map<number, { op: bigint; values: number[] }> }
function modelSplit(v: MVersion, cls: number, secs: number[], toll: bigint): bigint[] | string {
  const w: bigint[] = [];
  for (const s of secs) {
    const sec = v.sections.get(s);
    if (!sec) return 'trip_section_unknown';
    if (sec.values[cls - 1] === 0) return 'trip_class_not_served';
    w.push(BigInt(sec.values[cls - 1]));
  }
  if (v.mode === 1) return w.reduce((a, b) => a + b, 0n) === toll ? w : 'trip_amount_mismatch';
  const W = w.reduce((a, b) => a + b, 0n);
  const parts = w.map((x) => (toll * x) / W);
  const order = w.map((x, k) => ({ k, rem: (toll * x) % W })).sort((a, b) => (a.rem === b.rem ? a.k - b.k : a.rem > b.rem ? -1 : 1));
  let left = toll - parts.reduce((a, b) => a + b, 0n);
  for (const { k } of order) { if (left === 0n) break; parts[k] += 1n; left -= 1n; }
  return parts;
}

describe('toll: splits against an independent model', () => {
  it.each([1, 2, 3, 4])('seed %i: random rule tables, classes and trips, rule changes mid-stream; Σ parts = toll; zero float', (seed) => {
    const r = rng(seed);
    const fx = world();
    const balances = new Map<bigint, bigint>([...ISSUERS, ...OPS, CENTRE].map((id) => [id, 0n]));
    const versions: MVersion[] = [];
    let versionNo = 0;
    const newVersion = () => {
      versionNo++;
      const mode = (r() < 0.5 ? 1 : 2) as 1 | 2;
      const v: MVersion = { version: versionNo, mode, from: fx.state.height + 2 + Math.floor(r() * 3), sections: new Map() };
      const n = 3 + Math.floor(r() * 8);
      const recs: Uint8Array[] = [];
      for (let s = 1; s <= n; s++) {
        const values = Array.from({ length: 16 }, () => (r() < 0.1 ? 0 : 1 + Math.floor(r() * (mode === 1 ? 5000 : 10_000))));
        const op = OPS[Math.floor(r() * OPS.length)];
        v.sections.set(s, { op, values });
        recs.push(section(fx, v.version, s, op, values));
      }
      recs.push(activate(fx, v.version, v.from, n, mode));
      expect(fx.apply(recs).every((c) => c === 0)).toBe(true);
      versions.push(v);
    };
    newVersion();
    let trips = 0;
    for (let block = 0; block < 40; block++) {
      if (block % 12 === 11) newVersion();
      const height = fx.state.height + 1;
      const inForce = [...versions].reverse().find((v) => v.from <= height);
      const batch: Uint8Array[] = [];
      const expected: (bigint[] | string)[] = [];
      const meta: { issuer: bigint; toll: bigint; secs: number[]; v: MVersion | undefined }[] = [];
      for (let i = 0; i < 30; i++) {
        const v = inForce ?? versions[0];
        const count = 1 + Math.floor(r() * 6);
        const keys = [...v.sections.keys()].sort(() => r() - 0.5).slice(0, count);
        if (r() < 0.05) keys[0] = 99; // an unknown section now and then
        const cls = 1 + Math.floor(r() * 16);
        let toll = BigInt(1 + Math.floor(r() * 100_000));
        if (v.mode === 1) {
          const fees = keys.map((s) => BigInt(v.sections.get(s)?.values[cls - 1] ?? 0));
          if (r() < 0.9) toll = fees.reduce((a, b) => a + b, 0n) || 1n;
        }
        const version = r() < 0.05 ? v.version + 1 : v.version;
        const issuer = ISSUERS[Math.floor(r() * 2)];
        let exp: bigint[] | string;
        if (!inForce) exp = 'trip_no_rule_in_force';
        else if (version !== inForce.version) exp = 'trip_rule_version_mismatch';
        else exp = modelSplit(inForce, cls, keys, toll);
        expected.push(exp);
        meta.push({ issuer, toll, secs: keys, v: inForce });
        batch.push(trip(fx, { issuer, toll: Number(toll), version, cls, sections: keys }));
      }
      const codes = fx.apply(batch);
      codes.forEach((c, i) => {
        const exp = expected[i];
        if (typeof exp === 'string') { expect(c).toBe(R[exp as keyof typeof R]); return; }
        expect(c).toBe(R.ok);
        expect(exp.reduce((a, b) => a + b, 0n)).toBe(meta[i].toll); // Σ parts = toll
        trips++;
        balances.set(meta[i].issuer, balances.get(meta[i].issuer)! - meta[i].toll);
        meta[i].secs.forEach((s, k) => {
          const op = meta[i].v!.sections.get(s)!.op;
          balances.set(op, balances.get(op)! + exp[k]);
        });
      });
      // Every account as the model says; the centre holds nothing at the end of every block.
      for (const [id, net] of balances) {
        const [d, c] = bal(fx, id);
        expect(c - d, `account ${id}`).toBe(net);
      }
      expect(bal(fx, CENTRE)).toEqual([0n, 0n]);
    }
    expect(trips).toBeGreaterThan(200);
  });
});

describe('toll: the SDK split is the chain\'s', () => {
  it('splitTrip agrees with the independent model on random tables (both modes), Σ parts = toll', () => {
    const r = rng(99);
    for (let i = 0; i < 2000; i++) {
      const mode = (r() < 0.5 ? 1 : 2) as 1 | 2;
      const n = 1 + Math.floor(r() * 16);
      const v: MVersion = { version: 1, mode, from: 0, sections: new Map() };
      for (let s = 1; s <= n; s++) v.sections.set(s, { op: BigInt(200 + s), values: Array.from({ length: 16 }, () => 1 + Math.floor(r() * (mode === 1 ? 100_000 : 10_000))) });
      const cls = 1 + Math.floor(r() * 16);
      const secs = [...v.sections.keys()];
      const toll = mode === 1 ? secs.reduce((a, s) => a + v.sections.get(s)!.values[cls - 1], 0) : 1 + Math.floor(r() * 0xffffffff);
      const table = { mode: mode === 1 ? 'fee' as const : 'share' as const, sections: new Map(secs.map((s) => [s, { operatorAccountId: v.sections.get(s)!.op, values: v.sections.get(s)!.values }])) };
      const sdk = splitTrip(table, cls, secs, toll);
      const model = modelSplit(v, cls, secs, BigInt(toll)) as bigint[];
      expect(sdk.legs.map((l) => BigInt(l.amount))).toEqual(model);
      expect(sdk.legs.reduce((a, l) => a + l.amount, 0)).toBe(toll);
    }
    expect(() => splitTrip({ mode: 'fee', sections: new Map([[1, { operatorAccountId: 1n, values: [5] }]]) }, 1, [1], 6)).toThrow(RangeError);
    expect(() => splitTrip({ mode: 'fee', sections: new Map() }, 1, [1])).toThrow(/section 1/);
  });
});
