// RFC 6962 / RFC 9162 Merkle trees over SM3 or SHA-256, built entirely in linear memory.
//   leaf hash  H(0x00 ‖ d)        node hash  H(0x01 ‖ left ‖ right)      empty tree  H("")
// The tree splits at the largest power of two below n. Reducing a level pairwise from the
// left and carrying a lone last node up unchanged gives exactly that tree, so the builders
// below work level by level, in place, with no recursion and no allocation.
//
// Leaves are passed as a table of `count` (offset u32, length u32) pairs into memory.
// `scratch` must hold count * 32 bytes (2 * count * 32 for consistency proofs).

import { ALG_SM3, BLOCK, DIGEST, compress, hashFinal, hashInit, hashOneshot, hashUpdate, sameLength4 } from './md';
import { sm3Init } from './sm3';
import { sm3Compress4, sm3Digest4, sm3Init4 } from './sm3x4';
import { sha256Init } from './sha256';

const V: usize = memory.data(32, 8);
const NODE_BLOCKS: usize = memory.data(2 * 64, 8);  // 0x01 ‖ l ‖ r ‖ padding for 65 bytes
const LEAF_BLOCK: usize = memory.data(64, 8);       // 0x00 ‖ d ‖ padding, for d ≤ 55 bytes
const LEAF_CTX: usize = memory.data(112, 8);
const PREFIX_LEAF: usize = memory.data<u8>([0]);
const TMP: usize = memory.data(2 * 32, 8);
// Four-lane scratch: state, and four padded messages of up to LEAF4_BYTES_MAX + 10 bytes.
const V4: usize = memory.data(8 * 16, 16);
const LANE_BYTES: usize = 256;
const LANES4: usize = memory.data(4 * 256, 16);
/** Longest leaf hashed four at a time: 0x00 ‖ d ‖ padding must fit in four blocks. */
export const LEAF4_BYTES_MAX: usize = 4 * 64 - 1 - 9;

// @ts-ignore: decorator
@inline function initState(alg: u32): void {
  if (alg == 0) sm3Init(V); else sha256Init(V);
}

// @ts-ignore: decorator
@inline function writeDigest(out: usize): void {
  for (let i: usize = 0; i < DIGEST; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(V + i)));
}

/** out = H(0x01 ‖ left ‖ right). `out` may alias `left` or `right`. */
export function nodeHash(alg: u32, left: usize, right: usize, out: usize): void {
  store<u8>(NODE_BLOCKS, 0x01);
  memory.copy(NODE_BLOCKS + 1, left, DIGEST);
  memory.copy(NODE_BLOCKS + 1 + DIGEST, right, DIGEST);
  store<u8>(NODE_BLOCKS + 65, 0x80);
  memory.fill(NODE_BLOCKS + 66, 0, 2 * BLOCK - 66 - 8);
  store<u64>(NODE_BLOCKS + 2 * BLOCK - 8, bswap<u64>(65 * 8));
  initState(alg);
  compress(alg, V, NODE_BLOCKS);
  compress(alg, V, NODE_BLOCKS + BLOCK);
  writeDigest(out);
}

/** out = H(0x00 ‖ data). */
export function leafHash(alg: u32, data: usize, len: usize, out: usize): void {
  if (len <= 54) {
    // One block: 1 prefix byte + data + 0x80 + 8 length bytes fit in 64.
    store<u8>(LEAF_BLOCK, 0x00);
    memory.copy(LEAF_BLOCK + 1, data, len);
    store<u8>(LEAF_BLOCK + 1 + len, 0x80);
    memory.fill(LEAF_BLOCK + 2 + len, 0, BLOCK - 8 - (2 + len));
    store<u64>(LEAF_BLOCK + BLOCK - 8, bswap<u64>(<u64>(len + 1) << 3));
    initState(alg);
    compress(alg, V, LEAF_BLOCK);
    writeDigest(out);
    return;
  }
  hashInit(LEAF_CTX, alg);
  hashUpdate(LEAF_CTX, PREFIX_LEAF, 1);
  hashUpdate(LEAF_CTX, data, len);
  hashFinal(LEAF_CTX, out);
}

/**
 * Four-lane SM3 over the four padded messages in LANES4 (each `blocks` blocks long);
 * digests to out, out + 32, out + 64, out + 96.
 */
function lanes4(blocks: usize, out: usize): void {
  sm3Init4(V4);
  for (let b: usize = 0; b < blocks; b++) {
    const o = b * BLOCK;
    sm3Compress4(V4, LANES4 + o, LANES4 + LANE_BYTES + o, LANES4 + 2 * LANE_BYTES + o, LANES4 + 3 * LANE_BYTES + o);
  }
  sm3Digest4(V4, out, out + 32, out + 64, out + 96);
}

