// SM2 prime field GF(p), p = 2^256 - 2^224 - 2^96 + 2^64 - 1 (sm2p256v1).
//
// Representation: nine 29-bit limbs (little-endian u32 words, FE = 40 bytes with padding),
// in Montgomery form with R = 2^261. Why 29 bits and not 8x32: WASM has no 64x64->128
// multiply, so 32-bit limbs force every product to be split into low/high halves before
// it can be accumulated. With 29-bit limbs a column of up to nine products is < 2^62 and
// sums directly in one i64 - 81 multiply-adds and no splitting.
//
// Reduction: -p^-1 = 1 (mod 2^29) because p = -1 (mod 2^64), so the Montgomery quotient
// digit is just the low limb, and m*p is four shifted adds (p is sparse). No multiplies.
//
// Lazy reduction: R = 2^261 is 32x larger than p, so for inputs < 2^258 the Montgomery
// output (T + M p) / R < 2^255 + p < 2^257 without any final subtraction. Every stored
// element therefore only satisfies "limbs < 2^29, value < 2^258"; add/sub fold the bits
// above 2^256 back with 2^256 = 2^224 + 2^96 - 2^64 + 1 (mod p). Only fcanon / toBytes /
// comparisons produce the unique representative in [0, p).
//
// Every function here is straight-line (no data-dependent branches or indices), so the
// field layer is constant-time; signing relies on this.

export const FE: usize = 40;
const MASK: i64 = 0x1fffffff;

// 8p in limbs: added in fsub so a - b stays positive for b < 2^258 < 8p.
const P8: usize = memory.data<u32>([0x1ffffff8, 0x1fffffff, 0x00001ff, 0x1ffff000, 0x1fffffff, 0x1fffffff, 0x1fffffff, 0x1effffff, 0x7ffffff, 0]);
const PL: usize = memory.data<u32>([0x1fffffff, 0x1fffffff, 0x000003f, 0x1ffffe00, 0x1fffffff, 0x1fffffff, 0x1fffffff, 0x1fdfffff, 0x0ffffff, 0]);
// R^2 mod p: fmul(x, R2) moves x into Montgomery form.
const R2: usize = memory.data<u32>([0x0000c00, 0x0004000, 0x1fff0000, 0x017ffff, 0x0400000, 0x2000000, 0x0000000, 0x0000001, 0x0000010, 0]);
/** 1 in Montgomery form (R mod p). */
export const F_ONE: usize = memory.data<u32>([0x0000020, 0x0000000, 0x1ffff800, 0x0003fff, 0x0000000, 0x0000000, 0x0000000, 0x4000000, 0x0000000, 0]);
/** Plain 1: fmul(x, F_RAW1) leaves Montgomery form. */
const F_RAW1: usize = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Curve coefficient b in Montgomery form (a = -3 is used implicitly). */
export const F_B: usize = memory.data<u32>([0x181ba844, 0x1230632b, 0x9bd5b86, 0xde6c26d, 0x1878e39e, 0x1505ea51, 0x4293cc0, 0x368838b, 0x081fc31, 0]);
/** Generator coordinates in Montgomery form. */
export const F_GX: usize = memory.data<u32>([0x30053d2, 0x128990f4, 0x16027e89, 0x07b9b29, 0x7867cf3, 0x199ac24c, 0x2eb50f6, 0x1dc704ec, 0x022cf4b, 0]);
export const F_GY: usize = memory.data<u32>([0x5a1bbac, 0x154e593c, 0x14afd309, 0x195e3b4c, 0x11f183eb, 0x1066e2a4, 0x1ec6a67d, 0x13875cd6, 0x079acba, 0]);

