// Batch verification of many signatures in one call.
//
// Packed item layout (ITEM_BYTES = 192; offsets are relative to the buffer start `buf`):
//   [0, 65)    public key: 04 || x || y, or 02/03 || x (33 bytes, rest ignored)
//   [65]       flags: bit0 hint present (65-byte signature), bit1 digest e present,
//              bit2 custom ID (else default "1234567812345678"), bit7 reject outright
//   [66]       hint: bit0 parity of y1, bit1 x1 >= n
//   [68, 72)   ID offset (u32 LE, from buf)     [72, 76)  ID length
//   [76, 80)   message offset (u32 LE, from buf) [80, 84) message length
//   [96, 128)  e (BE); written here when bit1 is clear
//   [128, 160) r (BE)   [160, 192) s (BE)
// Results: one byte per item at `out` (1 valid, 0 invalid).
//
// Math. For a valid signature R = s*G + t*P (t = r + s) satisfies x(R) = r - e (mod n).
// With the hint, R itself is known from (r, e): x = (r - e) mod n (+ n if bit1), y from the
// curve equation with the hinted parity. So, for random odd 128-bit z_i (from the host
// CSPRNG), all hinted items of a chunk are checked at once by
//     (sum z_i s_i) G + sum_keys (sum z_i t_i) P_k - sum z_i R_i = O
// as one multi-scalar multiplication (Straus, interleaved wNAF) with 256 shared doublings:
// G and each distinct key appear once with their scalars summed mod n (G over its w = 10
// table, each key over its w = 5 odd multiples, from the key cache or built here), each R_i
// contributes a width-4 wNAF of z_i. Because the doublings are shared, a key needs no
// 2^64/2^128 multiples: a key seen once costs its 8-point table, not a cache build. The
// tables built in the chunk (R_i's and new keys') are computed directly in affine
// coordinates for all items together, one shared inversion per round (oddMultiplesAffine).
// If the equation fails, every hinted item of the chunk is re-verified individually with
// the standard algorithm, which ignores hints: a wrong hint can only cost time, never
// change an answer. Unhinted items, and items whose hint yields no curve point, are always
// verified individually.

import { FE, fromBytes, fneg, fcopy } from './field';
import { A, decompress, oddMultiplesAffine, G_TABLES, G_ENTRIES, G_W, msm, wnaf, isInfinity } from './point';
import { N, scIsZero, scAdd, scSub, scLt, scMontMul, scFromMontSum, scToBE } from './scalar';
import { computeE, computeZa } from './za';
import { findSlot, parsePublicKey, validRaw, lastPoint, verifyRawKey, loadScalars, P_ENTRIES, TABLE_OFF, P_W } from './verify';

export const ITEM_BYTES: usize = 192;
export const SM2_ITEM_BYTES: usize = ITEM_BYTES;
// The packed item's fields (layout above), named once; the host reads them from the module.
export const SM2_ITEM_FLAGS: usize = 65;
export const SM2_ITEM_HINT: usize = 66;
export const SM2_ITEM_ID_OFF: usize = 68;
export const SM2_ITEM_ID_LEN: usize = 72;
export const SM2_ITEM_MSG_OFF: usize = 76;
export const SM2_ITEM_MSG_LEN: usize = 80;
export const SM2_ITEM_E: usize = 96;
export const SM2_ITEM_R: usize = 128;
export const SM2_ITEM_S: usize = 160;
/** Items per multi-scalar multiplication: bounds scratch and the cost of a failed chunk. */
export const CHUNK: usize = 512;

const F_HINT: u8 = 1;
const F_DIGEST: u8 = 2;
const F_ID: u8 = 4;
const F_REJECT: u8 = 128;

const KEYMAP_SLOTS: usize = 2 * CHUNK;
const NAF_LEN: usize = 520; // 257 i16 digits, padded
const MAX_TERMS: usize = 1 + 2 * CHUNK;

