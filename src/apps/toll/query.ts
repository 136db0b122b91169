// Read-side views of the toll application (docs/toll.md, "Queries"; HTTP GET /toll/...):
// rule versions, a trip's split, revenue and charges per period, the netting report, the
// blacklist. Everything is read from the state machine: a trip's entry, its row of sections and
// its sealed rule version give its split again, so a report over any period is a scan, and every
// node gives the same.

import {
  A_ID, ENTRY_WORDS, STATUS_TOLL_TRIP, STATUS_TOLL_TRIP_FLAGGED, T_AMOUNT, T_DEBIT, T_HEIGHT, T_INDEX,
  T_PENDING_ID, T_STATUS, T_TIMESTAMP, T_USER_DATA, wordsU128, wordsU64,
} from '../../codec/entries.js';
import type { AppHost } from '../host.js';
import { MODE_SHARE, splitShares } from './split.js';
import type { RuleVersion, TollState } from './state.js';

/** Plain JSON values (what the HTTP layer serves). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** The ledger's state machine with its toll application (LedgerState is one). */
export type TollView = AppHost & { readonly toll: TollState };

/** One period's settlement view: who was charged, who earned, and the net position of each. */
export interface TollReport {
  fromMs: number;
  toMs: number;
  trips: number;
  flaggedTrips: number;
  /** Σ tolls (= Σ charges = Σ revenue: nothing stays in between). */
  total: bigint;
  /** Per issuer account: Σ tolls charged and trips, by account id. */
  issuers: { accountId: bigint; charges: bigint; trips: number }[];
  /** Per operator account: Σ parts received and legs. */
  operators: { accountId: bigint; revenue: bigint; legs: number }[];
  /** Per section: Σ parts and legs. */
  sections: { section: number; revenue: bigint; legs: number }[];
  /** Bilateral: what each issuer owes each operator for the period (the netting's input). */
  pairs: { issuerAccountId: bigint; operatorAccountId: bigint; amount: bigint }[];
  /** Net position per account over the period: + receives, − pays. Σ = 0. */
  positions: { accountId: bigint; net: bigint }[];
}

function add<K>(m: Map<K, { a: bigint; n: number }>, k: K, amount: bigint, count: number): void {
  const e = m.get(k);
  if (e === undefined) m.set(k, { a: amount, n: count }); else { e.a += amount; e.n += count; }
}

const byId = <T extends { accountId: bigint }>(x: T, y: T) =>
  (x.accountId < y.accountId ? -1 : x.accountId > y.accountId ? 1 : 0);

/** The parts of a trip (entry `t`) as the chain moved them: per section in order, its operator and part. */
export function tripLegs(state: TollView, t: number): { section: number; operatorAccountId: bigint; amount: number }[] {
  const w = state.transfers.words;
  const e = t * ENTRY_WORDS;
  const v = state.toll.versions.get(w[e + T_USER_DATA]);
  if (v === undefined) throw new Error('toll: a trip of an unknown rule version');
  const cls = w[e + T_USER_DATA + 1] & 0xff;
  const sections = state.toll.tripSections(t);
  const values = sections.map((s) => v.sections.get(s)!.values[cls - 1]);
  let parts = values;
  if (v.mode === MODE_SHARE) {
    const out = new Float64Array(values.length);
    splitShares(w[e + T_AMOUNT], values, values.length, out);
    parts = Array.from(out);
  }
  return sections.map((s, k) => ({ section: s, operatorAccountId: v.sections.get(s)!.operatorId, amount: parts[k] }));
}

const isTrip = (status: number): boolean => status === STATUS_TOLL_TRIP || status === STATUS_TOLL_TRIP_FLAGGED;

/** The toll report of block times [fromMs, toMs), over trips of blocks ≤ `maxHeight` (default: all). */
export function tollReport(state: TollView, fromMs: number, toMs: number, maxHeight = Infinity): TollReport {
  const w = state.transfers.words;
  const issuers = new Map<bigint, { a: bigint; n: number }>();
  const operators = new Map<bigint, { a: bigint; n: number }>();
  const sections = new Map<number, { a: bigint; n: number }>();
  const pairs = new Map<string, { a: bigint; n: number }>();
  let trips = 0;
  let flagged = 0;
  let total = 0n;
  for (let t = 0, e = 0; t < state.transfers.count; t++, e += ENTRY_WORDS) {
    const status = w[e + T_STATUS];
    if (!isTrip(status)) continue;
    const time = wordsU64(w, e + T_TIMESTAMP);
    if (time < fromMs || time >= toMs || w[e + T_HEIGHT] > maxHeight) continue;
    trips++;
    if (status === STATUS_TOLL_TRIP_FLAGGED) flagged++;
    const toll = BigInt(w[e + T_AMOUNT]);
    const issuer = wordsU128(w, e + T_DEBIT);
    total += toll;
    add(issuers, issuer, toll, 1);
    for (const leg of tripLegs(state, t)) {
      const amount = BigInt(leg.amount);
      add(operators, leg.operatorAccountId, amount, 1);
      add(sections, leg.section, amount, 1);
      add(pairs, `${issuer}:${leg.operatorAccountId}`, amount, 1);
    }
  }
  const net = new Map<bigint, bigint>();
  for (const [id, x] of issuers) net.set(id, (net.get(id) ?? 0n) - x.a);
  for (const [id, x] of operators) net.set(id, (net.get(id) ?? 0n) + x.a);
  return {
    fromMs, toMs, trips, flaggedTrips: flagged, total,
    issuers: [...issuers].map(([accountId, x]) => ({ accountId, charges: x.a, trips: x.n })).sort(byId),
    operators: [...operators].map(([accountId, x]) => ({ accountId, revenue: x.a, legs: x.n })).sort(byId),
    sections: [...sections].map(([section, x]) => ({ section, revenue: x.a, legs: x.n }))
      .sort((x, y) => x.section - y.section),
    pairs: [...pairs].map(([k, x]) => {
      const [i, o] = k.split(':');
      return { issuerAccountId: BigInt(i), operatorAccountId: BigInt(o), amount: x.a };
    }).sort((x, y) => (x.issuerAccountId === y.issuerAccountId ? byId({ accountId: x.operatorAccountId },
      { accountId: y.operatorAccountId }) : byId({ accountId: x.issuerAccountId }, { accountId: y.issuerAccountId }))),
    positions: [...net].map(([accountId, n]) => ({ accountId, net: n })).sort(byId),
  };
}

