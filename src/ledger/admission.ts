// Admission of a signed batch, as pure functions over its bytes: structure, signer keys,
// signatures, closed linked chains. Records refused here (codes 1..31) never enter a block.
//
// A record may be signed by a key registered earlier in the same batch (the genesis admin
// registers itself). Such a key is usable only if the register_key record that carries it
// is itself admitted: otherwise a refused register_key would let its key sign records that
// reach a block, and the chain would fail its own verification (the offline verifier only
// sees admitted records). Signatures are checked in one verifier call, so admission runs
// in two passes:
//   1. candidates: every record's signer key, as if every sound register_key were admitted
//      (a superset of the keys pass 2 allows, so every signature that can matter is checked);
//   2. settle: in order, chain by chain, a key from the batch counts only from its
//      register_key on and only once that record's chain is admitted.

import {
  FLAG_LINKED, KEY_ID_BYTES, KIND_VOUCH, OFF_FLAGS, OFF_KIND, OFF_SIGNER, RECORD_BYTES, STRUCT_BAD_KIND,
  STRUCT_BAD_SIGNATURE_ENCODING, STRUCT_OK, u16,
} from '../codec/record.js';
import { txHashes } from '../codec/block.js';
import { ResultCode } from '../codec/results.js';
import { checkBatchStructure } from '../codec/validate.js';
import { type GatewayLookup, isVouchedForm, scanVouchGroups } from '../codec/vouch.js';
import { toHex } from '../crypto/bytes.js';
import type { HashAlgorithm } from '../crypto/hash.js';
import { assert } from './assert.js';
import { InBatchKeys } from './keys.js';
import type { RecordVerifier } from './verify.js';

/** The public key registered on the chain under the 32-byte key id at `ids[off..]`. */
export type RegisteredKey = (ids: Uint8Array, off: number) => Uint8Array | undefined;

const STRUCT_TO_RESULT = [0, ResultCode.bad_version, ResultCode.bad_kind, ResultCode.wrong_chain,
  ResultCode.reserved_flag, ResultCode.reserved_field, ResultCode.bad_signature_encoding];

/** Admission code of a record whose structure check gave `s` (not STRUCT_OK). */
export function structureResult(batch: Uint8Array, o: number, s: number): number {
  // A vouch, or a record in vouched form, is only ever valid inside a trusted batch.
  const vouchish = (s === STRUCT_BAD_KIND && batch[o + OFF_KIND] === KIND_VOUCH) ||
    (s === STRUCT_BAD_SIGNATURE_ENCODING && isVouchedForm(batch, o));
  return vouchish ? ResultCode.vouch_required : STRUCT_TO_RESULT[s];
}

/** What the two passes share: the batch's own key registrations and how pass 1 found each signer. */
export interface AdmissionScan {
  readonly n: number;
  readonly inBatch: InBatchKeys;
  /** Signer key of each record as pass 1 sees it (null: structure refused or key unknown). */
  readonly keys: (Uint8Array | null)[];
  /** 1: the signer key is registered on the chain (keys are never removed, so it stays found). */
  readonly fromChain: Uint8Array;
  /** Hex id of a signer key found among the batch's own registrations (pass 2 re-checks it). */
  readonly batchSigner: (string | undefined)[];
}

/**
 * Pass 1. Writes the structure codes into `codes` and returns each record's candidate
 * signer key: registered on the chain, else registered by a sound register_key at or
 * before it in the batch.
 */
export function scanCandidates(batch: Uint8Array, n: number, structure: Uint8Array,
  registered: RegisteredKey, codes: Uint16Array): AdmissionScan {
  const inBatch = new InBatchKeys(batch, n, (i) => structure[i] === STRUCT_OK);
  const keys: (Uint8Array | null)[] = new Array(n).fill(null);
  const fromChain = new Uint8Array(n);
  const batchSigner: (string | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * RECORD_BYTES;
    inBatch.advanceTo(i);
    if (structure[i] !== STRUCT_OK) { codes[i] = structureResult(batch, o, structure[i]); continue; }
    let pk = registered(batch, o + OFF_SIGNER);
    if (pk !== undefined) fromChain[i] = 1;
    else if (inBatch.any) {
      const id = toHex(batch.subarray(o + OFF_SIGNER, o + OFF_SIGNER + KEY_ID_BYTES));
      pk = inBatch.getById(id);
      if (pk !== undefined) batchSigner[i] = id;
    }
    if (pk === undefined) { codes[i] = ResultCode.signer_key_not_found; continue; }
    keys[i] = pk;
  }
  return { n, inBatch, keys, fromChain, batchSigner };
}

