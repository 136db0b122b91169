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

export const ALG_SM3: u32 = 0;
export const ALG_SHA256: u32 = 1;
export const CTX_SIZE: usize = 112;
export const BLOCK: usize = 64;
export const DIGEST: usize = 32;

const PAD: usize = memory.data(2 * 64);
const ONESHOT_CTX: usize = memory.data(112, 8);

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
  const buffered = <usize>load<u32>(ctx, 104);
  const bits = load<u64>(ctx, 96) << 3;
  memory.copy(PAD, ctx + 32, buffered);
  store<u8>(PAD + buffered, 0x80);
  const end = PAD + (buffered < 56 ? BLOCK : 2 * BLOCK);
  memory.fill(PAD + buffered + 1, 0, end - 8 - (PAD + buffered + 1));
  store<u64>(end - 8, bswap<u64>(bits));
  compress(alg, ctx, PAD);
  if (end - PAD > BLOCK) compress(alg, ctx, PAD + BLOCK);
  for (let i: usize = 0; i < DIGEST; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(ctx + i)));
}

export function hashOneshot(alg: u32, data: usize, len: usize, out: usize): void {
  hashInit(ONESHOT_CTX, alg);
  hashUpdate(ONESHOT_CTX, data, len);
  hashFinal(ONESHOT_CTX, out);
}

/**
 * Hashes `count` messages in one call. `table` holds `count` pairs of u32
 * (offset, length) into linear memory; digests go to `out`, 32 bytes each, in order.
 */
export function hashBatch(alg: u32, table: usize, count: u32, out: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    const entry = table + (<usize>i << 3);
    hashOneshot(alg, <usize>load<u32>(entry), <usize>load<u32>(entry, 4), out + (<usize>i << 5));
  }
}