/** Lays prefix ‖ data (len bytes) and its padding into lane k; returns the block count. */
// @ts-ignore: decorator
@inline function layLane(k: usize, prefix: u8, data: usize, len: usize): usize {
  const lane = LANES4 + k * LANE_BYTES;
  const mlen = len + 1;
  const blocks = (mlen + 8 + BLOCK) / BLOCK;           // ceil((mlen + 9) / 64)
  const end = lane + blocks * BLOCK;
  store<u8>(lane, prefix);
  memory.copy(lane + 1, data, len);
  store<u8>(lane + mlen, 0x80);
  memory.fill(lane + mlen + 1, 0, end - 8 - (lane + mlen + 1));
  store<u64>(end - 8, bswap<u64>(<u64>mlen << 3));
  return blocks;
}

/** SM3 leaf hashes H(0x00 ‖ d) of four leaves of the same length (≤ LEAF4_BYTES_MAX). */
export function leafHash4(d0: usize, d1: usize, d2: usize, d3: usize, len: usize, out: usize): void {
  const blocks = layLane(0, 0x00, d0, len);
  layLane(1, 0x00, d1, len);
  layLane(2, 0x00, d2, len);
  layLane(3, 0x00, d3, len);
  lanes4(blocks, out);
}

/** SM3 node hashes of four consecutive 64-byte (left ‖ right) pairs; `out` may alias them. */
export function nodeHash4(pairs: usize, out: usize): void {
  for (let k: usize = 0; k < 4; k++) layLane(k, 0x01, pairs + (k << 6), 64);
  lanes4(2, out);
}

function leafHashes(alg: u32, table: usize, count: u32, out: usize): void {
  let i: u32 = 0;
  if (alg == ALG_SM3) {
    for (; i + 4 <= count; i += 4) {
      const e = table + (<usize>i << 3);
      const len = load<u32>(e, 4);
      const o = out + (<usize>i << 5);
      if (len <= <u32>LEAF4_BYTES_MAX && sameLength4(e, len)) {
        leafHash4(<usize>load<u32>(e), <usize>load<u32>(e, 8), <usize>load<u32>(e, 16), <usize>load<u32>(e, 24), <usize>len, o);
      } else {
        for (let k: usize = 0; k < 4; k++) {
          leafHash(alg, <usize>load<u32>(e + (k << 3)), <usize>load<u32>(e + (k << 3), 4), o + (k << 5));
        }
      }
    }
  }
  for (; i < count; i++) {
    const entry = table + (<usize>i << 3);
    leafHash(alg, <usize>load<u32>(entry), <usize>load<u32>(entry, 4), out + (<usize>i << 5));
  }
}

/**
 * out[i] = H(0x01 ‖ pairs[i]) for `count` consecutive 64-byte pairs; `out` may be `pairs`
 * (the level below is consumed as the level above is written).
 */
export function nodeHashes(alg: u32, pairs: usize, count: u32, out: usize): void {
  let i: u32 = 0;
  if (alg == ALG_SM3) {
    for (; i + 4 <= count; i += 4) nodeHash4(pairs + (<usize>i << 6), out + (<usize>i << 5));
  }
  for (; i < count; i++) {
    const p = pairs + (<usize>i << 6);
    nodeHash(alg, p, p + DIGEST, out + (<usize>i << 5));
  }
}

/** Hashes one level of `count` digests into the next, in place; returns its size. */
function nextLevel(alg: u32, level: usize, count: u32): u32 {
  const pairs = count >> 1;
  nodeHashes(alg, level, pairs, level);
  if (count & 1) memory.copy(level + (<usize>pairs << 5), level + (<usize>(count - 1) << 5), DIGEST);
  return pairs + (count & 1);
}

/** Reduces `count` digests at `level` to their root in place; the root ends at `level`. */
function reduceLevel(alg: u32, level: usize, count: u32): void {
  while (count > 1) count = nextLevel(alg, level, count);
}

/** Root of the tree over digests already at `level` (count ≥ 1); destroys the level. */
function rootOfHashes(alg: u32, level: usize, count: u32, out: usize): void {
  reduceLevel(alg, level, count);
  memory.copy(out, level, DIGEST);
}

export function merkleRoot(alg: u32, table: usize, count: u32, scratch: usize, out: usize): void {
  if (count == 0) { hashOneshot(alg, 0, 0, out); return; }
  leafHashes(alg, table, count, scratch);
  rootOfHashes(alg, scratch, count, out);
}

/**
 * Writes the inclusion proof (audit path, leaf to root, RFC 6962 PATH order) of leaf
 * `index` to `out` and returns the number of digests. Requires index < count.
 */
