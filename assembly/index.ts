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

// SM2 (issue 3): see assembly/sm2/ and docs/sm2.md.
export { sm2PublicKey, sm2SignerInit, sm2SignDigest, sm2Sign, sm2Digest, SIGNER_BYTES } from './sm2/sign';
export { sm2Verify, sm2VerifyDigest, sm2ValidatePublicKey, sm2ZaEncoded } from './sm2/verify';
export { sm2Init, SM2_INIT_SCRATCH } from './sm2/init';
export {
  sm2VerifyPacked, sm2BatchFallbacks, SM2_BATCH_SCRATCH, SM2_ITEM_BYTES, SM2_ITEM_FLAGS, SM2_ITEM_HINT, SM2_ITEM_ID_OFF,
  SM2_ITEM_ID_LEN, SM2_ITEM_MSG_OFF, SM2_ITEM_MSG_LEN, SM2_ITEM_E, SM2_ITEM_R, SM2_ITEM_S,
} from './sm2/batch';
export { txCheckBatch } from './tx';
