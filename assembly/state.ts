// Batch hashing for the incremental state tree (src/ledger/statetree.ts). The host lays the
// touched leaves or child pairs of one tree level contiguously in the arena and hashes them
// in one call, so a block's state-root update costs one WASM crossing per tree level.

import { leafHash, nodeHash } from './merkle';

/** out[i] = H(0x00 ‖ data[i]) for `count` leaves of `leafBytes` bytes laid end to end. */
export function stateLeafBatch(alg: u32, data: usize, leafBytes: u32, count: u32, out: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    leafHash(alg, data + <usize>i * <usize>leafBytes, <usize>leafBytes, out + (<usize>i << 5));
  }
}

/** out[i] = H(0x01 ‖ pairs[i].left ‖ pairs[i].right) for `count` 64-byte pairs. */
export function stateNodeBatch(alg: u32, pairs: usize, count: u32, out: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    const p = pairs + (<usize>i << 6);
    nodeHash(alg, p, p + 32, out + (<usize>i << 5));
  }
}