/** r = a*b/R mod p (Montgomery). r may alias a or b. */
export function fmul(r: usize, a: usize, b: usize): void {
  const a0 = <i64>load<i32>(a, 0);
  const a1 = <i64>load<i32>(a, 4);
  const a2 = <i64>load<i32>(a, 8);
  const a3 = <i64>load<i32>(a, 12);
  const a4 = <i64>load<i32>(a, 16);
  const a5 = <i64>load<i32>(a, 20);
  const a6 = <i64>load<i32>(a, 24);
  const a7 = <i64>load<i32>(a, 28);
  const a8 = <i64>load<i32>(a, 32);
  const b0 = <i64>load<i32>(b, 0);
  const b1 = <i64>load<i32>(b, 4);
  const b2 = <i64>load<i32>(b, 8);
  const b3 = <i64>load<i32>(b, 12);
  const b4 = <i64>load<i32>(b, 16);
  const b5 = <i64>load<i32>(b, 20);
  const b6 = <i64>load<i32>(b, 24);
  const b7 = <i64>load<i32>(b, 28);
  const b8 = <i64>load<i32>(b, 32);
  let t0 = a0 * b0;
  let t1 = a0 * b1 + a1 * b0;
  let t2 = a0 * b2 + a1 * b1 + a2 * b0;
  let t3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  let t4 = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
  let t5 = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0;
  let t6 = a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0;
  let t7 = a0 * b7 + a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1 + a7 * b0;
  let t8 = a0 * b8 + a1 * b7 + a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2 + a7 * b1 + a8 * b0;
  let t9 = a1 * b8 + a2 * b7 + a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3 + a7 * b2 + a8 * b1;
  let t10 = a2 * b8 + a3 * b7 + a4 * b6 + a5 * b5 + a6 * b4 + a7 * b3 + a8 * b2;
  let t11 = a3 * b8 + a4 * b7 + a5 * b6 + a6 * b5 + a7 * b4 + a8 * b3;
  let t12 = a4 * b8 + a5 * b7 + a6 * b6 + a7 * b5 + a8 * b4;
  let t13 = a5 * b8 + a6 * b7 + a7 * b6 + a8 * b5;
  let t14 = a6 * b8 + a7 * b7 + a8 * b6;
  let t15 = a7 * b8 + a8 * b7;
  let t16 = a8 * b8;
  let t17: i64 = 0;
  // Montgomery reduction, one 29-bit limb at a time: m = t_i mod 2^29 (since
  // -p^-1 = 1 mod 2^29), then t += m*p, with m*p = m*(2^256 - 2^224 - 2^96 + 2^64 - 1)
  // spread as shifts: 256 = 29*8+24, 224 = 29*7+21, 96 = 29*3+9, 64 = 29*2+6.
  let m: i64;
  m = t0 & MASK; t1 += t0 >> 29; t2 += m << 6; t3 -= m << 9; t7 -= m << 21; t8 += m << 24;
  m = t1 & MASK; t2 += t1 >> 29; t3 += m << 6; t4 -= m << 9; t8 -= m << 21; t9 += m << 24;
  m = t2 & MASK; t3 += t2 >> 29; t4 += m << 6; t5 -= m << 9; t9 -= m << 21; t10 += m << 24;
  m = t3 & MASK; t4 += t3 >> 29; t5 += m << 6; t6 -= m << 9; t10 -= m << 21; t11 += m << 24;
  m = t4 & MASK; t5 += t4 >> 29; t6 += m << 6; t7 -= m << 9; t11 -= m << 21; t12 += m << 24;
  m = t5 & MASK; t6 += t5 >> 29; t7 += m << 6; t8 -= m << 9; t12 -= m << 21; t13 += m << 24;
  m = t6 & MASK; t7 += t6 >> 29; t8 += m << 6; t9 -= m << 9; t13 -= m << 21; t14 += m << 24;
  m = t7 & MASK; t8 += t7 >> 29; t9 += m << 6; t10 -= m << 9; t14 -= m << 21; t15 += m << 24;
  m = t8 & MASK; t9 += t8 >> 29; t10 += m << 6; t11 -= m << 9; t15 -= m << 21; t16 += m << 24;
  // (t + M*p) / 2^261 is now t9..t17; carry into 29-bit limbs.
  t10 += t9 >> 29; store<u32>(r, <u32>(t9 & MASK), 0);
  t11 += t10 >> 29; store<u32>(r, <u32>(t10 & MASK), 4);
  t12 += t11 >> 29; store<u32>(r, <u32>(t11 & MASK), 8);
  t13 += t12 >> 29; store<u32>(r, <u32>(t12 & MASK), 12);
  t14 += t13 >> 29; store<u32>(r, <u32>(t13 & MASK), 16);
  t15 += t14 >> 29; store<u32>(r, <u32>(t14 & MASK), 20);
  t16 += t15 >> 29; store<u32>(r, <u32>(t15 & MASK), 24);
  t17 += t16 >> 29; store<u32>(r, <u32>(t16 & MASK), 28);
  store<u32>(r, <u32>t17, 32);
}

