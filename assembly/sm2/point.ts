// Points on sm2p256v1: y^2 = x^3 - 3x + b over GF(p), prime order n (cofactor 1).
//
// Jacobian (X, Y, Z) represents (X/Z^2, Y/Z^3); Z = 0 is the point at infinity.
// Layout: J = 120 bytes (X at 0, Y at 40, Z at 80); affine A = 80 bytes (x at 0, y at 40).
// Coordinates are field elements in Montgomery form (see field.ts).
//
// Two kinds of addition:
//  - *Var functions check for infinity / P = Q / P = -Q and branch: used by verification,
//    where inputs are public and adversarial inputs must still give exact answers.
//  - maddRaw is the bare formula with no special cases: used by constant-time fixed-base
//    multiplication, whose caller proves the special cases cannot occur (see sign.ts).

import {
  FE, F_ONE, F_B, F_GX, F_GY, fadd, fsub, fdbl, fneg, fmulSmall, fmul, fsqr, fcopy, fcmov, fisZero, feq, finv,
  fsqrtCandidate, fparity,
} from './field';

export const J: usize = 120;
export const A: usize = 80;

const D_: usize = memory.data(40, 8);
const GM: usize = memory.data(40, 8);
const BT: usize = memory.data(40, 8);
const AL: usize = memory.data(40, 8);
const T1: usize = memory.data(40, 8);
const T2: usize = memory.data(40, 8);
const T3: usize = memory.data(40, 8);
const HH: usize = memory.data(40, 8);
const HHH: usize = memory.data(40, 8);
const H_: usize = memory.data(40, 8);
const RR: usize = memory.data(40, 8);
const U1: usize = memory.data(40, 8);
const U2: usize = memory.data(40, 8);
const S1: usize = memory.data(40, 8);
const S2: usize = memory.data(40, 8);
const ZZ: usize = memory.data(40, 8);
const V_: usize = memory.data(40, 8);

export function setInfinity(r: usize): void {
  fcopy(r, F_ONE); fcopy(r + 40, F_ONE); memory.fill(r + 80, 0, 40);
}

export function isInfinity(p: usize): u32 { return fisZero(p + 80); }

/** r = affine q as Jacobian (Z = 1). */
export function fromAffine(r: usize, q: usize): void {
  fcopy(r, q); fcopy(r + 40, q + 40); fcopy(r + 80, F_ONE);
}

/**
 * r = 2p for a = -3 (dbl-2001-b with Z3 = 2YZ): 4M + 4S + 5 small multiples + 5 add/sub.
 * Complete for this curve: infinity (Z = 0) stays infinity, and no finite point has
 * Y = 0 (n is odd). r may alias p.
 */
export function jdbl(r: usize, p: usize): void {
  fsqr(D_, p + 80);            // delta = Z^2
  fsqr(GM, p + 40);            // gamma = Y^2
  fmul(BT, p, GM);             // beta = X*gamma
  fsub(T1, p, D_);
  fadd(T2, p, D_);
  fmul(AL, T1, T2);
  fmulSmall(AL, AL, 3);        // alpha = 3(X - delta)(X + delta)
  fmul(T1, p + 40, p + 80);
  fmulSmall(r + 80, T1, 2);    // Z3 = 2YZ (Y, Z no longer needed)
  fsqr(T2, AL);
  fmulSmall(BT, BT, 4);        // 4 beta
  fadd(T1, BT, BT);            // 8 beta
  fsub(r, T2, T1);             // X3 = alpha^2 - 8 beta
  fsub(T2, BT, r);
  fmul(T2, AL, T2);
  fsqr(GM, GM);
  fmulSmall(GM, GM, 8);
  fsub(r + 40, T2, GM);        // Y3 = alpha (4 beta - X3) - 8 gamma^2
}