export function merkleProof(alg: u32, table: usize, count: u32, index: u32, scratch: usize, out: usize): u32 {
  leafHashes(alg, table, count, scratch);
  let n: u32 = 0;
  while (count > 1) {
    const sibling = index ^ 1;
    if (sibling < count) {
      memory.copy(out + (<usize>n << 5), scratch + (<usize>sibling << 5), DIGEST);
      n++;
    }
    count = nextLevel(alg, scratch, count);
    index >>= 1;
  }
  return n;
}

/**
 * RFC 9162 §2.1.3.2: checks that `proof` (`proofCount` digests) proves leaf data
 * (`leaf`, `leafLen`) at `index` in a tree of `treeSize` leaves with root `root`.
 */
export function merkleVerify(
  alg: u32, leaf: usize, leafLen: usize, index: u32, treeSize: u32,
  proof: usize, proofCount: u32, root: usize,
): bool {
  if (index >= treeSize) return false;
  leafHash(alg, leaf, leafLen, TMP);
  let fn = index, sn = treeSize - 1;
  for (let i: u32 = 0; i < proofCount; i++) {
    const p = proof + (<usize>i << 5);
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      nodeHash(alg, p, TMP, TMP);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
      }
    } else {
      nodeHash(alg, TMP, p, TMP);
    }
    fn >>= 1; sn >>= 1;
  }
  return sn == 0 && equal32(TMP, root);
}

function equal32(a: usize, b: usize): bool {
  let diff: u64 = 0;
  for (let i: usize = 0; i < DIGEST; i += 8) diff |= load<u64>(a + i) ^ load<u64>(b + i);
  return diff == 0;
}

// --- consistency proofs (RFC 6962 §2.1.2) ---

/** MTH over leaf hashes [lo, hi) at `hashes`, computed in `tmp`; result at `out`. */
function rangeRoot(alg: u32, hashes: usize, lo: u32, hi: u32, tmp: usize, out: usize): void {
  memory.copy(tmp, hashes + (<usize>lo << 5), <usize>(hi - lo) << 5);
  rootOfHashes(alg, tmp, hi - lo, out);
}

// @ts-ignore: decorator
@inline function largestPow2Below(n: u32): u32 {
  return <u32>1 << (31 - clz<u32>(n - 1));
}

/** SUBPROOF(m, D[lo:hi], b), appending digests at out + n*32; returns the new count. */
function subproof(alg: u32, hashes: usize, tmp: usize, m: u32, lo: u32, hi: u32, b: bool, out: usize, n: u32): u32 {
  const size = hi - lo;
  if (m == size) {
    if (b) return n;
    rangeRoot(alg, hashes, lo, hi, tmp, out + (<usize>n << 5));
    return n + 1;
  }
  const k = largestPow2Below(size);
  if (m <= k) {
    n = subproof(alg, hashes, tmp, m, lo, lo + k, b, out, n);
    rangeRoot(alg, hashes, lo + k, hi, tmp, out + (<usize>n << 5));
    return n + 1;
  }
  n = subproof(alg, hashes, tmp, m - k, lo + k, hi, false, out, n);
  rangeRoot(alg, hashes, lo, lo + k, tmp, out + (<usize>n << 5));
  return n + 1;
}

/**
 * Consistency proof that the tree of the first `m` leaves is a prefix of the tree of all
 * `count` leaves (0 < m ≤ count). `scratch` holds 2 * count * 32 bytes. Returns the
 * number of digests written to `out`.
 */
export function merkleConsistencyProof(alg: u32, table: usize, count: u32, m: u32, scratch: usize, out: usize): u32 {
  leafHashes(alg, table, count, scratch);
  return subproof(alg, scratch, scratch + (<usize>count << 5), m, 0, count, true, out, 0);
}

/** RFC 9162 §2.1.4.2: verifies a consistency proof between sizes m ≤ n. */
export function merkleVerifyConsistency(
  alg: u32, m: u32, n: u32, proof: usize, proofCount: u32, oldRoot: usize, newRoot: usize,
): bool {
  if (m == 0 || m > n) return false;
  if (m == n) return proofCount == 0 && equal32(oldRoot, newRoot);
  if (proofCount == 0) return false;
  // If m is a power of two, the old root itself starts the path.
  const fr = TMP, sr = TMP + DIGEST;
  let i: u32 = 0;
  if ((m & (m - 1)) == 0) {
    memory.copy(fr, oldRoot, DIGEST);
  } else {
    memory.copy(fr, proof, DIGEST);
    i = 1;
  }
  memory.copy(sr, fr, DIGEST);
  let fn = m - 1, sn = n - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  for (; i < proofCount; i++) {
    const c = proof + (<usize>i << 5);
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      nodeHash(alg, c, fr, fr);
      nodeHash(alg, c, sr, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
      }
    } else {
      nodeHash(alg, sr, c, sr);
    }
    fn >>= 1; sn >>= 1;
  }
  return sn == 0 && equal32(fr, oldRoot) && equal32(sr, newRoot);
}