/** r = a^2/R mod p; products a_i a_j (i != j) computed once and doubled. */
export function fsqr(r: usize, a: usize): void {
  const a0 = <i64>load<i32>(a, 0);
  const a1 = <i64>load<i32>(a, 4);
  const a2 = <i64>load<i32>(a, 8);
  const a3 = <i64>load<i32>(a, 12);
  const a4 = <i64>load<i32>(a, 16);
  const a5 = <i64>load<i32>(a, 20);
  const a6 = <i64>load<i32>(a, 24);
  const a7 = <i64>load<i32>(a, 28);
  const a8 = <i64>load<i32>(a, 32);
  const d0 = a0 << 1;
  const d1 = a1 << 1;
  const d2 = a2 << 1;
  const d3 = a3 << 1;
  const d4 = a4 << 1;
  const d5 = a5 << 1;
  const d6 = a6 << 1;
  const d7 = a7 << 1;
  let t0 = a0 * a0;
  let t1 = d0 * a1;
  let t2 = d0 * a2 + a1 * a1;
  let t3 = d0 * a3 + d1 * a2;
  let t4 = d0 * a4 + d1 * a3 + a2 * a2;
  let t5 = d0 * a5 + d1 * a4 + d2 * a3;
  let t6 = d0 * a6 + d1 * a5 + d2 * a4 + a3 * a3;
  let t7 = d0 * a7 + d1 * a6 + d2 * a5 + d3 * a4;
  let t8 = d0 * a8 + d1 * a7 + d2 * a6 + d3 * a5 + a4 * a4;
  let t9 = d1 * a8 + d2 * a7 + d3 * a6 + d4 * a5;
  let t10 = d2 * a8 + d3 * a7 + d4 * a6 + a5 * a5;
  let t11 = d3 * a8 + d4 * a7 + d5 * a6;
  let t12 = d4 * a8 + d5 * a7 + a6 * a6;
  let t13 = d5 * a8 + d6 * a7;
  let t14 = d6 * a8 + a7 * a7;
  let t15 = d7 * a8;
  let t16 = a8 * a8;
  let t17: i64 = 0;
  // Montgomery reduction, one 29-bit limb at a time: m = t_i mod 2^29 (since
  // -p^-1 = 1 mod 2^29), then t += m*p, with m*p = m*(2^256 - 2^224 - 2^96 + 2^64 - 1)
  // spread as shifts: 256 = 29*8+24, 224 = 29*7+21, 96 = 29*3+9, 64 = 29*2+6.
  let m: i64;
  m = t0 & MASK; t1 += t0 >> 29; t2 += m << 6; t3 -= m << 9; t7 -= m << 21; t8 += m << 24;
  m = t1 & MASK; t2 += t1 >> 29; t3 += m << 6; t4 -= m << 9; t8 -= m << 21; t9 += m << 24;
  m = t2 & MASK; t3 += t2 >> 29; t4 += m << 6; t5 -= m << 9; t9 -= m << 21; t10 += m << 24;
  m = t3 & MASK; t4 += t3 >> 29; t5 += m << 6; t6 -= m << 9; t10 -= m << 21; t11 += m << 24;
  m = t4 & MASK; t5 += t4 >> 29; t6 += m << 6; t7 -= m << 9; t11 -= m << 21; t12 += m << 24;
  m = t5 & MASK; t6 += t5 >> 29; t7 += m << 6; t8 -= m << 9; t12 -= m << 21; t13 += m << 24;
  m = t6 & MASK; t7 += t6 >> 29; t8 += m << 6; t9 -= m << 9; t13 -= m << 21; t14 += m << 24;
  m = t7 & MASK; t8 += t7 >> 29; t9 += m << 6; t10 -= m << 9; t14 -= m << 21; t15 += m << 24;
  m = t8 & MASK; t9 += t8 >> 29; t10 += m << 6; t11 -= m << 9; t15 -= m << 21; t16 += m << 24;
  // (t + M*p) / 2^261 is now t9..t17; carry into 29-bit limbs.
  t10 += t9 >> 29; store<u32>(r, <u32>(t9 & MASK), 0);
  t11 += t10 >> 29; store<u32>(r, <u32>(t10 & MASK), 4);
  t12 += t11 >> 29; store<u32>(r, <u32>(t11 & MASK), 8);
  t13 += t12 >> 29; store<u32>(r, <u32>(t12 & MASK), 12);
  t14 += t13 >> 29; store<u32>(r, <u32>(t13 & MASK), 16);
  t15 += t14 >> 29; store<u32>(r, <u32>(t14 & MASK), 20);
  t16 += t15 >> 29; store<u32>(r, <u32>(t15 & MASK), 24);
  t17 += t16 >> 29; store<u32>(r, <u32>(t16 & MASK), 28);
  store<u32>(r, <u32>t17, 32);
}