// Per-key record (KEYREC bytes) in scratch:
//   [0, 64) raw key   [64] 1 valid   [68] 1 when Z_A holds the default-ID Z_A
//   [72, 104) Z_A     [104, 144) T = sum z_i t_i (scalar, padded)   [144] table address
//   [152, 152 + 8A) copy of the key's cached w = 5 table (uncached keys' tables are
//   built at OFF_NEWK; [144] points at whichever applies)
const KEYREC: usize = 152 + P_ENTRIES * A;

const OFF_KEYMAP: usize = 0;
const OFF_KEYS: usize = OFF_KEYMAP + KEYMAP_SLOTS * 4;
const OFF_NEWK: usize = OFF_KEYS + CHUNK * KEYREC;        // new keys' tables (stride 8A)
const OFF_NAF: usize = OFF_NEWK + CHUNK * P_ENTRIES * A;
const OFF_TERMS: usize = OFF_NAF + MAX_TERMS * NAF_LEN;
const OFF_RA: usize = OFF_TERMS + MAX_TERMS * 8;       // R tables: 4 affine points per item
const OFF_RSCR: usize = OFF_RA + CHUNK * 4 * A;          // oddMultiplesAffine scratch
const OFF_ITEMS: usize = OFF_RSCR + CHUNK * (3 * FE + A);

const OFF_Z: usize = OFF_ITEMS + CHUNK * 4;
/** Scratch bytes sm2VerifyPacked needs. */
export const SM2_BATCH_SCRATCH: usize = OFF_Z + CHUNK * 40;

const RS: usize = memory.data(40, 8);
const SS: usize = memory.data(40, 8);
const TT: usize = memory.data(40, 8);
const ES: usize = memory.data(40, 8);
const XR: usize = memory.data(40, 8);
const XB: usize = memory.data(32, 8);
const SACC: usize = memory.data(40, 8);
const PROD: usize = memory.data(40, 8);
const RPT: usize = memory.data(80, 8);
const ACC: usize = memory.data(120, 8);
const RAW: usize = memory.data(64, 8);
const P_MINUS_N: usize = memory.data<u32>([
  0xC62ABEDC, 0xAC440BF6, 0xDE39FAD5, 0x8DFC2093, 0, 0, 0, 0,
]);

const NO_KEY: usize = <usize>-1;

// Keys of this chunk whose tables are built here (at OFF_NEWK).
let nnew: usize = 0;

/**
 * The chunk's key record index for item rec (inserting it on first sight), or NO_KEY if
 * the item is rejected. Compressed keys are expanded in place. Computes e into the record
 * when the digest is not supplied. Marks the item rejected if its key is invalid.
 */
function prepare(scratch: usize, buf: usize, rec: usize, nkeys: usize): usize {
  const flags = load<u8>(rec, SM2_ITEM_FLAGS);
  if (flags & F_REJECT) return NO_KEY;
  const raw = rec + 1;
  if (load<u8>(rec) != 4) {
    if (!parsePublicKey(rec, 33, RAW)) { store<u8>(rec, flags | F_REJECT, SM2_ITEM_FLAGS); return NO_KEY; }
    store<u8>(rec, 4);
    memory.copy(rec + 1, RAW, 64);
  }
  const map = scratch + OFF_KEYMAP;
  const hv: u32 = load<u32>(raw, 28) * 0x9E3779B1; // u32 product: wraps
  let h = <usize>(hv >> 16) & (KEYMAP_SLOTS - 1);
  let k: usize = NO_KEY;
  while (true) {
    const v = <usize>load<u32>(map + (h << 2));
    if (v == 0) break;
    const kr = scratch + OFF_KEYS + (v - 1) * KEYREC;
    if (memory.compare(kr, raw, 64) == 0) { k = v - 1; break; }
    h = (h + 1) & (KEYMAP_SLOTS - 1);
  }
  if (k == NO_KEY) {
    k = nkeys;
    const kr = scratch + OFF_KEYS + k * KEYREC;
    memory.copy(kr, raw, 64);
    memory.fill(kr + 64, 0, 80);
    store<u32>(map + (h << 2), <u32>(k + 1));
    const slot = findSlot(raw);
    if (slot) {
      store<u32>(kr, 1, 64);
      if (load<u32>(slot, 68) == 1) { memory.copy(kr + 72, slot + 72, 32); store<u32>(kr, 1, 68); }
      memory.copy(kr + 152, slot + TABLE_OFF, P_ENTRIES * A);
      store<u32>(kr, <u32>(kr + 152), 144);
    } else if (validRaw(raw)) {
      store<u32>(kr, 1, 64);
      // P now; 3P .. 15P for all new keys at once after the loop
      const t = scratch + OFF_NEWK + nnew * P_ENTRIES * A;
      memory.copy(t, lastPoint(), A);
      store<u32>(kr, <u32>t, 144);
      nnew++;
    }
  }
  const kr = scratch + OFF_KEYS + k * KEYREC;
  if (load<u32>(kr, 64) != 1) { store<u8>(rec, flags | F_REJECT, SM2_ITEM_FLAGS); return k; }
  if (!(flags & F_DIGEST)) {
    const msg = buf + <usize>load<u32>(rec, SM2_ITEM_MSG_OFF);
    const msgLen = load<u32>(rec, SM2_ITEM_MSG_LEN);
    if (flags & F_ID) {
      computeZa(PROD, raw, buf + <usize>load<u32>(rec, SM2_ITEM_ID_OFF), load<u32>(rec, SM2_ITEM_ID_LEN));
      computeE(rec + SM2_ITEM_E, PROD, msg, msgLen);
    } else {
      if (load<u32>(kr, 68) != 1) { computeZa(kr + 72, raw, 0, 0xffffffff); store<u32>(kr, 1, 68); }
      computeE(rec + SM2_ITEM_E, kr + 72, msg, msgLen);
    }
    store<u8>(rec, flags | F_DIGEST, SM2_ITEM_FLAGS);
  }
  return k;
}

