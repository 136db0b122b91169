// SM2 verification (GB/T 32918.2 section 7) and the per-key table cache.
//
// For each public key P we keep affine tables of odd multiples (w = 5: P, 3P, ..., 15P)
// of P_j = 2^(64j) P, j = 0..3, next to the G tables of the same shape (w = 10). Then
// s*G + t*P splits both scalars into four 64-bit pieces and is one interleaved wNAF run
// with only 64 doublings (instead of 256): about 64 doublings + ~23 G additions + ~43 P
// additions. Building a key's tables costs ~192 doublings and one inversion - more than a
// verification - so a key is cached on its second sighting (see seenBefore); the cache is
// 4-way set-associative (KEY_SLOTS slots). First-sight keys are verified directly.
//
// The x-coordinate test avoids an inversion: x1 = X/Z^2, so x1 + e = r (mod n) is checked
// as X = (r - e) Z^2 or, when r - e + n < p, X = (r - e + n) Z^2.
//
// Slot layout (SLOT_BYTES):
//   [0, 64)    public key x || y, big-endian (the cache key)
//   [64, 68)   1 when the slot is filled
//   [68, 72)   1 when [72, 104) holds Z_A for the default ID
//   [72, 104)  Z_A (default ID)
//   [128, ...) 4 tables x 8 affine points

import { FE, F_ONE, fromBytes, fmul, fsqr, feq, fcopy, fisZero, toBytes } from './field';
import { J, A, onCurve, decompress, oddMultiples, jdbl, normalizeBatch, G_TABLES, G_ENTRIES, G_W, msm, wnaf } from './point';
import { N, scFromBE, scToBE, scInRange, scIsZero, scAdd, scSub, scReduce, scLt } from './scalar';
import { computeZa, computeE, isDefaultId } from './za';

export const P_W: i32 = 5;
export const P_ENTRIES: usize = 8;
export const TABLE_OFF: usize = 128;
export const SLOT_BYTES: usize = TABLE_OFF + 4 * P_ENTRIES * A;
export const KEY_SLOTS: usize = 256;
const CACHE: usize = memory.data(<i32>(KEY_SLOTS * SLOT_BYTES), 8);

const BUILD_J: usize = memory.data(4 * 8 * 120, 8) // 4 x P_ENTRIES x J;
const BUILD_Z: usize = memory.data(4 * 8 * 40, 8) // 4 x P_ENTRIES x FE;
const BASEJ: usize = memory.data(<i32>J, 8);
const PT: usize = memory.data(<i32>A, 8);

/** p - n, little-endian limbs: x1 may be r - e + n only if r - e < p - n. */
const P_MINUS_N: usize = memory.data<u32>([
  0xC62ABEDC, 0xAC440BF6, 0xDE39FAD5, 0x8DFC2093, 0, 0, 0, 0,
]);

/**
 * Parses a public key (65 bytes 04 || x || y, or 33 bytes 02/03 || x) into raw x || y
 * (64 bytes BE) at out. Returns 1 if it is a valid, finite curve point with x, y < p.
 */
export function parsePublicKey(pk: usize, len: u32, out: usize): u32 {
  const tag = load<u8>(pk);
  if (len == 65 && tag == 4) {
    if (!fromBytes(PT, pk + 1)) return 0;
    if (!fromBytes(PT + 40, pk + 33)) return 0;
    if (!onCurve(PT)) return 0;
    memory.copy(out, pk + 1, 64);
    return 1;
  }
  if (len == 33 && (tag == 2 || tag == 3)) {
    if (!fromBytes(PT, pk + 1)) return 0;
    if (!decompress(PT, <u32>(tag & 1))) return 0;
    memory.copy(out, pk + 1, 32);
    toBytesY(out + 32);
    return 1;
  }
  return 0;
}

function toBytesY(out: usize): void { toBytes(out, PT + 40); }

const WAYS: usize = 4;
const SETS: usize = KEY_SLOTS / WAYS;
const VICTIM: usize = memory.data(<i32>SETS, 8);

// @ts-ignore: decorator
@inline function setOf(raw: usize): usize {
  const hv: u32 = (load<u32>(raw, 28) ^ load<u32>(raw, 60)) * 0x9E3779B1; // u32 product: wraps
  return <usize>(hv >> 16) & (SETS - 1);
}

