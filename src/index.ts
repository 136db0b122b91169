// gmledger's public API. See docs/api.md.

export { sm3, sha256, hash, createHash, hashBatch, DIGEST_BYTES, HASH_BATCH_MAX } from './crypto/hash.js';
export type { Hash, HashAlgorithm } from './crypto/hash.js';
export {
  merkleRoot, merkleProof, verifyMerkleProof, merkleConsistencyProof, verifyMerkleConsistency,
  MERKLE_LEAVES_MAX, MERKLE_PROOF_MAX,
} from './crypto/merkle.js';
export { toHex, fromHex } from './crypto/bytes.js';

// SM2 signatures (GB/T 32918) and the verification worker pool. See docs/api.md and docs/sm2.md.
export * as sm2 from './crypto/sm2-api.js';
export type { KeyPair, SignOptions, VerifyBatchItem } from './crypto/sm2.js';
export { createVerifyPool } from './pool/index.js';
export type { VerifyPool, VerifyPoolOptions } from './pool/index.js';

// ---- ledger core (issue 4): records, state machine, blocks, storage. See docs/api.md. ----
export {
  RECORD_BYTES, MESSAGE_BYTES, RECORD_VERSION, Kind, FLAG_LINKED, TRANSFER_PENDING, TRANSFER_POST_PENDING,
  TRANSFER_VOID_PENDING, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS, ACCOUNT_FROZEN,
  ROLE_ADMIN, ROLE_REGULATOR, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_NODE, HINT_NONE, HINT_VOUCHED, KIND_VOUCH,
  encode as encodeRecord, decode as decodeRecord, concatRecords, checkStructure,
} from './codec/record.js';
export type { RecordFields, DecodedRecord, KindName } from './codec/record.js';
export { checkBatchStructure } from './codec/validate.js';
export { ResultCode, resultName } from './codec/results.js';
export type { ResultName } from './codec/results.js';
export { Ledger, BATCH_RECORDS_MAX } from './ledger/ledger.js';
export type { LedgerOptions, SubmitResult, BlockEvent, ChainConfig, AccountView, TransferView, Sequencer } from './ledger/ledger.js';
export { records, buildRecord, signRecord, generateSigner, signerFromKeyPair, keyIdOf } from './codec/builders.js';
export type { Signer } from './codec/builders.js';
export { sm2RecordVerifier, poolRecordVerifier } from './ledger/verify.js';
export { vouchBatch, markVouched, vouchDigest, scanVouchGroups, isVouchedForm, VOUCH_DOMAIN } from './codec/vouch.js';
export type { VouchOptions, VouchGroup } from './codec/vouch.js';
export type { RecordVerifier, BatchVerifyPool } from './ledger/verify.js';
export {
  HEADER_BYTES, encodeHeader, decodeHeader, headerHash, verifyHeaderSignature, verifyInclusionProof, verifyAccountProof,
} from './codec/block.js';
export type { BlockHeader, InclusionProof, AccountProof } from './codec/block.js';
export { initChain } from './chain/init.js';
export type { InitOptions, InitResult } from './chain/init.js';
export { verifyChain } from './chain/verify.js';
export type { VerifyReport } from './chain/verify.js';
// ---- end ledger core ----
