// Trusted-gateway mode: a vouch record carries ONE gateway SM2 signature for the `count`
// unsigned ("vouched") records that follow it. docs/protocol.md §8 fixes the bytes.
//
// Why a record and not a side structure: the vouch then sits in the block like any other
// record — under the tx root, the result root and inclusion proofs — so the block layout
// in storage is unchanged, `gmledger verify` rechecks it with the same replay, and anyone
// holding a vouched record's inclusion proof can fetch the vouch's proof the same way.
//
// The same group scan serves admission (src/ledger/ledger.ts) and offline verification
// (src/chain/verify.ts), so the two cannot drift apart.

import {
  FLAG_LINKED, HINT_VOUCHED, KIND_VOUCH, MESSAGE_BYTES, OFF_CHAIN_ID, OFF_FLAGS, OFF_HINT, OFF_KIND, OFF_SIGNATURE,
  OFF_SIGNER, OFF_VERSION, RECORD_BYTES, RECORD_VERSION, ROLE_OPERATOR, SIGNATURE_BYTES, STRUCT_BAD_CHAIN,
  STRUCT_BAD_SIGNATURE_ENCODING, STRUCT_BAD_VERSION, STRUCT_OK, STRUCT_RESERVED_FIELD, STRUCT_RESERVED_FLAG, VO_COUNT,
  VO_DIGEST, VO_RESERVED, bigField, bytesField, describeValue, isZero, setU32, setU64, setU128, signatureEncodingOk,
  u16, u32, uintField,
} from './record.js';
import { DIGEST_BYTES, hash, hashBatch, type HashAlgorithm } from '../crypto/hash.js';
import { ResultCode } from './results.js';
import { type Signer, checkSigner, signRecord } from './builders.js';

/** Domain tag of the vouch digest: 16 ASCII bytes (like the auth message's "gmledger-auth-v1"). */
export const VOUCH_DOMAIN = new TextEncoder().encode('gmledger-vouch-1');
/** Fewest records a vouch covers: an empty vouch would be a signature over nothing. */
const VOUCH_RECORDS_MIN = 1;

/** True if the record at `o` has the vouched signature form: r‖s all zero, hint 0xFE. */
export function isVouchedForm(b: Uint8Array, o: number): boolean {
  return b[o + OFF_HINT] === HINT_VOUCHED && isZero(b, o + OFF_SIGNATURE, o + OFF_SIGNATURE + SIGNATURE_BYTES);
}

/**
 * Structure of a vouch record (kind 9), which the generic check refuses as bad_kind:
 * version, chain id, no flags (a vouch is never part of a linked chain), reserved bytes
 * zero, and a well-formed signature (r, s non-zero, hint 0..3 or 0xFF). The count is
 * checked by scanVouchGroups.
 */
function vouchStructure(b: Uint8Array, o: number, chainId: number): number {
  if (b[o + OFF_VERSION] !== RECORD_VERSION) return STRUCT_BAD_VERSION;
  if (u32(b, o + OFF_CHAIN_ID) !== chainId) return STRUCT_BAD_CHAIN;
  if (u16(b, o + OFF_FLAGS) !== 0) return STRUCT_RESERVED_FLAG;
  if (!isZero(b, o + VO_RESERVED, o + MESSAGE_BYTES)) return STRUCT_RESERVED_FIELD;
  return signatureEncodingOk(b, o) ? STRUCT_OK : STRUCT_BAD_SIGNATURE_ENCODING;
}

/**
 * The vouch digest: H(VOUCH_DOMAIN ‖ chain id u32 LE ‖ count u32 LE ‖ H(record₁) ‖ … ‖
 * H(record_count)), where H(record) is the transaction hash of all 256 bytes — the tx-root
 * leaf. Built on the tx hashes so the node hashes each record once (the block reuses
 * them), and an auditor can recompute it from the block's leaves. The covered records'
 * signature bytes are fixed (zero, hint 0xFE), so this binds exactly their signed bytes.
 * `hashes[first + k]` is the tx hash of covered record k.
 */