// Shared tail of the additions: given H, RR (= S2 - S1) in temporaries and pointers to
// U1 (the "X1" term), S1 and the product of the input Z's, writes X3, Y3, Z3 = zz*H.
// u1, s1, zz may live inside r: each is read for the last time before r's part is written.
function addTail(r: usize, u1: usize, s1: usize, zz: usize): void {
  fsqr(HH, H_);
  fmul(HHH, H_, HH);
  fmul(V_, u1, HH);
  fmul(T2, s1, HHH);           // S1 H^3 (before Y3 overwrites s1)
  fmul(r + 80, zz, H_);
  fsqr(T1, RR);
  fsub(T1, T1, HHH);
  fdbl(T3, V_);
  fsub(r, T1, T3);             // X3 = RR^2 - H^3 - 2 U1 H^2
  fsub(T1, V_, r);
  fmul(T1, RR, T1);
  fsub(r + 40, T1, T2);        // Y3 = RR (U1 H^2 - X3) - S1 H^3
}

/**
 * r = p + (±q), p Jacobian and finite, q affine ("madd", 8M + 3S). Handles p = ±q.
 * Returns true if the result is the point at infinity. Variable-time. r may alias p.
 */
export function jmaddVar(r: usize, p: usize, q: usize, neg: bool): bool {
  fsqr(T3, p + 80);
  fmul(U2, q, T3);
  fmul(T3, T3, p + 80);
  fmul(S2, q + 40, T3);
  if (neg) fneg(S2, S2);
  fsub(H_, U2, p);
  fsub(RR, S2, p + 40);
  if (fisZero(H_)) {
    if (fisZero(RR)) { jdbl(r, p); return false; }
    setInfinity(r);
    return true;
  }
  addTail(r, p, p + 40, p + 80);
  return false;
}

/** r = p + q, both Jacobian (12M + 4S). Handles infinities and p = ±q. r may alias. */
export function jaddVar(r: usize, p: usize, q: usize): void {
  if (fisZero(q + 80)) { if (r != p) memory.copy(r, p, J); return; }
  if (fisZero(p + 80)) { if (r != q) memory.copy(r, q, J); return; }
  fsqr(T3, q + 80);
  fmul(U1, p, T3);
  fmul(T3, T3, q + 80);
  fmul(S1, p + 40, T3);
  fsqr(T3, p + 80);
  fmul(U2, q, T3);
  fmul(T3, T3, p + 80);
  fmul(S2, q + 40, T3);
  fsub(H_, U2, U1);
  fsub(RR, S2, S1);
  if (fisZero(H_)) {
    if (fisZero(RR)) jdbl(r, p); else setInfinity(r);
    return;
  }
  fmul(ZZ, p + 80, q + 80);
  addTail(r, U1, S1, ZZ);
}

/**
 * r = p + q, p Jacobian, q affine, with no special cases (wrong if p is infinity or
 * p = ±q). Straight-line, so constant-time. r must not alias q.
 */
export function maddRaw(r: usize, p: usize, q: usize): void {
  fsqr(T3, p + 80);
  fmul(U2, q, T3);
  fmul(T3, T3, p + 80);
  fmul(S2, q + 40, T3);
  fsub(H_, U2, p);
  fsub(RR, S2, p + 40);
  addTail(r, p, p + 40, p + 80);
}

const NZ: usize = memory.data(40, 8);

/** Affine coordinates of Jacobian p (must not be infinity). */
export function toAffine(out: usize, p: usize): void {
  finv(NZ, p + 80);
  fsqr(T1, NZ);
  fmul(out, p, T1);
  fmul(T1, T1, NZ);
  fmul(out + 40, p + 40, T1);
}

/**
 * Simultaneous inversion (Montgomery's trick): converts `count` Jacobian points at `src`
 * (stride J, none at infinity) to affine at `dst` (stride A) with one field inversion and
 * 3 multiplications per point. `scratch` holds count field elements.
 */
export function normalizeBatch(dst: usize, src: usize, count: i32, scratch: usize): void {
  if (count <= 0) return;
  fcopy(scratch, src + 80);
  for (let i = 1; i < count; i++) {
    fmul(scratch + <usize>i * FE, scratch + <usize>(i - 1) * FE, src + <usize>i * J + 80);
  }
  finv(NZ, scratch + <usize>(count - 1) * FE);
  for (let i = count - 1; i >= 0; i--) {
    const s = src + <usize>i * J;
    if (i > 0) {
      fmul(T2, NZ, scratch + <usize>(i - 1) * FE); // 1/Z_i
      fmul(NZ, NZ, s + 80);                         // 1/(Z_0..Z_{i-1})
    } else {
      fcopy(T2, NZ);
    }
    const d = dst + <usize>i * A;
    fsqr(T1, T2);
    fmul(d, s, T1);
    fmul(T1, T1, T2);
    fmul(d + 40, s + 40, T1);
  }
}