/**
 * Pass 2, given one signature flag per record (`sigOk[i] === 1`: valid under scan.keys[i]).
 * In order, chain by chain: a key from the batch is visible from its register_key on,
 * within that record's chain, and after the chain only if the chain was admitted. Whole
 * linked chains are admitted or refused; a batch ending inside a chain refuses that chain.
 * Writes the final admission codes into `codes` (pass 1's stay); returns the indexes of
 * the admitted records, increasing.
 */
export function settleAdmission(
  batch: Uint8Array, scan: AdmissionScan, sigOk: Uint8Array, codes: Uint16Array,
): number[] {
  const { n, inBatch, fromChain, batchSigner } = scan;
  const visible = new Set<string>();   // ids of keys from admitted register_key records
  const tentative: string[] = [];      // ids added by the open chain's register_key records
  const admitted: number[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const id = inBatch.idAt(i);
    if (id !== undefined && !visible.has(id)) { visible.add(id); tentative.push(id); }
    if (codes[i] === 0) {
      // Pass 2's keys are a subset of pass 1's: a key found now was a candidate then, and
      // a key id names one public key, so the signature flag is for this very key.
      const from = batchSigner[i];
      const known = fromChain[i] === 1 || (from !== undefined && visible.has(from));
      if (!known) codes[i] = ResultCode.signer_key_not_found;
      else if (sigOk[i] !== 1) codes[i] = ResultCode.bad_signature;
    }
    const linked = (u16(batch, i * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0;
    if (linked && i < n - 1) continue;
    // The chain [start, i] is complete (or the batch ended inside it).
    let bad = linked;
    for (let j = start; j <= i; j++) if (codes[j] !== 0) bad = true;
    for (let j = start; j <= i; j++) {
      if (linked) codes[j] = codes[j] || ResultCode.linked_event_chain_open;
      else if (bad && codes[j] === 0) codes[j] = ResultCode.linked_event_failed_admission;
      else if (!bad) admitted.push(j);
    }
    if (bad) for (const t of tentative) visible.delete(t);
    tentative.length = 0;
    start = i + 1;
  }
  return admitted;
}

/**
 * Admission against a chain: its id and hash, its registered keys, a signature verifier.
 * Both entry points write one admission code per record into `codes` and return the
 * indexes of the admitted records, increasing; refused records change nothing.
 */
export class Admission {
  constructor(
    readonly chainId: number,
    readonly alg: HashAlgorithm,
    readonly keys: GatewayLookup,
    readonly verifier: RecordVerifier,
  ) {}

  /** A signed batch: structure, signer keys (admission.ts, above), one batch signature check, closed chains. */
  async admit(batch: Uint8Array, n: number, codes: Uint16Array): Promise<number[]> {
    const structure = checkBatchStructure(batch, n, this.chainId);
    const registered: RegisteredKey = (b, o) => this.keys(b, o)?.publicKey;
    const scan = scanCandidates(batch, n, structure, registered, codes);
    const ok = await this.verifier.verifyRecords(batch, n, scan.keys);
    return settleAdmission(batch, scan, ok, codes);
  }

  /**
   * A trusted batch: a sequence of vouch groups (docs/protocol.md §8). Per group: the
   * vouch's structure, its gateway key (registered, operator role), every covered record in
   * vouched form naming the gateway, the group closing its linked chains, the digest, then
   * ONE SM2 signature — all gateway signatures of the batch in one verifier call. A group
   * is admitted whole or not at all. `hashes`: the records' tx hashes, if already computed.
   */
  async admitTrusted(batch: Uint8Array, n: number, codes: Uint16Array, hashes?: Uint8Array[]): Promise<number[]> {
    const structure = checkBatchStructure(batch, n, this.chainId);
    hashes ??= txHashes(batch, n, this.alg);
    // Registered keys only (not keys registered inside this batch): the gateway's authority
    // must already be on the chain when its vouch is judged.
    const groups = scanVouchGroups(batch, n, this.chainId, this.alg, structure, this.keys, codes, false, hashes);
    const admitted: number[] = [];
    if (groups.length === 0) return admitted;
    const keys: (Uint8Array | null)[] = new Array(n).fill(null);
    for (const g of groups) keys[g.at] = g.publicKey;
    const ok = await this.verifier.verifyRecords(batch, n, keys);
    for (const g of groups) {
      const good = ok[g.at] === 1;
      for (let j = g.at; j <= g.at + g.count; j++) {
        assert(codes[j] === 0, `vouch group at ${g.at} returned with record ${j} refused`);
        if (good) admitted.push(j); else codes[j] = ResultCode.bad_vouch;
      }
    }
    return admitted;
  }
}
