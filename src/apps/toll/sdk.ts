// The toll application's client side (docs/toll.md): typed record builders over the raw
// kinds (toll_rule, trip, blacklist), deterministic trip ids, the split as the chain
// computes it, and the two-tier cross-chain proof: a trip included in a provincial block
// whose header is anchored in a national block, checked against the national chain alone.

import { Kind, OFF_CHAIN_ID, OFF_KIND, RECORD_BYTES, AN_DIGEST, AN_METADATA, encode, u32 } from '../../codec/record.js';
import { records, type Signer } from '../../codec/builders.js';
import {
  HEADER_BYTES, H_ALG, H_CHAIN_ID, H_COUNT, H_HEIGHT, H_PREV, H_RESULT_ROOT, type InclusionProof, headerHash,
  verifyInclusionProof,
} from '../../codec/block.js';
import { hash, sm3 } from '../../crypto/hash.js';
import { verifyMerkleProof } from '../../crypto/merkle.js';
import {
  BLACKLIST_ADD_ACCOUNT, BLACKLIST_ADD_VEHICLE, BLACKLIST_FLAG, BLACKLIST_REFUSE, MODE_FEE, MODE_SHARE, RULE_ACTIVATE,
  RULE_SECTION, TOLL_CLASSES, TRIP_SECTIONS_MAX, splitShares,
} from './split.js';
import { equalBytes } from '../../crypto/bytes.js';

export { MODE_FEE, MODE_SHARE, TOLL_CLASSES, TRIP_SECTIONS_MAX } from './split.js';

const enc = new TextEncoder();

/** 16 u32 LE slots from a list of at most 16 numbers (the rest zero): a trip's sections, a section's class values. */
export function packU32x16(values: readonly number[], name = 'values'): Uint8Array {
  if (!Array.isArray(values) || values.length > 16) {
    throw new TypeError(`${name} must be an Array of at most 16 integers`);
  }
  const out = new Uint8Array(64);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`${name}[${i}] must be an integer in [0, 4294967295], got ${String(v)}`);
    }
    dv.setUint32(4 * i, v, true);
  });
  return out;
}

/** The 16 u32 LE slots back as numbers. */
export function unpackU32x16(b: Uint8Array, count = 16): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, 64);
  return Array.from({ length: count }, (_, i) => dv.getUint32(4 * i, true));
}

/**
 * A deterministic trip id from the trip's source (a feed line, a gantry transaction
 * number): SM3('gmledger/trip' ‖ source)[0..16) as a little-endian u128. The same source
 * always gives the same id, so a replayed feed is refused as `exists`, never charged twice.
 */
export function tripId(source: string | Uint8Array): bigint {
  const s = typeof source === 'string' ? enc.encode(source) : source;
  const m = new Uint8Array(13 + s.length);
  m.set(enc.encode('gmledger/trip'));
  m.set(s, 13);
  const d = sm3(m);
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(d[i]);
  return v;
}

interface Base { chainId: number; id: bigint; timestamp?: bigint; flags?: number }