/** The cached slot for raw key (x || y), or 0 if it is not cached. */
export function findSlot(raw: usize): usize {
  const first = CACHE + setOf(raw) * WAYS * SLOT_BYTES;
  for (let w: usize = 0; w < WAYS; w++) {
    const slot = first + w * SLOT_BYTES;
    if (load<u32>(slot, 64) == 1 && memory.compare(slot, raw, 64) == 0) return slot;
  }
  return 0;
}

/**
 * Returns the cache slot for raw key (x || y), building its tables if needed, or 0 if
 * the raw key is not a valid point. `trusted` skips the on-curve check (caller just
 * parsed it). 4-way set-associative, round-robin replacement, so a few keys that happen
 * to share a set do not evict each other on every call.
 */
export function keySlot(raw: usize, trusted: bool): usize {
  const found = findSlot(raw);
  if (found) return found;
  const set = setOf(raw);
  const first = CACHE + set * WAYS * SLOT_BYTES;
  if (!fromBytes(PT, raw)) return 0;
  if (!fromBytes(PT + 40, raw + 32)) return 0;
  if (!trusted && !onCurve(PT)) return 0;
  const v = <usize>load<u8>(VICTIM + set);
  store<u8>(VICTIM + set, <u8>((v + 1) & (WAYS - 1)));
  const slot = first + v * SLOT_BYTES;
  store<u32>(slot, 0, 64);
  store<u32>(slot, 0, 68);
  memory.copy(slot, raw, 64);
  fcopy(BASEJ, PT); fcopy(BASEJ + 40, PT + 40); fcopy(BASEJ + 80, F_ONE);
  for (let j: usize = 0; j < 4; j++) {
    if (j > 0) for (let i = 0; i < 64; i++) jdbl(BASEJ, BASEJ);
    oddMultiples(BUILD_J + j * P_ENTRIES * J, BASEJ, <i32>P_ENTRIES);
  }
  normalizeBatch(slot + TABLE_OFF, BUILD_J, 4 * <i32>P_ENTRIES, BUILD_Z);
  store<u32>(slot, 1, 64);
  return slot;
}

/** Z_A of the slot's key for the given ID (cached for the default ID); returns its address. */
const ZA_BUF: usize = memory.data(32, 8);
export function slotZa(slot: usize, id: usize, idLen: u32): usize {
  if (isDefaultId(id, idLen)) {
    if (load<u32>(slot, 68) != 1) {
      computeZa(slot + 72, slot, id, idLen);
      store<u32>(slot, 1, 68);
    }
    return slot + 72;
  }
  computeZa(ZA_BUF, slot, id, idLen);
  return ZA_BUF;
}

// scalars padded to 40 bytes for wnaf's 8-byte reads
const SS: usize = memory.data(40, 8);
const TT: usize = memory.data(40, 8);
const RS: usize = memory.data(40, 8);
const ES: usize = memory.data(40, 8);
const XR: usize = memory.data(40, 8);
const XB: usize = memory.data(32, 8);
const NAFS: usize = memory.data(8 * 144, 8);
const TERMS: usize = memory.data(8 * 8, 8);
const ACC: usize = memory.data(<i32>J, 8);
const FX: usize = memory.data(40, 8);
const FZ: usize = memory.data(40, 8);

/**
 * Checks x(acc) + e = r (mod n) for Jacobian acc without inverting Z. rs, es: scalar limbs.
 * Returns 0 for the point at infinity.
 */
export function checkX(acc: usize, rs: usize, es: usize): u32 {
  if (fisZero(acc + 80)) return 0;
  scSub(XR, rs, es);                       // r - e mod n
  fsqr(FZ, acc + 80);
  scToBE(XB, XR);
  fromBytes(FX, XB);
  fmul(FX, FX, FZ);
  if (feq(FX, acc)) return 1;
  if (!scLt(XR, P_MINUS_N)) return 0;
  // r - e + n < p is also a candidate x1
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(XR + i) + <u64>load<u32>(N + i);
    store<u32>(XR + i, <u32>c);
    c >>= 32;
  }
  scToBE(XB, XR);
  fromBytes(FX, XB);
  fmul(FX, FX, FZ);
  return feq(FX, acc);
}

