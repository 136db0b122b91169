// Merkle–Damgård framing shared by SM3 and SHA-256: both use 64-byte blocks, a 0x80 pad
// byte and a 64-bit big-endian bit length, and differ only in IV and compression.
//
// A hash context lives at a caller-chosen address (CTX_SIZE bytes), so the host may keep
// any number of them and the WASM side never allocates:
//   [0, 32)    chaining value, eight u32 words
//   [32, 96)   partial block buffer
//   [96, 104)  total message length in bytes (u64)
//   [104, 108) bytes currently buffered (u32)
//   [108, 112) algorithm id (ALG_SM3 or ALG_SHA256)

import { sm3Compress, sm3Init } from './sm3';
import { sha256Compress, sha256Init } from './sha256';
import { sm3Compress4, sm3Digest4, sm3Init4 } from './sm3x4';

export const ALG_SM3: u32 = 0;
export const ALG_SHA256: u32 = 1;
export const CTX_SIZE: usize = 112;
export const BLOCK: usize = 64;
export const DIGEST: usize = 32;

const PAD: usize = memory.data(2 * 64);
const ONESHOT_CTX: usize = memory.data(112, 8);
const V4: usize = memory.data(8 * 16, 16);
/** Four padded tails of up to two blocks, one per lane, 128 bytes apart. */
const PAD4: usize = memory.data(4 * 128, 16);

// @ts-ignore: decorator
@inline export function compress(alg: u32, v: usize, block: usize): void {
  if (alg == ALG_SM3) sm3Compress(v, block);
  else sha256Compress(v, block);
}

export function hashInit(ctx: usize, alg: u32): void {
  if (alg == ALG_SM3) sm3Init(ctx);
  else sha256Init(ctx);
  store<u64>(ctx, 0, 96);
  store<u32>(ctx, 0, 104);
  store<u32>(ctx, alg, 108);
}

export function hashUpdate(ctx: usize, data: usize, len: usize): void {
  const alg = load<u32>(ctx, 108);
  store<u64>(ctx, load<u64>(ctx, 96) + <u64>len, 96);
  let buffered = <usize>load<u32>(ctx, 104);
  const buf = ctx + 32;
  if (buffered > 0) {
    const take = min<usize>(BLOCK - buffered, len);
    memory.copy(buf + buffered, data, take);
    buffered += take; data += take; len -= take;
    if (buffered < BLOCK) { store<u32>(ctx, <u32>buffered, 104); return; }
    compress(alg, ctx, buf);
  }
  while (len >= BLOCK) {
    compress(alg, ctx, data);
    data += BLOCK; len -= BLOCK;
  }
  if (len > 0) memory.copy(buf, data, len);
  store<u32>(ctx, <u32>len, 104);
}

/** Pads, compresses the tail and writes the 32-byte digest to `out`. */
export function hashFinal(ctx: usize, out: usize): void {
  const alg = load<u32>(ctx, 108);
  const blocks = padTail(PAD, ctx + 32, <usize>load<u32>(ctx, 104), load<u64>(ctx, 96));
  compress(alg, ctx, PAD);
  if (blocks == 2) compress(alg, ctx, PAD + BLOCK);
  for (let i: usize = 0; i < DIGEST; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(ctx + i)));
}

export function hashOneshot(alg: u32, data: usize, len: usize, out: usize): void {
  hashInit(ONESHOT_CTX, alg);
  hashUpdate(ONESHOT_CTX, data, len);
  hashFinal(ONESHOT_CTX, out);
}

/**
 * Writes a message tail of `rem` bytes at `src` and its padding (for a message of `len`
 * bytes) to `dst`; returns the number of blocks written (1 or 2).
 */
export function padTail(dst: usize, src: usize, rem: usize, len: u64): usize {
  memory.copy(dst, src, rem);
  store<u8>(dst + rem, 0x80);
  const end = dst + (rem < 56 ? BLOCK : 2 * BLOCK);
  memory.fill(dst + rem + 1, 0, end - 8 - (dst + rem + 1));
  store<u64>(end - 8, bswap<u64>(len << 3));
  return (end - dst) / BLOCK;
}

/** SM3 of four messages of the same length `len` at once (four-lane SIMD). */
export function sm3Oneshot4(
  p0: usize, p1: usize, p2: usize, p3: usize, len: usize,
  o0: usize, o1: usize, o2: usize, o3: usize,
): void {
  sm3Init4(V4);
  let off: usize = 0;
  while (len - off >= BLOCK) {
    sm3Compress4(V4, p0 + off, p1 + off, p2 + off, p3 + off);
    off += BLOCK;
  }
  const rem = len - off;
  const blocks = padTail(PAD4, p0 + off, rem, <u64>len);
  padTail(PAD4 + 128, p1 + off, rem, <u64>len);
  padTail(PAD4 + 256, p2 + off, rem, <u64>len);
  padTail(PAD4 + 384, p3 + off, rem, <u64>len);
  sm3Compress4(V4, PAD4, PAD4 + 128, PAD4 + 256, PAD4 + 384);
  if (blocks == 2) sm3Compress4(V4, PAD4 + 64, PAD4 + 192, PAD4 + 320, PAD4 + 448);
  sm3Digest4(V4, o0, o1, o2, o3);
}

/** Whether the four message-table entries at `entry` all have length `len`. */
// @ts-ignore: decorator
@inline export function sameLength4(entry: usize, len: u32): bool {
  return load<u32>(entry, 12) == len && load<u32>(entry, 20) == len && load<u32>(entry, 28) == len;
}

/**
 * Hashes `count` messages in one call. `table` holds `count` pairs of u32
 * (offset, length) into linear memory; digests go to `out`, 32 bytes each, in order.
 */
export function hashBatch(alg: u32, table: usize, count: u32, out: usize): void {
  let i: u32 = 0;
  if (alg == ALG_SM3) {
    // Groups of four equal-length messages (the common case: fixed-size records) go four
    // lanes at a time; a mixed group falls through to one at a time.
    for (; i + 4 <= count; i += 4) {
      const e = table + (<usize>i << 3);
      const len = load<u32>(e, 4);
      const o = out + (<usize>i << 5);
      if (sameLength4(e, len)) {
        sm3Oneshot4(
          <usize>load<u32>(e), <usize>load<u32>(e, 8), <usize>load<u32>(e, 16), <usize>load<u32>(e, 24), <usize>len,
          o, o + 32, o + 64, o + 96,
        );
      } else {
        for (let k: usize = 0; k < 4; k++) {
          hashOneshot(alg, <usize>load<u32>(e + (k << 3)), <usize>load<u32>(e + (k << 3), 4), o + (k << 5));
        }
      }
    }
  }
  for (; i < count; i++) {
    const entry = table + (<usize>i << 3);
    hashOneshot(alg, <usize>load<u32>(entry), <usize>load<u32>(entry, 4), out + (<usize>i << 5));
  }
}
