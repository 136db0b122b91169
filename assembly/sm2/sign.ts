// SM2 key generation and signing (GB/T 32918.2 section 6). Everything that touches the
// private key d or the nonce k is constant-time: fixed-window k*G with masked table scans
// (point.ts mulGct), Montgomery scalar arithmetic with masked corrections (scalar.ts), the
// fixed-chain field inversion. Branches happen only on public values or on the "retry"
// outcomes of the standard (r = 0, r + k = n, s = 0, k out of range), which reveal nothing
// about a nonce that is then thrown away.
//
// A *signer* blob (SIGNER_BYTES) caches what depends only on d:
//   [0, 32)    d, scalar limbs
//   [32, 64)   (1 + d)^-1 mod n, scalar limbs
//   [64, 128)  public key x || y, big-endian
//   [128, 160) Z_A for the default ID

import { toBytes, fparity, fneg, fcmov } from './field';
import { J, A, mulGct, toAffine } from './point';
import {
  N, scFromBE, scToBE, scInRange, scIsZero, scAdd, scSub, scMul, scInv, scReduce, scLt, scWipe,
} from './scalar';
import { computeZa, computeE, isDefaultId } from './za';

export const SIGNER_BYTES: usize = 160;

const ONE_SC: usize = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);
const ZERO_SC: usize = memory.data(32, 8);
const HALF_N: usize = memory.data<u32>([
  0x9CEAA091, 0xA9DDFA04, 0x90E30295, 0xB901EFB5, 0xFFFFFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF,
]);

const K: usize = memory.data(40, 8);
const KN: usize = memory.data(40, 8);
const DIGITS: usize = memory.data(64, 8);
const PJ: usize = memory.data(<i32>J, 8);
const PA: usize = memory.data(<i32>A, 8);
const X1: usize = memory.data(32, 8);
const Y1: usize = memory.data(32, 8);
const E: usize = memory.data(32, 8);
const R: usize = memory.data(32, 8);
const S: usize = memory.data(32, 8);
const TMP: usize = memory.data(32, 8);
const DP1: usize = memory.data(32, 8);
const EBUF: usize = memory.data(32, 8);

/**
 * PJ = k*G for scalar limbs k in [1, n-1], constant-time. Uses k or n - k, whichever is
 * at most (n-1)/2 (so the signed-digit recoding below fits 64 windows and mulGct's
 * preconditions hold), then negates the result with the same mask.
 */
function mulBaseCt(k: usize): void {
  const swap = 0 - scLt(HALF_N, k); // all ones if k > (n-1)/2
  scSub(KN, ZERO_SC, k);            // n - k
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(KN + i, (load<u32>(KN + i) & swap) | (load<u32>(k + i) & ~swap));
  }
  // signed 4-bit digits: v = nibble + carry; v > 8 becomes v - 16 with a carry out
  let carry: u32 = 0;
  for (let i: usize = 0; i < 64; i++) {
    const v = ((load<u32>(KN + ((i >> 3) << 2)) >> <u32>((i & 7) << 2)) & 15) + carry;
    carry = (v + 7) >> 4;
    store<i8>(DIGITS + i, <i8>(<i32>v - <i32>(carry << 4)));
  }
  mulGct(PJ, DIGITS);
  negYct(PJ + 40, swap); // (n - k)G = -(kG): negate Y under the same mask
  memory.fill(KN, 0, 32);
  memory.fill(DIGITS, 0, 64);
}

const NY: usize = memory.data(40, 8);
function negYct(y: usize, mask: u32): void {
  fneg(NY, y);
  fcmov(y, NY, mask);
}

/** Writes pub (x || y, 64 bytes BE) for private key limbs d. */
function publicFromScalar(out: usize, d: usize): void {
  mulBaseCt(d);
  toAffine(PA, PJ);
  toBytes(out, PA);
  toBytes(out + 32, PA + 40);
}

/** d must satisfy 1 <= d <= n - 2 (so that 1 + d is invertible). */
function privateOk(d: usize): u32 {
  scAdd(DP1, d, ONE_SC);
  return scInRange(d) & (scIsZero(DP1) ^ 1);
}