/**
 * The checks every verification starts with (GB/T 32918.2 §7.1 B1, B2, B5): r, s in
 * [1, n−1], t = (r + s) mod n ≠ 0. Loads r, s, t and e mod n into the given scalars;
 * false if the signature fails them.
 */
export function loadScalars(e: usize, r: usize, s: usize, rs: usize, ss: usize, tt: usize, es: usize): bool {
  scFromBE(rs, r);
  scFromBE(ss, s);
  if (!scInRange(rs) || !scInRange(ss)) return false;
  scAdd(tt, rs, ss);
  if (scIsZero(tt)) return false;
  scFromBE(es, e);
  scReduce(es, es);
  return true;
}

/** Verifies (r, s) (32-byte BE each) on digest e (32-byte BE) for the key in slot. */
export function verifyWithSlot(slot: usize, e: usize, r: usize, s: usize): u32 {
  if (!loadScalars(e, r, s, RS, SS, TT, ES)) return 0;
  // 4 pieces of s over G_j (w = 10), 4 pieces of t over P_j (w = 5)
  for (let j: usize = 0; j < 4; j++) {
    wnaf(NAFS + j * 144, SS, <i32>(j * 64), 64, G_W);
    store<u32>(TERMS + j * 8, <u32>(NAFS + j * 144));
    store<u32>(TERMS + j * 8, <u32>(G_TABLES + j * G_ENTRIES * A), 4);
    wnaf(NAFS + (j + 4) * 144, TT, <i32>(j * 64), 64, P_W);
    store<u32>(TERMS + (j + 4) * 8, <u32>(NAFS + (j + 4) * 144));
    store<u32>(TERMS + (j + 4) * 8, <u32>(slot + TABLE_OFF + j * P_ENTRIES * A), 4);
  }
  msm(ACC, TERMS, 8, 64);
  return checkX(ACC, RS, ES);
}

const PKRAW: usize = memory.data(64, 8);
const EOUT: usize = memory.data(32, 8);

// ---- first-sight keys: verify without building the key's tables ----
//
// Building a key's cache tables costs more than one verification, so a key is cached only
// when it is seen again soon: SEEN remembers a fingerprint of the last uncached key per
// bucket. A key not in SEEN is verified directly: s*G + t*P with 256 doublings, P's odd
// multiples (w = 5) made affine with one inversion, G_0's table (w = 10).

const SEEN_BUCKETS: usize = 256;
const SEEN: usize = memory.data(<i32>(SEEN_BUCKETS * 4), 8);
const DJ: usize = memory.data(<i32>(P_ENTRIES * J), 8);
const DA: usize = memory.data(<i32>(P_ENTRIES * A), 8);
const DZ: usize = memory.data(<i32>(P_ENTRIES * FE), 8);
const DNAF: usize = memory.data(2 * 528, 8);
const DTERMS: usize = memory.data(16, 8);
const ZA_D: usize = memory.data(32, 8);

/** 1 if this uncached key was seen recently (and should now be cached); records it. */
function seenBefore(raw: usize): bool {
  const fp = load<u32>(raw, 24) ^ load<u32>(raw, 56) | 1;
  const hv: u32 = load<u32>(raw, 20) * 0x9E3779B1;
  const b = SEEN + (<usize>(hv >> 24) << 2); // SEEN_BUCKETS = 256
  if (load<u32>(b) == fp) { store<u32>(b, 0); return true; }
  store<u32>(b, fp);
  return false;
}

/** Verifies with the affine key in PT (validated), without tables. */
function verifyDirect(e: usize, r: usize, s: usize): u32 {
  if (!loadScalars(e, r, s, RS, SS, TT, ES)) return 0;
  fcopy(BASEJ, PT); fcopy(BASEJ + 40, PT + 40); fcopy(BASEJ + 80, F_ONE);
  oddMultiples(DJ, BASEJ, <i32>P_ENTRIES);
  normalizeBatch(DA, DJ, <i32>P_ENTRIES, DZ);
  wnaf(DNAF, SS, 0, 256, G_W);
  wnaf(DNAF + 528, TT, 0, 256, P_W);
  store<u32>(DTERMS, <u32>DNAF); store<u32>(DTERMS, <u32>G_TABLES, 4);
  store<u32>(DTERMS, <u32>(DNAF + 528), 8); store<u32>(DTERMS, <u32>DA, 12);
  msm(ACC, DTERMS, 2, 256);
  return checkX(ACC, RS, ES);
}

