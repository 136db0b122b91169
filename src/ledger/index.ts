// gmledger/ledger — the embeddable ledger and its parts' public faces: open a chain, submit,
// query, prove, verify offline. (The root entry point 'gmledger' re-exports all of this.)
//
//   import { Ledger, records, ROLE_PARTICIPANT } from 'gmledger/ledger';
//   (a chain is created with initChain, from 'gmledger')

export {
  Ledger, IN_FLIGHT_RECORDS_DEFAULT, BATCH_RECORDS_MAX, BLOCK_MS_DEFAULT, BLOCK_RECORDS_DEFAULT, BLOCK_RECORDS_MAX,
  CHECKPOINT_BLOCKS_DEFAULT, CHECKPOINT_BLOCKS_MAX, ACCOUNT_PAGE_MAX,
} from './ledger.js';
export type {
  LedgerOptions, SubmitResult, AppendResult, Sequencer, AccountTransfer, AccountView, BlockView, TransactionView,
  TransferView, BlockEvent, ChainConfig,
} from './ledger.js';
export type { LedgerReader, AccountTransfersOptions } from './reader.js';
export { sm2RecordVerifier, poolRecordVerifier } from './verify.js';
export type { RecordVerifier, BatchVerifyPool } from './verify.js';
export { records, buildRecord, signRecord, generateSigner, signerFromKeyPair, keyIdOf } from '../codec/builders.js';
export type { Signer } from '../codec/builders.js';
export { ResultCode, resultName, RESULT_APPLY_MIN } from '../codec/results.js';
export type { ResultName } from '../codec/results.js';
export {
  HEADER_BYTES, SIGNATURE_ENTRY_BYTES, encodeHeader, decodeHeader, headerHash, signatureEntries, verifyHeaderSignature,
  verifyInclusionProof, verifyAccountProof,
} from '../codec/block.js';
export type { BlockHeader, InclusionProof, AccountProof } from '../codec/block.js';
export type { KeyEntry, OpEntry } from '../codec/entries.js';
export type { LedgerState } from './state.js';
export {
  Kind, FLAG_LINKED, TRANSFER_PENDING, TRANSFER_POST_PENDING, TRANSFER_VOID_PENDING,
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS, ACCOUNT_FROZEN,
  ROLE_ADMIN, ROLE_REGULATOR, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_NODE,
} from '../codec/record.js';