export function vouchDigest(
  hashes: Uint8Array[], first: number, count: number, chainId: number, alg: HashAlgorithm,
): Uint8Array {
  if (!Array.isArray(hashes)) {
    throw new TypeError(`hashes must be an Array of 32-byte tx hashes, got ${describeValue(hashes)}`);
  }
  uintField(first, 0xffffffff, 'first');
  uintField(count, 0xffffffff, 'count');
  if (first + count > hashes.length) {
    throw new RangeError(`hashes holds ${hashes.length}, not first + count = ${first + count}`);
  }
  uintField(chainId, 0xffffffff, 'chainId');
  const buf = new Uint8Array(VOUCH_DOMAIN.length + 8 + count * DIGEST_BYTES);
  buf.set(VOUCH_DOMAIN, 0);
  setU32(buf, VOUCH_DOMAIN.length, chainId);
  setU32(buf, VOUCH_DOMAIN.length + 4, count);
  let at = VOUCH_DOMAIN.length + 8;
  for (let k = 0; k < count; k++, at += DIGEST_BYTES) {
    const h = hashes[first + k];
    if (h.length !== DIGEST_BYTES) throw new RangeError('a tx hash is 32 bytes');
    buf.set(h, at);
  }
  return hash(buf, alg);
}

/** Tx hashes H(record) of `count` records (count × 256 bytes). */
function recordHashes(batch: Uint8Array, count: number, alg: HashAlgorithm): Uint8Array[] {
  const views: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) views[i] = batch.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
  return count === 0 ? [] : hashBatch(views, alg);
}

/** Marks records (in place) as vouched by `gatewayKeyId`: signer field, r‖s zero, hint 0xFE. */
export function markVouched(batch: Uint8Array, count: number, gatewayKeyId: Uint8Array): Uint8Array {
  if (!(batch instanceof Uint8Array)) throw new TypeError(`batch must be a Uint8Array, got ${describeValue(batch)}`);
  uintField(count, Math.floor(batch.length / RECORD_BYTES), 'count');
  bytesField(gatewayKeyId, 32, 'gatewayKeyId');
  for (let i = 0; i < count; i++) {
    const o = i * RECORD_BYTES;
    batch.set(gatewayKeyId, o + OFF_SIGNER);
    batch.fill(0, o + OFF_SIGNATURE, o + OFF_SIGNATURE + SIGNATURE_BYTES);
    batch[o + OFF_HINT] = HINT_VOUCHED;
  }
  return batch;
}

export interface VouchOptions {
  chainId: number;
  /** The gateway's batch id (informational; not an idempotency key). */
  id: bigint;
  timestamp?: bigint;
  alg?: HashAlgorithm;
}

/**
 * A trusted batch for `gateway`: a signed vouch record followed by copies of `records`
 * (count × 256 bytes) marked vouched. The input is not modified. Returns (count + 1) × 256 bytes.
 */
export function vouchBatch(records: Uint8Array, count: number, gateway: Signer, o: VouchOptions): Uint8Array {
  if (!(records instanceof Uint8Array)) {
    throw new TypeError(`records must be a Uint8Array, got ${describeValue(records)}`);
  }
  checkSigner(gateway, 'gateway');
  if (typeof o !== 'object' || o === null) throw new TypeError(`options must be { chainId, id, timestamp?, alg? }`);
  uintField(o.chainId, 0xffffffff, 'chainId');
  bigField(o.id, (1n << 128n) - 1n, 128, 'id');
  if (o.timestamp !== undefined) bigField(o.timestamp, (1n << 64n) - 1n, 64, 'timestamp');
  if (o.alg !== undefined && o.alg !== 'sm3' && o.alg !== 'sha256') {
    throw new TypeError(`alg must be 'sm3' or 'sha256'`);
  }
  if (!Number.isInteger(count) || count < VOUCH_RECORDS_MIN || records.length < count * RECORD_BYTES) {
    throw new RangeError(`a vouch covers at least ${VOUCH_RECORDS_MIN} whole record(s)`);
  }
  const out = new Uint8Array((count + 1) * RECORD_BYTES);
  out.set(records.subarray(0, count * RECORD_BYTES), RECORD_BYTES);
  markVouched(out.subarray(RECORD_BYTES), count, gateway.keyId);
  out[OFF_VERSION] = RECORD_VERSION;
  out[OFF_KIND] = KIND_VOUCH;
  setU32(out, OFF_CHAIN_ID, o.chainId);
  setU64(out, 8, o.timestamp ?? BigInt(Date.now()));
  setU128(out, 16, o.id);
  setU32(out, VO_COUNT, count);
  const alg = o.alg ?? 'sm3';
  out.set(vouchDigest(recordHashes(out.subarray(RECORD_BYTES), count, alg), 0, count, o.chainId, alg), VO_DIGEST);
  signRecord(out.subarray(0, RECORD_BYTES), gateway); // sets the signer field to the gateway too
  return out;
}