/** Typed builders of the toll kinds (each signs with `signer`). */
export const tollRecords = {
  /** A section of rule version `ruleVersion`: its operator account and a value per vehicle class 1..16. */
  section(f: Base & { ruleVersion: number; ledger: number; section: number; operatorAccountId: bigint;
    values: readonly number[] }, signer: Signer): Uint8Array {
    const { values, ...rest } = f;
    return records.tollRule({ ...rest, action: RULE_SECTION, classValues: packU32x16(values, 'values') }, signer);
  },
  /** Activates (seals) a version from block `effectiveHeight` on; `mode` fee or share; `code` of the trips' entries. */
  activate(f: Base & { ruleVersion: number; ledger: number; mode: 'fee' | 'share'; code: number;
    effectiveHeight: bigint; sectionCount: number }, signer: Signer): Uint8Array {
    const { mode, ...rest } = f;
    if (mode !== 'fee' && mode !== 'share') throw new TypeError(`mode must be 'fee' or 'share', got ${String(mode)}`);
    return records.tollRule({ ...rest, action: RULE_ACTIVATE, mode: mode === 'fee' ? MODE_FEE : MODE_SHARE }, signer);
  },
  trip(f: Base & { issuerAccountId: bigint; vehicleId?: bigint; tripTimeMs?: bigint; toll: number;
    ruleVersion: number; vehicleClass: number; sections: readonly number[] }, signer: Signer): Uint8Array {
    const { sections, ...rest } = f;
    return records.trip({ ...rest, sectionCount: sections.length, sections: packU32x16(sections, 'sections') }, signer);
  },
  /**
   * A trip record left unsigned, naming the gateway `gatewayKeyId` as its signer: for a
   * trusted-gateway batch (vouchBatch marks it vouched and one gateway signature covers it).
   */
  tripToVouch(f: Base & { issuerAccountId: bigint; vehicleId?: bigint; tripTimeMs?: bigint; toll: number;
    ruleVersion: number; vehicleClass: number; sections: readonly number[] }, gatewayKeyId: Uint8Array): Uint8Array {
    const { sections, ...rest } = f;
    return encode({
      ...rest, kind: 'trip', signer: gatewayKeyId, sectionCount: sections.length,
      sections: packU32x16(sections, 'sections'),
    });
  },
  blacklist(f: Base & { action: 'add' | 'remove'; vehicleId?: bigint; accountId?: bigint; mode?: 'refuse' | 'flag' },
    signer: Signer): Uint8Array {
    const { action, mode, ...rest } = f;
    const vehicle = f.vehicleId !== undefined;
    // The remove actions follow their add actions (split.ts).
    const code = (vehicle ? BLACKLIST_ADD_VEHICLE : BLACKLIST_ADD_ACCOUNT) + (action === 'remove' ? 1 : 0);
    return records.blacklist({
      ...rest, action: code, mode: action === 'remove' ? 0 : mode === 'flag' ? BLACKLIST_FLAG : BLACKLIST_REFUSE,
    }, signer);
  },
};

/** A rule version as the SDK prices with it: mode and, per section, the value of each class (index class − 1). */
export interface TollRuleTable {
  mode: 'fee' | 'share';
  sections: ReadonlyMap<number, { operatorAccountId: bigint; values: readonly number[] }>;
}

/**
 * The split the chain makes of a trip (docs/toll.md): per section in order, its operator
 * and part. Fee mode: the parts are the sections' fees and `toll` (if given) must be their
 * sum; share mode: largest remainder. Throws RangeError naming what does not fit the table.
 */
export function splitTrip(table: TollRuleTable, vehicleClass: number, sections: readonly number[], toll?: number):
  { toll: number; legs: { section: number; operatorAccountId: bigint; amount: number }[] } {
  if (!Number.isInteger(vehicleClass) || vehicleClass < 1 || vehicleClass > TOLL_CLASSES) {
    throw new RangeError(`vehicleClass must be 1..${TOLL_CLASSES}`);
  }
  if (sections.length === 0 || sections.length > TRIP_SECTIONS_MAX) throw new RangeError('sections: 1..16 of them');
  const values = sections.map((s) => {
    const sec = table.sections.get(s);
    if (sec === undefined) throw new RangeError(`section ${s} is not in the rule table`);
    const v = sec.values[vehicleClass - 1] ?? 0;
    if (v === 0) throw new RangeError(`section ${s} does not serve class ${vehicleClass}`);
    return v;
  });
  let parts: number[];
  if (table.mode === 'fee') {
    const sum = values.reduce((a, b) => a + b, 0);
    if (toll !== undefined && toll !== sum) throw new RangeError(`toll ${toll} ≠ the sections' fees ${sum}`);
    toll = sum;
    parts = values;
  } else {
    if (toll === undefined) throw new TypeError('share mode: the toll is required');
    const out = new Float64Array(values.length);
    splitShares(toll, values, values.length, out);
    parts = Array.from(out);
  }
  return {
    toll, legs: sections.map((s, k) => ({ section: s, operatorAccountId: table.sections.get(s)!.operatorAccountId,
      amount: parts[k] })),
  };
}

// ---------------------------------------------------------------------------------------
// Two tiers: anchoring provincial headers into the national chain, and the cross-chain proof.

/** The anchor metadata of a provincial header: chain id u32 LE ‖ height u64 LE ‖ 20 zero bytes. */
export function tollAnchorMetadata(header: Uint8Array): Uint8Array {
  const m = new Uint8Array(32);
  m.set(header.subarray(H_CHAIN_ID, H_CHAIN_ID + 4), 0);
  m.set(header.subarray(H_HEIGHT, H_HEIGHT + 8), 4);
  return m;
}