/** Inverts `count` field elements at v (stride FE) in place with one inversion. None may be 0. */
export function batchInvert(v: usize, count: i32, scratch: usize): void {
  if (count <= 0) return;
  fcopy(scratch, v);
  for (let i = 1; i < count; i++) fmul(scratch + <usize>i * FE, scratch + <usize>(i - 1) * FE, v + <usize>i * FE);
  finv(NZ, scratch + <usize>(count - 1) * FE);
  for (let i = count - 1; i > 0; i--) {
    const e = v + <usize>i * FE;
    fmul(T2, NZ, scratch + <usize>(i - 1) * FE); // 1/v_i
    fmul(NZ, NZ, e);                              // 1/(v_0 .. v_{i-1})
    fcopy(e, T2);
  }
  fcopy(v, NZ);
}

/**
 * For `count` tables of `entries` affine points at tab (table i at tab + i*stride,
 * entry 0 = P given), fills 3P, 5P, ... in affine coordinates for all tables at once:
 * rounds of affine doubling/addition whose denominators are inverted together
 * (Montgomery's trick) - about 6M per point instead of a Jacobian addition plus
 * normalization. P must be a valid point of the prime-order group, so no intermediate
 * sum meets 2P or -2P (no special cases). scratch: count * (3 FE + A) bytes.
 */
export function oddMultiplesAffine(tab: usize, stride: usize, entries: usize, count: i32, scratch: usize): void {
  if (count <= 0) return;
  const den = scratch;
  const tmp = scratch + <usize>count * FE;
  const two = scratch + 2 * <usize>count * FE; // 2P per table (affine)
  // round 1: 2P, lambda = (3x^2 - 3) / 2y
  for (let i = 0; i < count; i++) fdbl(den + <usize>i * FE, tab + <usize>i * stride + 40);
  batchInvert(den, count, tmp);
  for (let i = 0; i < count; i++) {
    const p = tab + <usize>i * stride;
    const d = two + <usize>i * A;
    fsqr(T1, p);
    fsub(T1, T1, F_ONE);
    fmulSmall(T1, T1, 3);
    fmul(T1, T1, den + <usize>i * FE);     // lambda
    fsqr(T2, T1);
    fsub(T2, T2, p);
    fsub(d, T2, p);                         // x2 = lambda^2 - 2x
    fsub(T2, p, d);
    fmul(T2, T1, T2);
    fsub(d + 40, T2, p + 40);               // y2 = lambda (x - x2) - y
  }
  // later rounds: entry k = entry k-1 + 2P
  for (let k: usize = 1; k < entries; k++) {
    for (let i = 0; i < count; i++) {
      fsub(den + <usize>i * FE, two + <usize>i * A, tab + <usize>i * stride + (k - 1) * A);
    }
    batchInvert(den, count, tmp);
    for (let i = 0; i < count; i++) {
      const a = tab + <usize>i * stride + (k - 1) * A;
      const b = two + <usize>i * A;
      const r = a + A;
      fsub(T1, b + 40, a + 40);
      fmul(T1, T1, den + <usize>i * FE);   // lambda = (y_b - y_a) / (x_b - x_a)
      fsqr(T2, T1);
      fsub(T2, T2, a);
      fsub(r, T2, b);                       // x = lambda^2 - x_a - x_b
      fsub(T2, a, r);
      fmul(T2, T1, T2);
      fsub(r + 40, T2, a + 40);             // y = lambda (x_a - x) - y_a
    }
  }
}

const RHS: usize = memory.data(40, 8);

// RHS = x^3 - 3x + b
function curveRhs(x: usize): void {
  fsqr(RHS, x);
  fmul(RHS, RHS, x);
  fsub(RHS, RHS, x); fsub(RHS, RHS, x); fsub(RHS, RHS, x);
  fadd(RHS, RHS, F_B);
}

