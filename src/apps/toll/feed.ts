// Parsing a trip feed file (docs/toll.md, "The feed"): CSV with a header line, or NDJSON,
// one trip per line. A line that does not parse is an error naming the line and the field;
// a line that parses gives the trip's fields and its id — given in the line, or derived
// from the trip's own fields (tripId), so replaying a file never charges a trip twice.

import { tripId } from './sdk.js';
import { TOLL_CLASSES, TRIP_SECTIONS_MAX } from './split.js';

export interface FeedTrip {
  id: bigint;
  issuerAccountId: bigint;
  vehicleId: bigint;
  vehicleClass: number;
  tripTimeMs: bigint;
  toll: number;
  ruleVersion: number;
  sections: number[];
}

export const CSV_COLUMNS = [
  'id', 'source', 'issuer', 'vehicle', 'class', 'time', 'toll', 'version', 'sections',
] as const;
const REQUIRED = ['issuer', 'class', 'toll', 'version', 'sections'];

export class FeedError extends Error {}

function u(v: unknown, bits: number, name: string): bigint {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  if (typeof s !== 'string' || !/^(\d{1,39}|0x[0-9a-fA-F]{1,32})$/.test(s.trim())) {
    throw new FeedError(`${name}: expected an unsigned integer, got ${JSON.stringify(v)}`);
  }
  const x = BigInt(s.trim());
  if (x >= 1n << BigInt(bits)) throw new FeedError(`${name}: ${s} does not fit in ${bits} bits`);
  return x;
}
function small(v: unknown, min: number, max: number, name: string): number {
  const x = u(v, 53, name);
  if (x < BigInt(min) || x > BigInt(max)) throw new FeedError(`${name}: must be ${min}..${max}, got ${x}`);
  return Number(x);
}

/** A trip from its named fields (CSV cells or NDJSON values). Throws FeedError naming the field. */
export function feedTrip(f: Record<string, unknown>): FeedTrip {
  for (const name of REQUIRED) if (f[name] === undefined || f[name] === '') throw new FeedError(`${name}: missing`);
  const raw = f.sections;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[|;]/) : undefined;
  if (list === undefined) throw new FeedError('sections: expected a list like 1|2|3');
  if (list.length === 0 || list.length > TRIP_SECTIONS_MAX) {
    throw new FeedError(`sections: 1..${TRIP_SECTIONS_MAX} of them, got ${list.length}`);
  }
  const t: FeedTrip = {
    id: 0n,
    issuerAccountId: u(f.issuer, 128, 'issuer'),
    vehicleId: f.vehicle === undefined || f.vehicle === '' ? 0n : u(f.vehicle, 64, 'vehicle'),
    vehicleClass: small(f.class, 1, TOLL_CLASSES, 'class'),
    tripTimeMs: f.time === undefined || f.time === '' ? 0n : u(f.time, 64, 'time'),
    toll: small(f.toll, 1, 0xffffffff, 'toll'),
    ruleVersion: small(f.version, 1, 0xffffffff, 'version'),
    sections: list.map((s, i) => small(s, 1, 0xffffffff, `sections[${i}]`)),
  };
  if (f.id !== undefined && f.id !== '') {
    t.id = u(f.id, 128, 'id');
    if (t.id === 0n) throw new FeedError('id: must not be 0');
  } else {
    const source = f.source !== undefined && f.source !== '' ? String(f.source)
      : `${t.issuerAccountId},${t.vehicleId},${t.vehicleClass},${t.tripTimeMs},${t.toll},${t.ruleVersion},` +
        t.sections.join('|');
    t.id = tripId(source);
  }
  return t;
}

/** The CSV header's columns (checked: known names, no repeats, the required ones present). */
export function csvHeader(line: string): string[] {
  const cols = line.split(',').map((c) => c.trim().toLowerCase());
  for (const c of cols) {
    if (!(CSV_COLUMNS as readonly string[]).includes(c)) {
      throw new FeedError(`unknown column ${JSON.stringify(c)} (columns: ${CSV_COLUMNS.join(', ')})`);
    }
  }
  if (new Set(cols).size !== cols.length) throw new FeedError('a column is named twice');
  for (const r of REQUIRED) if (!cols.includes(r)) throw new FeedError(`the header lacks the column ${r}`);
  return cols;
}

/** One feed line: a CSV row under `columns`, or (columns undefined) an NDJSON object. */
export function parseFeedLine(line: string, columns: string[] | undefined): FeedTrip {
  if (columns === undefined) {
    let j: unknown;
    try { j = JSON.parse(line); } catch { throw new FeedError('not JSON'); }
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new FeedError('not a JSON object');
    for (const k of Object.keys(j)) {
      if (!(CSV_COLUMNS as readonly string[]).includes(k)) throw new FeedError(`unknown field ${JSON.stringify(k)}`);
    }
    return feedTrip(j as Record<string, unknown>);
  }
  const cells = line.split(',');
  if (cells.length !== columns.length) {
    throw new FeedError(`expected ${columns.length} cells, got ${cells.length}`);
  }
  const f: Record<string, string> = {};
  columns.forEach((c, i) => { f[c] = cells[i].trim(); });
  return feedTrip(f);
}