/** The anchor id of a provincial header: SM3('gmledger/toll-anchor' ‖ metadata)[0..16), LE u128 (idempotent). */
export function tollAnchorId(header: Uint8Array): bigint {
  const tag = enc.encode('gmledger/toll-anchor');
  const m = new Uint8Array(tag.length + 32);
  m.set(tag);
  m.set(tollAnchorMetadata(header), tag.length);
  const d = sm3(m);
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(d[i]);
  return v;
}

/** The anchor record (for the national chain, `nationalChainId`) of a provincial block header, signed by `signer`. */
export function tollAnchorRecord(header: Uint8Array, nationalChainId: number, signer: Signer): Uint8Array {
  if (!(header instanceof Uint8Array) || header.length !== HEADER_BYTES) {
    throw new TypeError(`header must be a ${HEADER_BYTES}-byte Uint8Array`);
  }
  return records.anchor({
    chainId: nationalChainId, id: tollAnchorId(header), digest: headerHash(header),
    metadata: tollAnchorMetadata(header),
  }, signer);
}

/** A trip proven against the national chain (docs/toll.md, "Two tiers"). */
export interface TollCrossProof {
  /** The trip record's inclusion in its provincial block (header and the provincial signatures). */
  trip: InclusionProof;
  /** The trip's result code and its audit path under the provincial header's result root. */
  result: { code: number; proof: Uint8Array[] };
  /** The provincial headers after the trip's block, up to and including the anchored one (empty: it is anchored). */
  links: Uint8Array[];
  /** The anchor record's inclusion in a national block, with the national node's signatures. */
  anchor: InclusionProof;
}

function provincialChainOk(p: TollCrossProof): Uint8Array | undefined {
  let prev = p.trip.header;
  for (const h of p.links) {
    if (!(h instanceof Uint8Array) || h.length !== HEADER_BYTES) return undefined;
    const dv = new DataView(h.buffer, h.byteOffset, HEADER_BYTES);
    const pv = new DataView(prev.buffer, prev.byteOffset, HEADER_BYTES);
    if (dv.getUint32(H_CHAIN_ID, true) !== pv.getUint32(H_CHAIN_ID, true)) return undefined;
    if (dv.getBigUint64(H_HEIGHT, true) !== pv.getBigUint64(H_HEIGHT, true) + 1n) return undefined;
    if (!equalBytes(h.subarray(H_PREV, H_PREV + 32), headerHash(prev))) return undefined;
    prev = h;
  }
  return prev;
}

/**
 * Checks a cross-chain proof with the national node's public key only: the national block
 * holding the anchor is signed by that node; the anchor's digest is the hash of the last
 * provincial header, its metadata that header's chain id and height; the headers link back
 * to the trip's block by prev_hash; the trip record is under that block's tx root and its
 * result code `ok` under the result root. `provincialChainId`, if given, must match.
 * Any byte changed in any layer makes it false.
 */
export function verifyTollCrossProof(p: TollCrossProof, nationalNodePublicKey: Uint8Array,
  options: { provincialChainId?: number } = {}): boolean {
  try {
    if (!verifyInclusionProof(p.anchor, nationalNodePublicKey)) return false;
    const a = p.anchor.record;
    if (a[OFF_KIND] !== Kind.anchor) return false;
    const anchored = provincialChainOk(p);
    if (anchored === undefined) return false;
    if (!equalBytes(a.subarray(AN_DIGEST, AN_DIGEST + 32), headerHash(anchored))) return false;
    if (!equalBytes(a.subarray(AN_METADATA, AN_METADATA + 32), tollAnchorMetadata(anchored))) return false;
    const h = p.trip.header;
    if (!verifyInclusionProof(p.trip)) return false;
    const r = p.trip.record;
    if (r.length !== RECORD_BYTES || r[OFF_KIND] !== Kind.trip) return false;
    const chainId = u32(h, H_CHAIN_ID);
    if (u32(r, OFF_CHAIN_ID) !== chainId) return false;
    if (options.provincialChainId !== undefined && options.provincialChainId !== chainId) return false;
    const alg = h[H_ALG] === 1 ? 'sha256' : 'sm3';
    const leaf = new Uint8Array(34);
    leaf.set(hash(r, alg));
    leaf[32] = p.result.code & 0xff;
    leaf[33] = p.result.code >>> 8;
    if (p.result.code !== 0) return false;
    return verifyMerkleProof(leaf, p.trip.index, u32(h, H_COUNT), p.result.proof, h.subarray(H_RESULT_ROOT,
      H_RESULT_ROOT + 32), alg);
  } catch {
    return false;
  }
}