// Carry-propagates t0..t8 into 29-bit limbs, folds bits >= 256 back in, carries again.
// Input may have signed limbs of magnitude < 2^62 and total value in (0, 2^262);
// output value < 2^256 + 2^235.
// @ts-ignore: decorator
@inline function carryFoldStore(r: usize, t0: i64, t1: i64, t2: i64, t3: i64, t4: i64, t5: i64, t6: i64, t7: i64, t8: i64): void {
  t1 += t0 >> 29; t0 &= MASK;
  t2 += t1 >> 29; t1 &= MASK;
  t3 += t2 >> 29; t2 &= MASK;
  t4 += t3 >> 29; t3 &= MASK;
  t5 += t4 >> 29; t4 &= MASK;
  t6 += t5 >> 29; t5 &= MASK;
  t7 += t6 >> 29; t6 &= MASK;
  t8 += t7 >> 29; t7 &= MASK;
  // limb 8 holds bits 232..; h = bits >= 256.
  const h = t8 >> 24; t8 &= 0xffffff;
  t0 += h; t2 -= h << 6; t3 += h << 9; t7 += h << 21;
  t1 += t0 >> 29; t0 &= MASK;
  t2 += t1 >> 29; t1 &= MASK;
  t3 += t2 >> 29; t2 &= MASK;
  t4 += t3 >> 29; t3 &= MASK;
  t5 += t4 >> 29; t4 &= MASK;
  t6 += t5 >> 29; t5 &= MASK;
  t7 += t6 >> 29; t6 &= MASK;
  t8 += t7 >> 29; t7 &= MASK;
  store<u32>(r, <u32>t0, 0); store<u32>(r, <u32>t1, 4); store<u32>(r, <u32>t2, 8);
  store<u32>(r, <u32>t3, 12); store<u32>(r, <u32>t4, 16); store<u32>(r, <u32>t5, 20);
  store<u32>(r, <u32>t6, 24); store<u32>(r, <u32>t7, 28); store<u32>(r, <u32>t8, 32);
}


