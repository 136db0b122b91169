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
  TRANSFER_DEFERRED, TRANSFER_QUEUE, CYCLE_DELAY, CYCLE_REFUSE, CYCLE_CAP, RULE_REMOVE, RULE_ALERT, RULE_REFUSE,
  encode as encodeRecord, decode as decodeRecord, concatRecords, checkStructure,
} from './codec/record.js';
// Clearing (docs/clearing.md): the SDK helpers; the state machine runs the rest.
export {
  clearing, cycleRecords, obligationRecord, queuedRecord, CYCLE_OPEN_MEMBERS_MAX,
} from './apps/clearing/sdk.js';
export type { ClearingSubmitter, OpenCycle, Payment } from './apps/clearing/sdk.js';
// Toll / ETC (docs/toll.md): the SDK helpers, the cross-chain proof, the period report.
export {
  tollRecords, tripId, splitTrip, packU32x16, unpackU32x16, tollAnchorRecord, tollAnchorId, tollAnchorMetadata,
  verifyTollCrossProof, MODE_FEE, MODE_SHARE, TOLL_CLASSES, TRIP_SECTIONS_MAX,
} from './apps/toll/sdk.js';
export type { TollCrossProof, TollRuleTable } from './apps/toll/sdk.js';
export { buildTollCrossProof } from './apps/toll/proof.js';
export { tollReport, tripView } from './apps/toll/query.js';
export type { TollReport } from './apps/toll/query.js';
export {
  CYCLE_MEMBERS_MAX, CYCLE_OBLIGATIONS_MAX, CYCLES_OPEN_MAX, QUEUE_MAX_PER_ACCOUNT, RULES_MAX, RULE_WINDOW_MS_MAX,
} from './apps/clearing/state.js';
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
