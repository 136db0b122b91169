// Batch hashing for the incremental state tree (src/ledger/statetree.ts). The host lays the
// touched leaves or child pairs of one tree level contiguously in the arena and hashes them
// in one call, so a block's state-root update costs one WASM crossing per tree level.
// SM3 trees go four lanes at a time (merkle.ts).

import { ALG_SM3 } from './md';
import { LEAF4_BYTES_MAX, leafHash, leafHash4, nodeHashes } from './merkle';

/** out[i] = H(0x00 ‖ data[i]) for `count` leaves of `leafBytes` bytes laid end to end. */
export function stateLeafBatch(alg: u32, data: usize, leafBytes: u32, count: u32, out: usize): void {
  const len = <usize>leafBytes;
  let i: u32 = 0;
  if (alg == ALG_SM3 && len <= LEAF4_BYTES_MAX) {
    for (; i + 4 <= count; i += 4) {
      const d = data + <usize>i * len;
      leafHash4(d, d + len, d + 2 * len, d + 3 * len, len, out + (<usize>i << 5));
    }
  }
  for (; i < count; i++) leafHash(alg, data + <usize>i * len, len, out + (<usize>i << 5));
}

/** out[i] = H(0x01 ‖ pairs[i].left ‖ pairs[i].right) for `count` 64-byte pairs. */
export function stateNodeBatch(alg: u32, pairs: usize, count: u32, out: usize): void {
  nodeHashes(alg, pairs, count, out);
}
