// Arithmetic modulo the group order n of sm2p256v1.
//
// Scalars are 256-bit integers stored as eight little-endian u32 limbs (SC = 32 bytes).
// n has no special shape, so this is plain word-serial Montgomery (CIOS, R = 2^256).
// It is off the hot path (a few multiplications per signature; Fermat inversion only when
// a signing key is prepared), so it favours short loops over unrolling. All functions are
// constant-time: fixed loop bounds, final corrections applied with masks.

export const SC: usize = 32;

/** n, little-endian limbs. */
export const N: usize = memory.data<u32>([
  0x39D54123, 0x53BBF409, 0x21C6052B, 0x7203DF6B, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE,
]);
/** n - 2, the Fermat exponent. */
const N_MINUS_2: usize = memory.data<u32>([
  0x39D54121, 0x53BBF409, 0x21C6052B, 0x7203DF6B, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE,
]);
/** 2^512 mod n: montMul(x, R2N) = x*R mod n. */
const R2N: usize = memory.data<u32>([
  0x7c114f20, 0x901192af, 0xde6fa2fa, 0x3464504a, 0x3affe0d4, 0x620fc84c, 0xa22b3d3b, 0x1eb5e412,
]);
const N0INV: u32 = 0x72350975; // -n^-1 mod 2^32

const T: usize = memory.data(48, 8);

/** Big-endian 32 bytes -> limbs. */
export function scFromBE(r: usize, src: usize): void {
  // read all first: r may alias src
  let w0 = bswap<u32>(load<u32>(src, 28)), w1 = bswap<u32>(load<u32>(src, 24));
  let w2 = bswap<u32>(load<u32>(src, 20)), w3 = bswap<u32>(load<u32>(src, 16));
  let w4 = bswap<u32>(load<u32>(src, 12)), w5 = bswap<u32>(load<u32>(src, 8));
  let w6 = bswap<u32>(load<u32>(src, 4)), w7 = bswap<u32>(load<u32>(src, 0));
  store<u32>(r, w0, 0); store<u32>(r, w1, 4); store<u32>(r, w2, 8); store<u32>(r, w3, 12);
  store<u32>(r, w4, 16); store<u32>(r, w5, 20); store<u32>(r, w6, 24); store<u32>(r, w7, 28);
}

/** Limbs -> big-endian 32 bytes (its own inverse). */
export function scToBE(out: usize, a: usize): void { scFromBE(out, a); }

/** 1 if a < b (as integers). Constant-time. */
export function scLt(a: usize, b: usize): u32 {
  let borrow: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    borrow = <i64>load<u32>(a + i) - <i64>load<u32>(b + i) + (borrow >> 32);
  }
  return <u32>((borrow >> 63) & 1);
}

export function scIsZero(a: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i);
  return <u32>((<u64>acc - 1) >> 63);
}

export function scEq(a: usize, b: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i) ^ load<u32>(b + i);
  return <u32>((<u64>acc - 1) >> 63);
}

/** 1 if 0 < a < n. */
export function scInRange(a: usize): u32 {
  return (scIsZero(a) ^ 1) & scLt(a, N);
}

// r = (c:x) - n if that does not borrow, else x; c is a carry bit above x.
function condSubN(r: usize, x: usize, c: u64): void {
  let borrow: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    borrow = <i64>load<u32>(x + i) - <i64>load<u32>(N + i) + (borrow >> 32);
    store<u32>(T + i, <u32>borrow);
  }
  // final = c - borrowout; negative means x < n with no carry: keep x
  const keep = <u32>(((<i64>c + (borrow >> 32)) >> 63) & 1);
  const mask = 0 - keep;
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(r + i, (load<u32>(x + i) & mask) | (load<u32>(T + i) & ~mask));
  }
}

/** r = a mod n for any 256-bit a (a < 2^256 < 2n, so one subtraction). */
export function scReduce(r: usize, a: usize): void { condSubN(r, a, 0); }

