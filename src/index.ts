// gmledger's public API. See docs/api.md.

export { sm3, sha256, hash, createHash, hashBatch, DIGEST_BYTES, HASH_BATCH_MAX } from './crypto/hash.js';
export type { Hash, HashAlgorithm } from './crypto/hash.js';
export {
  merkleRoot, merkleProof, verifyMerkleProof, merkleConsistencyProof, verifyMerkleConsistency,
  MERKLE_LEAVES_MAX, MERKLE_PROOF_MAX,
} from './crypto/merkle.js';
export { toHex, fromHex } from './crypto/bytes.js';
