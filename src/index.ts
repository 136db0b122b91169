// gmledger — everything public, from one entry point. The subpaths load less:
// 'gmledger/crypto' (hashing, Merkle, SM2; no native addon), 'gmledger/ledger' (the
// embeddable ledger) and 'gmledger/client' (the SDK, also in browsers). See docs/api.md.

export * from './crypto/index.js';
export * from './ledger/index.js';
export { createVerifyPool } from './pool/index.js';
export type { VerifyPool, VerifyPoolOptions } from './pool/index.js';

// Records: the 256-byte format and its constants (docs/protocol.md §1–2).
export {
  RECORD_BYTES, MESSAGE_BYTES, RECORD_VERSION, Kind, FLAG_LINKED, TRANSFER_PENDING, TRANSFER_POST_PENDING,
  TRANSFER_VOID_PENDING, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS, ACCOUNT_FROZEN,
  ROLE_ADMIN, ROLE_REGULATOR, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_NODE, HINT_NONE, HINT_VOUCHED, KIND_VOUCH,
  encode as encodeRecord, decode as decodeRecord, concatRecords, checkStructure,
} from './codec/record.js';
export type { RecordFields, DecodedRecord, KindName } from './codec/record.js';
export { checkBatchStructure } from './codec/validate.js';
// Trusted-gateway batches (docs/protocol.md §8).
export { vouchBatch, markVouched, vouchDigest, VOUCH_DOMAIN } from './codec/vouch.js';
export type { VouchOptions } from './codec/vouch.js';

// Whole chains: create one, recheck one offline.
export { initChain, initConsortium, joinNodeDir, CONSORTIUM_NODES_MAX } from './chain/init.js';
export type { InitOptions, InitResult, ConsortiumInitOptions } from './chain/init.js';
export { verifyChain } from './chain/verify.js';
export type { VerifyReport, VerifyOptions } from './chain/verify.js';