/**
 * Resolves an encoded key for a single verification: returns a cache slot (hot path),
 * or 0 with PT/PKRAW holding the validated key for verifyDirect, or -1 if invalid.
 */
function resolveKey(pk: usize, len: u32): isize {
  let raw = pk + 1;
  if (len == 65 && load<u8>(pk) == 4) {
    const slot = findSlot(raw);
    if (slot) return <isize>slot;
    if (!fromBytes(PT, raw) || !fromBytes(PT + 40, raw + 32) || !onCurve(PT)) return -1;
    memory.copy(PKRAW, raw, 64);
  } else {
    if (!parsePublicKey(pk, len, PKRAW)) return -1;
    const slot = findSlot(PKRAW);
    if (slot) return <isize>slot;
  }
  if (seenBefore(PKRAW)) return <isize>keySlot(PKRAW, true);
  return 0;
}

/**
 * Single verification for an already validated raw key (x || y) and digest e: cached
 * tables if present, cache on second sight, else direct. Used by batch.ts for unhinted
 * items and for the per-item fallback.
 */
export function verifyRawKey(raw: usize, e: usize, r: usize, s: usize): u32 {
  let slot = findSlot(raw);
  if (!slot) {
    if (seenBefore(raw)) slot = keySlot(raw, true);
    else {
      fromBytes(PT, raw);
      fromBytes(PT + 40, raw + 32);
      return verifyDirect(e, r, s);
    }
  }
  return verifyWithSlot(slot, e, r, s);
}

/** Validates raw key (x || y): x, y < p and on the curve; leaves it affine in PT. */
export function validRaw(raw: usize): bool {
  return fromBytes(PT, raw) != 0 && fromBytes(PT + 40, raw + 32) != 0 && onCurve(PT) != 0;
}

/** Affine key of the last validRaw call (Montgomery form). */
export function lastPoint(): usize { return PT; }

/** 1 if pk (33 or 65 bytes) is a valid public key. */
export function sm2ValidatePublicKey(pk: usize, len: u32, out64: usize): u32 {
  return parsePublicKey(pk, len, out64);
}

/** Verifies a 64- or 65-byte signature on e (hint ignored). */
export function sm2VerifyDigest(pk: usize, pkLen: u32, e: usize, sig: usize, sigLen: u32): u32 {
  if (sigLen != 64 && sigLen != 65) return 0;
  const k = resolveKey(pk, pkLen);
  if (k < 0) return 0;
  if (k == 0) return verifyDirect(e, sig, sig + 32);
  return verifyWithSlot(<usize>k, e, sig, sig + 32);
}

/** Verifies a signature on message msg with user ID (idLen 0xffffffff = default ID). */
export function sm2Verify(pk: usize, pkLen: u32, id: usize, idLen: u32, msg: usize, msgLen: u32, sig: usize, sigLen: u32): u32 {
  if (sigLen != 64 && sigLen != 65) return 0;
  const k = resolveKey(pk, pkLen);
  if (k < 0) return 0;
  if (k == 0) {
    computeZa(ZA_D, PKRAW, id, idLen);
    computeE(EOUT, ZA_D, msg, msgLen);
    return verifyDirect(EOUT, sig, sig + 32);
  }
  computeE(EOUT, slotZa(<usize>k, id, idLen), msg, msgLen);
  return verifyWithSlot(<usize>k, EOUT, sig, sig + 32);
}

/** Z_A for an encoded public key; 0 if the key is invalid. */
export function sm2ZaEncoded(pk: usize, pkLen: u32, id: usize, idLen: u32, out: usize): u32 {
  if (!parsePublicKey(pk, pkLen, PKRAW)) return 0;
  computeZa(out, PKRAW, id, idLen);
  return 1;
}
