// gmledger/ledger — the embeddable ledger and its parts' public faces: open a chain, submit,
// query, prove, verify offline. (The root entry point 'gmledger' re-exports all of this.)
//
//   import { initChain, Ledger, records } from 'gmledger/ledger';

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