/** out65 = 04 || x || y for the 32-byte big-endian private key; 0 if the key is out of range. */
export function sm2PublicKey(priv: usize, out65: usize): u32 {
  scFromBE(K, priv);
  if (!privateOk(K)) { memory.fill(K, 0, 32); memory.fill(DP1, 0, 32); scWipe(); return 0; }
  store<u8>(out65, 4);
  publicFromScalar(out65 + 1, K);
  memory.fill(K, 0, 32);
  memory.fill(DP1, 0, 32); // d + 1
  scWipe();                // the scalar scratch held key material too
  return 1;
}

/** Fills a signer blob for the private key; 0 if out of range. */
export function sm2SignerInit(priv: usize, blob: usize): u32 {
  scFromBE(blob, priv);
  if (!privateOk(blob)) { memory.fill(blob, 0, <i32>SIGNER_BYTES); return 0; }
  scInv(blob + 32, DP1);
  memory.fill(DP1, 0, 32);
  scWipe();
  publicFromScalar(blob + 64, blob);
  computeZa(blob + 128, blob + 64, 0, 0xffffffff);
  return 1;
}

/**
 * Signs digest e (32 bytes BE) with nonce bytes rand (32 bytes BE, from the host CSPRNG).
 * Writes r || s || hint (65 bytes). Returns 1, or 0 if this nonce must be discarded
 * (k = 0, k >= n, r = 0, r + k = n, s = 0) and the host should retry with fresh bytes.
 * hint bit0 = parity of y1, bit1 = (x1 >= n), where (x1, y1) = k*G.
 */
export function sm2SignDigest(blob: usize, e: usize, rand: usize, out: usize): u32 {
  scFromBE(K, rand);
  if (!scInRange(K)) { memory.fill(K, 0, 32); return 0; }
  mulBaseCt(K);
  toAffine(PA, PJ);
  toBytes(X1, PA);
  const parity = fparity(PA + 40);
  scFromBE(X1, X1);
  const high = scLt(X1, N) ^ 1;
  scReduce(X1, X1);
  scFromBE(E, e);
  scReduce(E, E);
  scAdd(R, E, X1);                      // r = e + x1 mod n (public)
  scAdd(TMP, R, K);
  let ok: u32 = (scIsZero(R) ^ 1) & (scIsZero(TMP) ^ 1);
  scMul(TMP, R, blob);                  // r*d
  scSub(TMP, K, TMP);                   // k - r*d
  scMul(S, blob + 32, TMP);             // s = (1+d)^-1 (k - r d)
  ok &= scIsZero(S) ^ 1;
  memory.fill(K, 0, 32);
  memory.fill(TMP, 0, 32);
  scWipe();
  if (!ok) return 0;
  scToBE(out, R);
  scToBE(out + 32, S);
  store<u8>(out + 64, <u8>(parity | (high << 1)));
  return 1;
}

/** Signs message (id, msg) per GB/T 32918.2: e = SM3(Z_A || M). Same return as sm2SignDigest. */
export function sm2Sign(blob: usize, id: usize, idLen: u32, msg: usize, msgLen: u32, rand: usize, out: usize): u32 {
  if (isDefaultId(id, idLen)) {
    computeE(EBUF, blob + 128, msg, msgLen);
  } else {
    computeZa(EBUF, blob + 64, id, idLen);
    computeE(EBUF, EBUF, msg, msgLen);
  }
  return sm2SignDigest(blob, EBUF, rand, out);
}

/** out32 = Z_A for a raw public key (x || y) and ID. */
export function sm2Za(pk: usize, id: usize, idLen: u32, out: usize): void {
  computeZa(out, pk, id, idLen);
}

/** out32 = e = SM3(Z_A || M). */
export function sm2Digest(pk: usize, id: usize, idLen: u32, msg: usize, msgLen: u32, out: usize): void {
  computeZa(out, pk, id, idLen);
  computeE(out, out, msg, msgLen);
}
