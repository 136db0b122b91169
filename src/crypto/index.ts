// gmledger/crypto — hashing, Merkle trees, SM2 and signers, with nothing else: no RocksDB
// addon, no worker pool. (The root entry point 'gmledger' re-exports all of this.)
//
//   import { sm3, merkleRoot, sm2, generateSigner } from 'gmledger/crypto';

export { sm3, sha256, hash, createHash, hashBatch, DIGEST_BYTES, HASH_BATCH_MAX } from './hash.js';
export type { Hash, HashAlgorithm } from './hash.js';
export {
  merkleRoot, merkleProof, verifyMerkleProof, merkleConsistencyProof, verifyMerkleConsistency,
  MERKLE_LEAVES_MAX, MERKLE_PROOF_MAX,
} from './merkle.js';
export { toHex, fromHex } from './bytes.js';
export * as sm2 from './sm2-api.js';
export type { KeyPair, SignOptions, VerifyBatchItem } from './sm2.js';
export { generateSigner, signerFromKeyPair, keyIdOf } from './signer.js';
export type { Signer } from './signer.js';