// One carry pass, then fold bits >= 256 back in without a second pass: the folded limbs
// (0, 2, 3, 7) end up in (-2^12, 2^29 + 2^27), which fmul/fsqr accept (they load limbs
// as signed i32 and a column of nine such products stays below 2^62). Value < 2^257.
// Input: signed limbs of magnitude < 2^40, total value in (0, 2^262).
// @ts-ignore: decorator
@inline function carryFoldFast(r: usize, t0: i64, t1: i64, t2: i64, t3: i64, t4: i64, t5: i64, t6: i64, t7: i64, t8: i64): void {
  t1 += t0 >> 29; t0 &= MASK;
  t2 += t1 >> 29; t1 &= MASK;
  t3 += t2 >> 29; t2 &= MASK;
  t4 += t3 >> 29; t3 &= MASK;
  t5 += t4 >> 29; t4 &= MASK;
  t6 += t5 >> 29; t5 &= MASK;
  t7 += t6 >> 29; t6 &= MASK;
  t8 += t7 >> 29; t7 &= MASK;
  const h = t8 >> 24; t8 &= 0xffffff;
  t0 += h; t2 -= h << 6; t3 += h << 9; t7 += h << 21;
  store<i32>(r, <i32>t0, 0); store<i32>(r, <i32>t1, 4); store<i32>(r, <i32>t2, 8);
  store<i32>(r, <i32>t3, 12); store<i32>(r, <i32>t4, 16); store<i32>(r, <i32>t5, 20);
  store<i32>(r, <i32>t6, 24); store<i32>(r, <i32>t7, 28); store<i32>(r, <i32>t8, 32);
}

// @ts-ignore: decorator
@inline function L(a: usize, i: usize): i64 { return <i64>load<i32>(a + (i << 2)); }

export function fadd(r: usize, a: usize, b: usize): void {
  carryFoldFast(r,
    L(a, 0) + L(b, 0), L(a, 1) + L(b, 1), L(a, 2) + L(b, 2), L(a, 3) + L(b, 3), L(a, 4) + L(b, 4),
    L(a, 5) + L(b, 5), L(a, 6) + L(b, 6), L(a, 7) + L(b, 7), L(a, 8) + L(b, 8));
}

/** r = a - b (+ 8p, so the value stays positive). */
export function fsub(r: usize, a: usize, b: usize): void {
  carryFoldFast(r,
    L(a, 0) - L(b, 0) + L(P8, 0), L(a, 1) - L(b, 1) + L(P8, 1), L(a, 2) - L(b, 2) + L(P8, 2),
    L(a, 3) - L(b, 3) + L(P8, 3), L(a, 4) - L(b, 4) + L(P8, 4), L(a, 5) - L(b, 5) + L(P8, 5),
    L(a, 6) - L(b, 6) + L(P8, 6), L(a, 7) - L(b, 7) + L(P8, 7), L(a, 8) - L(b, 8) + L(P8, 8));
}

/** r = 2a. */
export function fdbl(r: usize, a: usize): void { fadd(r, a, a); }

/** r = k*a for a small constant k (<= 8). */
export function fmulSmall(r: usize, a: usize, k: i64): void {
  carryFoldFast(r,
    L(a, 0) * k, L(a, 1) * k, L(a, 2) * k, L(a, 3) * k, L(a, 4) * k,
    L(a, 5) * k, L(a, 6) * k, L(a, 7) * k, L(a, 8) * k);
}

/** r = -a. */
export function fneg(r: usize, a: usize): void {
  carryFoldFast(r,
    L(P8, 0) - L(a, 0), L(P8, 1) - L(a, 1), L(P8, 2) - L(a, 2), L(P8, 3) - L(a, 3), L(P8, 4) - L(a, 4),
    L(P8, 5) - L(a, 5), L(P8, 6) - L(a, 6), L(P8, 7) - L(a, 7), L(P8, 8) - L(a, 8));
}

export function fcopy(r: usize, a: usize): void { memory.copy(r, a, FE); }

/** Constant-time: r = mask ? a : r, mask all-ones or zero. */
export function fcmov(r: usize, a: usize, mask: u32): void {
  const m = <u64>mask | (<u64>mask << 32);
  store<u64>(r, (load<u64>(r) & ~m) | (load<u64>(a) & m));
  store<u64>(r, (load<u64>(r, 8) & ~m) | (load<u64>(a, 8) & m), 8);
  store<u64>(r, (load<u64>(r, 16) & ~m) | (load<u64>(a, 16) & m), 16);
  store<u64>(r, (load<u64>(r, 24) & ~m) | (load<u64>(a, 24) & m), 24);
  store<u32>(r, (load<u32>(r, 32) & ~mask) | (load<u32>(a, 32) & mask), 32);
}

