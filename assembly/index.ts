// The WASM core's exported surface. Every function takes addresses into linear memory;
// the host (src/crypto/wasm.ts) owns the layout: static data first, then an arena that
// starts at arenaBase() and that the host grows with memory.grow as inputs require.

export { hashInit, hashUpdate, hashFinal, hashOneshot, hashBatch, CTX_SIZE } from './md';
export {
  merkleRoot, merkleProof, merkleVerify, merkleConsistencyProof, merkleVerifyConsistency,
} from './merkle';

export function arenaBase(): usize {
  return (__heap_base + 63) & ~<usize>63;
}
export { stateLeafBatch, stateNodeBatch } from './state';