/**
 * Verifies `count` packed items at buf; writes one result byte per item to out; `rand`
 * holds 16 random bytes per item; `scratch` SM2_BATCH_SCRATCH bytes. Returns the number
 * of valid items.
 */
// Chunks whose batch equation failed (so every hinted item was re-verified alone), since
// the module was instantiated. The answers are the same either way; this is how tests and
// metrics see that the fast path is really taken.
let equationFailures: u32 = 0;

/** Number of chunks whose batch equation failed since instantiation. */
export function sm2BatchFallbacks(): u32 {
  return equationFailures;
}

export function sm2VerifyPacked(buf: usize, count: u32, out: usize, rand: usize, scratch: usize): u32 {
  let valid: u32 = 0;
  for (let base: usize = 0; base < <usize>count; base += CHUNK) {
    const end = min<usize>(base + CHUNK, <usize>count);
    valid += chunk(buf, base, end, out, rand, scratch);
  }
  return valid;
}

function chunk(buf: usize, base: usize, end: usize, out: usize, rand: usize, scratch: usize): u32 {
  memory.fill(scratch + OFF_KEYMAP, 0, KEYMAP_SLOTS * 4);
  memory.fill(SACC, 0, 40);
  nnew = 0;
  let nkeys: usize = 0;
  let m: usize = 0; // hinted items in the batch equation
  let valid: u32 = 0;
  const items = scratch + OFF_ITEMS;
  for (let i = base; i < end; i++) {
    const rec = buf + i * ITEM_BYTES;
    store<u8>(out + i, 0);
    const k = prepare(scratch, buf, rec, nkeys);
    if (k == nkeys) nkeys++;
    if (k == NO_KEY || (load<u8>(rec, SM2_ITEM_FLAGS) & F_REJECT)) continue;
    const kr = scratch + OFF_KEYS + k * KEYREC;
    if (!(load<u8>(rec, SM2_ITEM_FLAGS) & F_HINT)) {
      const ok = verifyRawKey(kr, rec + SM2_ITEM_E, rec + SM2_ITEM_R, rec + SM2_ITEM_S);
      store<u8>(out + i, <u8>ok); valid += ok;
      continue;
    }
    if (!loadScalars(rec + SM2_ITEM_E, rec + SM2_ITEM_R, rec + SM2_ITEM_S, RS, SS, TT, ES)) continue;
    // R from the hint
    const hint = load<u8>(rec, SM2_ITEM_HINT);
    scSub(XR, RS, ES);
    let hintOk = true;
    if (hint & 2) {
      if (!scLt(XR, P_MINUS_N)) hintOk = false;
      else {
        let c: u64 = 0;
        for (let q: usize = 0; q < 32; q += 4) {
          c += <u64>load<u32>(XR + q) + <u64>load<u32>(N + q);
          store<u32>(XR + q, <u32>c);
          c >>= 32;
        }
      }
    }
    if (hintOk) {
      scToBE(XB, XR);
      fromBytes(RPT, XB);
      hintOk = decompress(RPT, <u32>(hint & 1)) != 0;
    }
    if (!hintOk) {
      const ok = verifyRawKey(kr, rec + SM2_ITEM_E, rec + SM2_ITEM_R, rec + SM2_ITEM_S);
      store<u8>(out + i, <u8>ok); valid += ok;
      continue;
    }
    // z: 128 random bits, forced odd so it is never zero
    const z = scratch + OFF_Z + m * 40;
    memory.fill(z, 0, 40);
    memory.copy(z, rand + i * 16, 16);
    store<u32>(z, load<u32>(z) | 1);
    // sums of z*s*R^-1 (one Montgomery product each); R^-1 is removed once per sum below
    scMontMul(PROD, z, SS);
    scAdd(SACC, SACC, PROD);
    scMontMul(PROD, z, TT);
    scAdd(kr + 104, kr + 104, PROD);
    // -R; its odd multiples 3, 5, 7 are filled in for all items at once below
    const rt = scratch + OFF_RA + m * 4 * A;
    fcopy(rt, RPT);
    fneg(rt + 40, RPT + 40);
    store<u32>(items + (m << 2), <u32>i);
    m++;
  }
  if (m == 0) return valid;
  oddMultiplesAffine(scratch + OFF_NEWK, P_ENTRIES * A, P_ENTRIES, <i32>nnew, scratch + OFF_RSCR);
  oddMultiplesAffine(scratch + OFF_RA, 4 * A, 4, <i32>m, scratch + OFF_RSCR);
  // terms: G, each key with a nonzero scalar, each R_i; all over 256 doublings
  const naf = scratch + OFF_NAF;
  const terms = scratch + OFF_TERMS;
  let nt: usize = 0;
  scFromMontSum(SACC, SACC);
  wnaf(naf, SACC, 0, 256, G_W);
  store<u32>(terms, <u32>naf);
  store<u32>(terms, <u32>G_TABLES, 4);
  nt++;
  for (let k: usize = 0; k < nkeys; k++) {
    const kr = scratch + OFF_KEYS + k * KEYREC;
    if (load<u32>(kr, 64) != 1 || scIsZero(kr + 104)) continue; // no hinted item (or the sum vanished)
    scFromMontSum(kr + 104, kr + 104);
    const nafp = naf + nt * NAF_LEN;
    wnaf(nafp, kr + 104, 0, 256, P_W);
    store<u32>(terms + nt * 8, <u32>nafp);
    store<u32>(terms + nt * 8, load<u32>(kr, 144), 4);
    nt++;
  }
  const high = nt; // G and key terms; the R_i terms below have no digits above 128
  for (let j: usize = 0; j < m; j++) {
    const nafp = naf + nt * NAF_LEN;
    wnaf(nafp, scratch + OFF_Z + j * 40, 0, 128, 4);
    store<u32>(terms + nt * 8, <u32>nafp);
    store<u32>(terms + nt * 8, <u32>(scratch + OFF_RA + j * 4 * A), 4);
    nt++;
  }
  msm(ACC, terms, <i32>nt, 256, <i32>high, 128);
  const pass = isInfinity(ACC) != 0;
  if (!pass) equationFailures++;
  for (let j: usize = 0; j < m; j++) {
    const i = <usize>load<u32>(items + (j << 2));
    let ok: u32 = 1;
    if (!pass) {
      const rec = buf + i * ITEM_BYTES;
      ok = verifyRawKey(rec + 1, rec + SM2_ITEM_E, rec + SM2_ITEM_R, rec + SM2_ITEM_S);
    }
    store<u8>(out + i, <u8>ok); valid += ok;
  }
  return valid;
}