/** Unique representative in [0, p) (still in whatever domain a was in). Constant-time. */
export function fcanon(r: usize, a: usize): void {
  // full carry + fold: value < 2^256 + 2^235 < 2p, limbs normalized
  carryFoldStore(r, L(a, 0), L(a, 1), L(a, 2), L(a, 3), L(a, 4), L(a, 5), L(a, 6), L(a, 7), L(a, 8));
  let c: i64 = 0;
  // d = r - p; keep d unless it went negative.
  for (let i: usize = 0; i < 36; i += 4) {
    c += <i64>load<u32>(r + i) - <i64>load<u32>(PL + i);
    store<u32>(TMP_D + i, <u32>(c & MASK));
    c >>= 29;
  }
  const m32 = <u32>(c >> 63); // all ones if r < p
  for (let i: usize = 0; i < 36; i += 4) {
    store<u32>(r + i, (load<u32>(r + i) & m32) | (load<u32>(TMP_D + i) & ~m32));
  }
}
const TMP_D: usize = memory.data(40, 8);
export const F_ZERO: usize = memory.data(40, 8);
const TMP_Z: usize = memory.data(40, 8);
const TMP_Z2: usize = memory.data(40, 8);

/** 1 if a = 0 (mod p). Constant-time. */
export function fisZero(a: usize): u32 {
  fcanon(TMP_Z, a);
  let acc: u32 = 0;
  for (let i: usize = 0; i < 36; i += 4) acc |= load<u32>(TMP_Z + i);
  return <u32>((<u64>acc - 1) >> 63);
}

/** 1 if a = b (mod p). */
export function feq(a: usize, b: usize): u32 {
  fsub(TMP_Z2, a, b);
  return fisZero(TMP_Z2);
}

/** r = a^(2^n) */
export function fsqrN(r: usize, a: usize, n: i32): void {
  fsqr(r, a);
  for (let i = 1; i < n; i++) fsqr(r, r);
}

const X2: usize = memory.data(40, 8);
const X3: usize = memory.data(40, 8);
const X6: usize = memory.data(40, 8);
const X12: usize = memory.data(40, 8);
const X24: usize = memory.data(40, 8);
const X30: usize = memory.data(40, 8);
const X31: usize = memory.data(40, 8);
const X32: usize = memory.data(40, 8);
const XA: usize = memory.data(40, 8);
const XT: usize = memory.data(40, 8);

// x_k = a^(2^k - 1): the runs of ones that both p-2 and (p+1)/4 are made of.
function onesChain(a: usize): void {
  fcopy(XA, a);
  fsqr(X2, XA); fmul(X2, X2, XA);
  fsqr(X3, X2); fmul(X3, X3, XA);
  fsqrN(X6, X3, 3); fmul(X6, X6, X3);
  fsqrN(X12, X6, 6); fmul(X12, X12, X6);
  fsqrN(X24, X12, 12); fmul(X24, X24, X12);
  fsqrN(X30, X24, 6); fmul(X30, X30, X6);
  fsqr(X31, X30); fmul(X31, X31, XA);
  fsqr(X32, X31); fmul(X32, X32, XA);
}

/**
 * r = a^(p-2) = a^-1 (0 maps to 0). Fixed addition chain, so constant-time.
 * p-2 = 1^31 0 1^128 0^32 1^62 0 1 (bits, high to low).
 */
export function finv(r: usize, a: usize): void {
  onesChain(a);
  fsqr(XT, X31);
  for (let i = 0; i < 4; i++) { fsqrN(XT, XT, 32); fmul(XT, XT, X32); }
  fsqrN(XT, XT, 32);
  fsqrN(XT, XT, 31); fmul(XT, XT, X31);
  fsqrN(XT, XT, 31); fmul(XT, XT, X31);
  fsqr(XT, XT);
  fsqr(XT, XT); fmul(r, XT, XA);
}