/** r = a + b mod n, for a, b < n. */
export function scAdd(r: usize, a: usize, b: usize): void {
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(r + i, <u32>c);
    c >>= 32;
  }
  condSubN(r, r, c);
}

/** r = a - b mod n, for a, b < n. */
export function scSub(r: usize, a: usize, b: usize): void {
  let borrow: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    borrow = <i64>load<u32>(a + i) - <i64>load<u32>(b + i) + (borrow >> 32);
    store<u32>(r + i, <u32>borrow);
  }
  const mask = <u32>(borrow >> 63); // all ones if it borrowed: add n back
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(r + i) + <u64>(load<u32>(N + i) & mask);
    store<u32>(r + i, <u32>c);
    c >>= 32;
  }
}

const MM: usize = memory.data(48, 8);

/** r = a*b*2^-256 mod n (CIOS Montgomery), for a, b < n. */
export function scMontMul(r: usize, a: usize, b: usize): void {
  for (let j: usize = 0; j < 40; j += 4) store<u32>(MM + j, 0);
  for (let i: usize = 0; i < 32; i += 4) {
    const bi = <u64>load<u32>(b + i);
    let c: u64 = 0;
    for (let j: usize = 0; j < 32; j += 4) {
      c += <u64>load<u32>(MM + j) + <u64>load<u32>(a + j) * bi;
      store<u32>(MM + j, <u32>c);
      c >>= 32;
    }
    c += <u64>load<u32>(MM, 32);
    store<u32>(MM, <u32>c, 32);
    store<u32>(MM, <u32>(c >> 32), 36);
    const m32: u32 = load<u32>(MM) * N0INV; // mod 2^32: a separate statement, or asc widens the product
    const m = <u64>m32;
    c = (<u64>load<u32>(MM) + m * <u64>load<u32>(N)) >> 32;
    for (let j: usize = 4; j < 32; j += 4) {
      c += <u64>load<u32>(MM + j) + m * <u64>load<u32>(N + j);
      store<u32>(MM + j - 4, <u32>c);
      c >>= 32;
    }
    c += <u64>load<u32>(MM, 32);
    store<u32>(MM, <u32>c, 28);
    store<u32>(MM, load<u32>(MM, 36) + <u32>(c >> 32), 32);
  }
  condSubN(r, MM, <u64>load<u32>(MM, 32));
}

const MT: usize = memory.data(32, 8);

/** r = a*b mod n. */
export function scMul(r: usize, a: usize, b: usize): void {
  scMontMul(MT, a, b);
  scMontMul(r, MT, R2N);
}

/** r = x*R mod n: undoes the R^-1 of a sum of scMontMul products. */
export function scFromMontSum(r: usize, x: usize): void { scMontMul(r, x, R2N); }

const INV_X: usize = memory.data(32, 8);
const INV_ACC: usize = memory.data(32, 8);
const ONE_N: usize = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);

/** r = a^-1 mod n by Fermat (a^(n-2)); exponent is public, so constant-time in a. */
export function scInv(r: usize, a: usize): void {
  scMontMul(INV_X, a, R2N); // a*R
  scMontMul(INV_ACC, ONE_N, R2N); // R (Montgomery one)
  for (let bit = 255; bit >= 0; bit--) {
    scMontMul(INV_ACC, INV_ACC, INV_ACC);
    if ((load<u32>(N_MINUS_2 + (<usize>(bit >> 5) << 2)) >> (bit & 31)) & 1) {
      scMontMul(INV_ACC, INV_ACC, INV_X);
    }
  }
  scMontMul(r, INV_ACC, ONE_N);
}

/** Zeroes the scratch words that held intermediate products (called after signing). */
export function scWipe(): void {
  memory.fill(T, 0, 48);
  memory.fill(MM, 0, 48);
  memory.fill(MT, 0, 32);
  memory.fill(INV_X, 0, 32);
  memory.fill(INV_ACC, 0, 32);
}