/** 1 if affine (x, y) (Montgomery form) is on the curve. */
export function onCurve(q: usize): u32 {
  curveRhs(q);
  fsqr(T1, q + 40);
  return feq(T1, RHS);
}

/**
 * Sets q.y from q.x (Montgomery form) so that the canonical y has the given parity.
 * Returns 0 if x^3 - 3x + b is not a square (no such point).
 */
export function decompress(q: usize, parity: u32): u32 {
  curveRhs(q);
  fsqrtCandidate(q + 40, RHS);
  fsqr(T1, q + 40);
  if (!feq(T1, RHS)) return 0;
  if (fparity(q + 40) != parity) fneg(q + 40, q + 40);
  return 1;
}

// ---- Fixed-base tables for G, built once by initTables ----

/** Verification tables: G_j = 2^(64j) G for j = 0..3, odd multiples 1, 3, ..., 511 (w = 10). */
export const G_W: i32 = 10;
export const G_ENTRIES: usize = 256;
export const G_TABLES: usize = memory.data(4 * 256 * 80, 8); // 4 tables x G_ENTRIES x A;

/**
 * Signing table: window i (0..63) holds d * 16^i * G for d = 1..8, for a constant-time
 * signed 4-bit fixed-window multiplication with no doublings.
 */
export const CT_WINDOWS: usize = 64;
export const CT_TABLE: usize = memory.data(<i32>(CT_WINDOWS * 8 * A), 8);

/** Scratch the host must provide to initTables. */
export const INIT_SCRATCH: usize = 1024 * J + 1024 * FE;

const GJ: usize = memory.data(120, 8);
const DB: usize = memory.data(120, 8);

/** Builds `count` odd multiples (1, 3, 5, ...) of Jacobian base into dst (stride J). */
export function oddMultiples(dst: usize, base: usize, count: i32): void {
  memory.copy(dst, base, J);
  jdbl(DB, base);
  for (let m = 1; m < count; m++) {
    jaddVar(dst + <usize>m * J, dst + <usize>(m - 1) * J, DB);
  }
}

export function initTables(scratch: usize): void {
  const jac = scratch;
  const zs = scratch + 1024 * J;
  // verification tables
  fcopy(GJ, F_GX); fcopy(GJ + 40, F_GY); fcopy(GJ + 80, F_ONE);
  for (let j = 0; j < 4; j++) {
    oddMultiples(jac + <usize>j * G_ENTRIES * J, GJ, <i32>G_ENTRIES);
    for (let i = 0; i < 64; i++) jdbl(GJ, GJ);
  }
  normalizeBatch(G_TABLES, jac, 4 * <i32>G_ENTRIES, zs);
  // signing table
  fcopy(GJ, F_GX); fcopy(GJ + 40, F_GY); fcopy(GJ + 80, F_ONE);
  for (let i: usize = 0; i < CT_WINDOWS; i++) {
    const w = jac + i * 8 * J;
    memory.copy(w, GJ, J);
    jdbl(w + J, GJ);
    for (let d: usize = 2; d < 8; d++) jaddVar(w + d * J, w + (d - 1) * J, GJ);
    jdbl(GJ, w + 7 * J); // 16^(i+1) G
  }
  normalizeBatch(CT_TABLE, jac, <i32>(CT_WINDOWS * 8), zs);
}

// ---- Constant-time fixed-base multiplication k*G ----

const SEL: usize = memory.data(80, 8);
const NEGY: usize = memory.data(40, 8);
const TMPJ: usize = memory.data(120, 8);

/**
 * r = k*G for a scalar given as 64 signed 4-bit digits d_i in [-8, 8] (i8 at `digits`),
 * sum d_i 16^i with |sum| < 2^255. Constant-time: every window reads all 8 entries with
 * masks, every window performs one addition, results are chosen with masks.
 *
 * Why the bare formula is safe: after window i the accumulator holds c*G with
 * |c| < 16^i, while the entry is d*16^i*G with 16^i <= |d 16^i| <= 2^255 < n; the two
 * (or their negatives) cannot coincide mod n, and the all-zero prefix is tracked by a mask.
 */