/**
 * r = a^((p+1)/4), a square root of a when one exists (p = 3 mod 4); the caller checks
 * r^2 = a. (p+1)/4 = 1^31 0 1^128 0^31 1 0^62.
 */
export function fsqrtCandidate(r: usize, a: usize): void {
  onesChain(a);
  fsqr(XT, X31);
  for (let i = 0; i < 4; i++) { fsqrN(XT, XT, 32); fmul(XT, XT, X32); }
  fsqrN(XT, XT, 31);
  fsqr(XT, XT); fmul(XT, XT, XA);
  fsqrN(r, XT, 62);
}

const BYTES_Q: usize = memory.data(48, 8);

/** Reads a 32-byte big-endian integer into plain (non-Montgomery) limbs; returns 1 if < p. */
export function fromBytesRaw(r: usize, src: usize): u32 {
  for (let j: usize = 0; j < 4; j++) store<u64>(BYTES_Q + (j << 3), bswap<u64>(load<u64>(src + 24 - (j << 3))));
  store<u64>(BYTES_Q, 0, 32);
  for (let i: usize = 0; i < 9; i++) {
    const o = i * 29;
    const w = o >> 6;
    const sh = <u64>(o & 63);
    let v = load<u64>(BYTES_Q + (w << 3)) >> sh;
    if (sh > 35) v |= load<u64>(BYTES_Q + ((w + 1) << 3)) << (64 - sh);
    store<u32>(r + (i << 2), <u32>(v & 0x1fffffff));
  }
  store<u32>(r, 0, 36);
  // value < p iff value - p borrows
  let c: i64 = 0;
  for (let i: usize = 0; i < 36; i += 4) {
    c += <i64>load<u32>(r + i) - <i64>load<u32>(PL + i);
    c >>= 29;
  }
  return <u32>((c >> 63) & 1);
}

/** r = Montgomery form of the 32-byte big-endian integer at src; returns 1 if it was < p. */
export function fromBytes(r: usize, src: usize): u32 {
  const ok = fromBytesRaw(r, src);
  fmul(r, r, R2);
  return ok;
}

/** Writes the canonical value of Montgomery-form a as 32 bytes big-endian. */
export function toBytes(out: usize, a: usize): void {
  fmul(TMP_D2, a, F_RAW1);
  fcanon(TMP_D2, TMP_D2);
  store<u64>(BYTES_Q, 0, 0); store<u64>(BYTES_Q, 0, 8); store<u64>(BYTES_Q, 0, 16); store<u64>(BYTES_Q, 0, 24); store<u64>(BYTES_Q, 0, 32);
  for (let i: usize = 0; i < 9; i++) {
    const v = <u64>load<u32>(TMP_D2 + (i << 2));
    const o = i * 29;
    const w = o >> 6;
    const sh = <u64>(o & 63);
    store<u64>(BYTES_Q + (w << 3), load<u64>(BYTES_Q + (w << 3)) | (v << sh));
    if (sh > 35) store<u64>(BYTES_Q + ((w + 1) << 3), load<u64>(BYTES_Q + ((w + 1) << 3)) | (v >> (64 - sh)));
  }
  for (let j: usize = 0; j < 4; j++) store<u64>(out + 24 - (j << 3), bswap<u64>(load<u64>(BYTES_Q + (j << 3))));
}
const TMP_D2: usize = memory.data(40, 8);

/** Parity of the canonical value of Montgomery-form a. */
export function fparity(a: usize): u32 {
  fmul(TMP_D2, a, F_RAW1);
  fcanon(TMP_D2, TMP_D2);
  return load<u32>(TMP_D2) & 1;
}

/** Plain integer (limbs) -> Montgomery form. */
export function toMont(r: usize, a: usize): void { fmul(r, a, R2); }