/** A vouch group that passed every check but the gateway's SM2 signature. */
export interface VouchGroup {
  /** Index of the vouch record; the covered records are [at + 1, at + count]. */
  at: number;
  count: number;
  publicKey: Uint8Array;
}

/** The gateway key of a vouch, as the caller resolves it (registered keys only). */
export type GatewayLookup =
  (batch: Uint8Array, signerOffset: number) => { publicKey: Uint8Array; roles: number } | undefined;

/**
 * Scans `batch` for vouch groups and checks everything about each group except the vouch's
 * SM2 signature (the caller batches those through its verifier). A group is refused as a
 * whole: records that are malformed on their own keep their structure code, the rest get
 * `bad_vouch` (or `linked_event_chain_open` when the group ends inside a linked chain).
 *
 * `structure` is the generic per-record structure check (checkBatchStructure). With
 * `plainAllowed` false (a trusted batch) every record must belong to a group; with it true
 * (a stored block) records outside groups are left for the caller's normal checks.
 * Writes into `codes` (0 = not refused here); returns the groups awaiting their signature.
 * `txHashes`: H(record) of every record of the batch, if the caller has them (else hashed here).
 */
export function scanVouchGroups(
  batch: Uint8Array, n: number, chainId: number, alg: HashAlgorithm, structure: Uint8Array,
  gatewayKey: GatewayLookup, codes: Uint16Array, plainAllowed: boolean, txHashes?: Uint8Array[],
): VouchGroup[] {
  if (txHashes !== undefined && txHashes.length !== n) {
    throw new RangeError(`${txHashes.length} tx hashes for ${n} records`);
  }
  const groups: VouchGroup[] = [];
  let i = 0;
  while (i < n) {
    const o = i * RECORD_BYTES;
    if (batch[o + OFF_KIND] !== KIND_VOUCH) {
      if (plainAllowed) { i++; continue; }
      // A trusted batch that does not start a group here has lost its framing.
      for (let j = i; j < n; j++) codes[j] ||= ResultCode.vouch_required;
      break;
    }
    const count = u32(batch, o + VO_COUNT);
    if (count < VOUCH_RECORDS_MIN || count > n - 1 - i) {
      for (let j = i; j < n; j++) codes[j] ||= ResultCode.bad_vouch;
      break;
    }
    const end = i + count; // inclusive
    let bad = false;
    const s = vouchStructure(batch, o, chainId);
    if (s !== STRUCT_OK) { codes[i] = s; bad = true; }
    const key = gatewayKey(batch, o + OFF_SIGNER);
    // The gateway must hold the operator role: vouching is a bulk form of what an operator
    // may already do record by record (authorise any transfer on its ledger).
    if (key === undefined || (key.roles & ROLE_OPERATOR) === 0) bad = true;
    for (let j = i + 1; j <= end; j++) {
      const r = j * RECORD_BYTES;
      const sj = structure[j];
      if (sj !== STRUCT_OK && sj !== STRUCT_BAD_SIGNATURE_ENCODING) { codes[j] = sj; bad = true; continue; }
      // Every covered record is in vouched form and names the gateway as its signer, so the
      // state machine authorises it exactly as if the gateway had signed it.
      if (sj !== STRUCT_BAD_SIGNATURE_ENCODING || !isVouchedForm(batch, r) || !sameSigner(batch, o, r)) bad = true;
    }
    const open = (u16(batch, end * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0;
    if (!bad && !open) {
      const d = txHashes !== undefined
        ? vouchDigest(txHashes, i + 1, count, chainId, alg)
        : vouchDigest(recordHashes(batch.subarray((i + 1) * RECORD_BYTES), count, alg), 0, count, chainId, alg);
      if (!equalAt(d, batch, o + VO_DIGEST)) bad = true;
    }
    if (bad || open) {
      const fill = open && !bad ? ResultCode.linked_event_chain_open : ResultCode.bad_vouch;
      for (let j = i; j <= end; j++) codes[j] ||= fill;
    } else {
      groups.push({ at: i, count, publicKey: key!.publicKey });
    }
    i = end + 1;
  }
  return groups;
}

function sameSigner(b: Uint8Array, o1: number, o2: number): boolean {
  for (let k = 0; k < 32; k++) if (b[o1 + OFF_SIGNER + k] !== b[o2 + OFF_SIGNER + k]) return false;
  return true;
}

function equalAt(d: Uint8Array, b: Uint8Array, o: number): boolean {
  for (let k = 0; k < DIGEST_BYTES; k++) if (d[k] !== b[o + k]) return false;
  return true;
}