export function mulGct(r: usize, digits: usize): void {
  let accInf: u32 = 0xffffffff;
  setInfinity(r);
  for (let i: usize = 0; i < CT_WINDOWS; i++) {
    const d = <i32>load<i8>(digits + i);
    const sign = <u32>(d >> 31);               // all ones if negative
    const absd = <u32>((d ^ (d >> 31)) - (d >> 31));
    const w = CT_TABLE + i * 8 * A;
    memory.fill(SEL, 0, 80);
    for (let j: u32 = 0; j < 8; j++) {
      const m = <u64>(0 - <i64>((((j + 1) ^ absd) - 1) >> 31)); // all ones iff j + 1 = |d|
      const e = w + <usize>j * A;
      for (let o: usize = 0; o < 80; o += 8) {
        store<u64>(SEL + o, load<u64>(SEL + o) | (load<u64>(e + o) & m));
      }
    }
    fneg(NEGY, SEL + 40);
    fcmov(SEL + 40, NEGY, sign);
    maddRaw(TMPJ, r, SEL);
    fcmov(TMPJ, SEL, accInf);
    fcmov(TMPJ + 40, SEL + 40, accInf);
    fcmov(TMPJ + 80, F_ONE, accInf);
    const nz = 0 - ((absd | (0 - absd)) >> 31);  // all ones if d != 0
    fcmov(r, TMPJ, nz);
    fcmov(r + 40, TMPJ + 40, nz);
    fcmov(r + 80, TMPJ + 80, nz);
    accInf &= ~nz;
  }
}

// ---- Variable-time multi-scalar multiplication (Straus / interleaved wNAF) ----

/**
 * Width-w NAF of bits [off, off + nbits) of the scalar at k (little-endian, readable for
 * 8 bytes past the end). Writes nbits + 1 digits (i16, odd or zero) to out.
 */
export function wnaf(out: usize, k: usize, off: i32, nbits: i32, w: i32): void {
  memory.fill(out, 0, <usize>(nbits + 1) << 1);
  let carry: i32 = 0;
  let bit: i32 = 0;
  while (bit < nbits) {
    const pos = off + bit;
    const b = <i32>((load<u8>(k + <usize>(pos >> 3)) >> <u8>(pos & 7)) & 1);
    if (b == carry) { bit++; continue; }
    let now = w;
    if (now > nbits - bit) now = nbits - bit;
    let word = <i32>((load<u64>(k + <usize>(pos >> 3)) >> <u64>(pos & 7)) & ((<u64>1 << <u64>now) - 1)) + carry;
    carry = (word >> (w - 1)) & 1;
    word -= carry << w;
    store<i16>(out + (<usize>bit << 1), <i16>word);
    bit += now;
  }
  store<i16>(out + (<usize>nbits << 1), <i16>carry);
}

/**
 * acc = sum over terms of scalar_t * Base_t. `terms` holds `count` records of two u32:
 * the address of the term's wNAF digits (D + 1 i16) and of its affine table of odd
 * multiples. One shared chain of D doublings; each nonzero digit costs a mixed addition.
 * Only the first `countHigh` terms can have nonzero digits above position `split` (the
 * rest, e.g. 128-bit batch coefficients, are not scanned there).
 */
export function msm(acc: usize, terms: usize, count: i32, D: i32, countHigh: i32 = 0x7fffffff, split: i32 = 0x7fffffff): void {
  let inf = true;
  for (let i = D; i >= 0; i--) {
    if (!inf) jdbl(acc, acc); // doubling a finite point is finite (no 2-torsion)
    const active = i > split ? min(count, countHigh) : count;
    for (let t = 0; t < active; t++) {
      const rec = terms + (<usize>t << 3);
      const d = <i32>load<i16>(<usize>load<u32>(rec) + (<usize>i << 1));
      if (d != 0) {
        const neg = d < 0;
        const q = <usize>load<u32>(rec, 4) + (<usize>((neg ? -d : d) - 1) >> 1) * A;
        if (inf) {
          fcopy(acc, q);
          if (neg) fneg(acc + 40, q + 40); else fcopy(acc + 40, q + 40);
          fcopy(acc + 80, F_ONE);
          inf = false;
        } else {
          inf = jmaddVar(acc, acc, q, neg);
        }
      }
    }
  }
  if (inf) setInfinity(acc);
}