/** A trip and its split as the chain recorded them, or undefined. */
export function tripView(state: TollView, id: bigint): Record<string, unknown> | undefined {
  const k = (i: number): number => Number((id >> BigInt(32 * i)) & 0xffffffffn);
  const t = state.transferIndex.find(k(0), k(1), k(2), k(3));
  if (t < 0) return undefined;
  const w = state.transfers.words;
  const e = t * ENTRY_WORDS;
  if (!isTrip(w[e + T_STATUS])) return undefined;
  const pid = wordsU128(w, e + T_PENDING_ID);
  return {
    id, issuerAccountId: wordsU128(w, e + T_DEBIT), toll: w[e + T_AMOUNT], ruleVersion: w[e + T_USER_DATA],
    vehicleClass: w[e + T_USER_DATA + 1] & 0xff, vehicleId: pid & 0xffffffffffffffffn, tripTimeMs: pid >> 64n,
    flagged: w[e + T_STATUS] === STATUS_TOLL_TRIP_FLAGGED, height: w[e + T_HEIGHT], index: w[e + T_INDEX],
    timeMs: wordsU64(w, e + T_TIMESTAMP), legs: tripLegs(state, t).map((l) => ({ ...l, amount: BigInt(l.amount) })),
  };
}

function versionView(v: RuleVersion): Record<string, unknown> {
  return {
    version: v.version, ledger: v.ledger, mode: v.mode === 1 ? 'fee' : v.mode === 2 ? 'share' : null, code: v.code,
    active: v.active, effectiveHeight: v.active ? v.effectiveHeight : null,
    sections: [...v.sections.values()].sort((x, y) => x.section - y.section).map((s) => ({
      section: s.section, operatorAccountId: s.operatorId, values: Array.from(s.values),
    })),
  };
}

/** Plain JSON: bigint → decimal string. */
function json(v: unknown): Json {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(json);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) o[k] = json(x);
    return o;
  }
  return (v ?? null) as Json;
}

function num(s: string | undefined): number | undefined {
  return s !== undefined && /^\d{1,16}$/.test(s) ? Number(s) : undefined;
}
function big(s: string | undefined): bigint | undefined {
  if (s === undefined || !/^(\d{1,39}|0x[0-9a-fA-F]{1,32})$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < 1n << 128n ? v : undefined;
}

/**
 * GET /toll/<parts…> (docs/api.md): rules, rules/<version>, trips/<id>, report/<fromMs>/<toMs>,
 * sections|issuers|operators/<id>/<fromMs>/<toMs>, blacklist. Undefined → 404.
 */
export function tollQuery(state: TollView, parts: string[], durableHeight = Infinity): Json | undefined {
  const toll = state.toll;
  const [what, a, b, c] = parts;
  switch (what) {
    case 'rules': {
      if (parts.length === 1) {
        const inForce = toll.inForceAt(state.height);
        return json({
          inForce: inForce?.version ?? null,
          versions: [...toll.versions.values()].sort((x, y) => x.version - y.version).map(versionView),
        });
      }
      const v = num(a) === undefined ? undefined : toll.versions.get(num(a)!);
      return parts.length === 2 && v !== undefined ? json(versionView(v)) : undefined;
    }
    case 'trips': {
      const id = big(a);
      const t = parts.length === 2 && id !== undefined ? tripView(state, id) : undefined;
      return t === undefined || (t.height as number) > durableHeight ? undefined : json(t);
    }
    case 'report': {
      const from = num(a), to = num(b);
      if (parts.length !== 3 || from === undefined || to === undefined) return undefined;
      return json(tollReport(state, from, to, durableHeight));
    }
    case 'sections': case 'issuers': case 'operators': {
      const from = num(b), to = num(c);
      if (parts.length !== 4 || from === undefined || to === undefined || big(a) === undefined) return undefined;
      const r = tollReport(state, from, to, durableHeight);
      const id = big(a)!;
      const row = what === 'sections'
        ? r.sections.find((x) => BigInt(x.section) === id) ?? { section: Number(id), revenue: 0n, legs: 0 }
        : what === 'issuers' ? r.issuers.find((x) => x.accountId === id) ?? { accountId: id, charges: 0n, trips: 0 }
          : r.operators.find((x) => x.accountId === id) ?? { accountId: id, revenue: 0n, legs: 0 };
      return json({ fromMs: from, toMs: to, ...row });
    }
    case 'blacklist': {
      if (parts.length !== 1) return undefined;
      const aw = state.accounts.words;
      return json({
        vehicles: [...toll.vehicles].sort((x, y) => (x[0] < y[0] ? -1 : 1))
          .map(([id, e]) => ({ vehicleId: id, mode: e.mode === 1 ? 'refuse' : 'flag', height: e.height })),
        accounts: [...toll.accounts].map(([i, e]) => ({
          accountId: wordsU128(aw, i * ENTRY_WORDS + A_ID), mode: e.mode === 1 ? 'refuse' : 'flag', height: e.height,
        })).sort(byId),
      });
    }
  }
  return undefined;
}
