// The block format (docs/protocol.md §5): the 160-byte header, its signature entries, the
// per-block roots, proofs against them, and the stored block value.

import { RECORD_BYTES, setU16, setU32, setU64, u32, u64 } from './record.js';
import { equalBytes } from '../crypto/bytes.js';
import { DIGEST_BYTES, type HashAlgorithm, hash, hashPacked } from '../crypto/hash.js';
import { merkleRootPacked, verifyMerkleProof } from '../crypto/merkle.js';
import { digestViews } from '../crypto/wasm.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type Signer, keyIdOf } from '../crypto/signer.js';

export const HEADER_BYTES = 160;
/** Block format 2: the header carries no signature, so any number of nodes sign one hash. */
export const HEADER_VERSION = 2;
export const H_VERSION = 0;       // u8
export const H_ALG = 1;           // u8: 0 = SM3, 1 = SHA-256
export const H_CHAIN_ID = 4;      // u32
export const H_HEIGHT = 8;        // u64
export const H_PREV = 16;         // 32
export const H_TX_ROOT = 48;      // 32
export const H_RESULT_ROOT = 80;  // 32
export const H_STATE_ROOT = 112;  // 32
export const H_TIME = 144;        // u64 ms
export const H_COUNT = 152;       // u32 records in the block
export const H_ACCOUNTS = 156;    // u32 leaves in the state tree
export const RESULT_LEAF_BYTES = 34;
/** A block signature: the signing key's id (32) ‖ SM2 r‖s (64) over the header's 160 bytes. */
export const SIGNATURE_ENTRY_BYTES = 96;
/** Most signatures one block carries (a consortium's node keys). */
export const BLOCK_SIGNATURES_MAX = 64;
const KEY_ID_BYTES = 32;

export interface BlockHeader {
  version: number;
  alg: HashAlgorithm;
  chainId: number;
  height: number;
  prevHash: Uint8Array;
  txRoot: Uint8Array;
  resultRoot: Uint8Array;
  stateRoot: Uint8Array;
  timeMs: number;
  count: number;
  accounts: number;
}

export function encodeHeader(h: Omit<BlockHeader, 'version'>): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  b[H_VERSION] = HEADER_VERSION;
  b[H_ALG] = h.alg === 'sha256' ? 1 : 0;
  setU16(b, 2, 0);
  setU32(b, H_CHAIN_ID, h.chainId);
  setU64(b, H_HEIGHT, BigInt(h.height));
  b.set(h.prevHash, H_PREV);
  b.set(h.txRoot, H_TX_ROOT);
  b.set(h.resultRoot, H_RESULT_ROOT);
  b.set(h.stateRoot, H_STATE_ROOT);
  setU64(b, H_TIME, BigInt(h.timeMs));
  setU32(b, H_COUNT, h.count);
  setU32(b, H_ACCOUNTS, h.accounts);
  return b;
}

export function decodeHeader(b: Uint8Array): BlockHeader {
  if (!(b instanceof Uint8Array) || b.length < HEADER_BYTES) {
    throw new RangeError(`header must be ${HEADER_BYTES} bytes`);
  }
  return {
    version: b[H_VERSION],
    alg: b[H_ALG] === 1 ? 'sha256' : 'sm3',
    chainId: u32(b, H_CHAIN_ID),
    height: Number(u64(b, H_HEIGHT)),
    prevHash: b.slice(H_PREV, H_PREV + 32),
    txRoot: b.slice(H_TX_ROOT, H_TX_ROOT + 32),
    resultRoot: b.slice(H_RESULT_ROOT, H_RESULT_ROOT + 32),
    stateRoot: b.slice(H_STATE_ROOT, H_STATE_ROOT + 32),
    timeMs: Number(u64(b, H_TIME)),
    count: u32(b, H_COUNT),
    accounts: u32(b, H_ACCOUNTS),
  };
}

/** Block hash: H(the 160 header bytes), with the header's own algorithm; the next block's prevHash. */
export function headerHash(header: Uint8Array): Uint8Array {
  return hash(header.subarray(0, HEADER_BYTES), header[H_ALG] === 1 ? 'sha256' : 'sm3');
}

/** One signature entry (96 bytes): `node`'s SM2 signature over the header bytes. */
export function signHeader(header: Uint8Array, node: Signer): Uint8Array {
  const entry = new Uint8Array(SIGNATURE_ENTRY_BYTES);
  entry.set(node.keyId, 0);
  entry.set(sm2Backend.sign(header.subarray(0, HEADER_BYTES), node.privateKey).subarray(0, 64), KEY_ID_BYTES);
  return entry;
}

/** The signature entries of `signatures` (n × 96 bytes), as views. */
export function signatureEntries(signatures: Uint8Array): { keyId: Uint8Array; signature: Uint8Array }[] {
  if (!(signatures instanceof Uint8Array) || signatures.length % SIGNATURE_ENTRY_BYTES !== 0) {
    throw new RangeError(`signatures must be whole ${SIGNATURE_ENTRY_BYTES}-byte entries`);
  }
  const out: { keyId: Uint8Array; signature: Uint8Array }[] = [];
  for (let o = 0; o < signatures.length; o += SIGNATURE_ENTRY_BYTES) {
    out.push({
      keyId: signatures.subarray(o, o + KEY_ID_BYTES),
      signature: signatures.subarray(o + KEY_ID_BYTES, o + SIGNATURE_ENTRY_BYTES),
    });
  }
  return out;
}

/**
 * True if `signatures` (n × 96 bytes) holds a valid SM2 signature of the header by
 * `publicKey` (found by its key id, SM3 of the public key).
 */
export function verifyHeaderSignature(header: Uint8Array, signatures: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(header instanceof Uint8Array) || header.length !== HEADER_BYTES) return false;
  const keyId = keyIdOf(publicKey);
  for (const e of signatureEntries(signatures)) {
    if (!equalBytes(e.keyId, keyId)) continue;
    const ok = sm2Backend.verifyBatch([{ msg: header, signature: e.signature, publicKey }])[0] === true;
    if (ok) return true;
  }
  return false;
}

/** Splits a block's records buffer into record views. */
export function recordViews(records: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
  return out;
}

/** Transaction hashes H(256-byte record), end to end (count × 32 bytes): one WASM call, one copy each way. */
export function txHashesPacked(records: Uint8Array, count: number, alg: HashAlgorithm = 'sm3'): Uint8Array {
  return hashPacked(records.subarray(0, count * RECORD_BYTES), count, RECORD_BYTES, alg);
}

/** Transaction hashes, a view each (of one buffer). */
export function txHashes(records: Uint8Array, count: number, alg: HashAlgorithm = 'sm3'): Uint8Array[] {
  return count === 0 ? [] : digestViews(txHashesPacked(records, count, alg));
}

/** Digests end to end: `hashes` itself if already packed, else one copy of the list. */
export function packDigests(hashes: Uint8Array[] | Uint8Array): Uint8Array {
  if (hashes instanceof Uint8Array) return hashes;
  const out = new Uint8Array(hashes.length * DIGEST_BYTES);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i], i * DIGEST_BYTES);
  return out;
}

/**
 * Tx root: RFC 6962 root whose leaf data are the transaction hashes H(record), in block
 * order. (Leaves are the 32-byte hashes, not the 256-byte records, so each record is hashed
 * once per block rather than twice.)
 */
export function txRoot(hashes: Uint8Array[] | Uint8Array, alg: HashAlgorithm = 'sm3'): Uint8Array {
  const packed = packDigests(hashes);
  return merkleRootPacked(packed, packed.length / DIGEST_BYTES, DIGEST_BYTES, alg);
}

/** Result root: RFC 6962 root over the result leaves, `hashes` (a list, or packed) with `codes`. */
export function resultRoot(
  hashes: Uint8Array[] | Uint8Array, codes: Uint16Array, alg: HashAlgorithm = 'sm3',
): Uint8Array {
  const packed = packDigests(hashes);
  const n = packed.length / DIGEST_BYTES;
  // All leaves end to end in one buffer: no allocation or copy per record.
  const all = new Uint8Array(n * RESULT_LEAF_BYTES);
  for (let i = 0; i < n; i++) {
    const o = i * RESULT_LEAF_BYTES;
    all.set(packed.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), o);
    all[o + DIGEST_BYTES] = codes[i] & 0xff;
    all[o + DIGEST_BYTES + 1] = codes[i] >>> 8;
  }
  return merkleRootPacked(all, n, RESULT_LEAF_BYTES, alg);
}

/** A transaction's inclusion proof: verifiable with the public API alone. */
export interface InclusionProof {
  record: Uint8Array;
  index: number;
  treeSize: number;
  proof: Uint8Array[];
  /** The block header (160 bytes). */
  header: Uint8Array;
  /** The block's signature entries, n × 96 bytes (key id ‖ r‖s). */
  signatures: Uint8Array;
  /** In a consortium, once the block is final: its quorum certificate (n × 96 bytes; codec/certificate.ts). */
  certificate?: Uint8Array;
}

/**
 * Checks `p`: the record is at `index` under the header's tx root and, if a node public
 * key is given, the block carries that node's valid SM2 signature. Without a key only the
 * Merkle path is checked — the header itself is then taken on trust.
 */
export function verifyInclusionProof(p: InclusionProof, nodePublicKey?: Uint8Array): boolean {
  if (p.header.length !== HEADER_BYTES || p.record.length !== RECORD_BYTES) return false;
  const h = decodeHeader(p.header);
  if (h.version !== HEADER_VERSION || p.treeSize !== h.count) return false;
  if (!verifyMerkleProof(hash(p.record, h.alg), p.index, p.treeSize, p.proof, h.txRoot, h.alg)) return false;
  return nodePublicKey === undefined || verifyHeaderSignature(p.header, p.signatures, nodePublicKey);
}

/** An account state proof against a header's state root. */
export interface AccountProof {
  /** The 128-byte account entry (docs/storage.md). */
  entry: Uint8Array;
  index: number;
  treeSize: number;
  proof: Uint8Array[];
  /** The block header (160 bytes) and its signature entries (n × 96 bytes). */
  header: Uint8Array;
  signatures: Uint8Array;
}

/** As verifyInclusionProof, for an account entry under the header's state root. */
export function verifyAccountProof(p: AccountProof, nodePublicKey?: Uint8Array): boolean {
  if (p.header.length !== HEADER_BYTES || p.entry.length !== 128) return false;
  const h = decodeHeader(p.header);
  if (h.version !== HEADER_VERSION || p.treeSize !== h.accounts) return false;
  if (!verifyMerkleProof(p.entry, p.index, p.treeSize, p.proof, h.stateRoot, h.alg)) return false;
  return nodePublicKey === undefined || verifyHeaderSignature(p.header, p.signatures, nodePublicKey);
}

// ---------------------------------------------------------------------------------------
// The stored block (docs/storage.md): header (160) ‖ u32 LE signature count ‖ n × 96
// signature entries ‖ records (count × 256) ‖ result codes (count × u16 LE).

export interface StoredBlock {
  header: Uint8Array;
  signatures: Uint8Array;
  records: Uint8Array;
  codes: Uint16Array;
  count: number;
}

export function encodeBlock(
  header: Uint8Array, signatures: Uint8Array, records: Uint8Array, codes: Uint16Array,
): Uint8Array {
  const count = codes.length;
  const n = signatures.length / SIGNATURE_ENTRY_BYTES;
  if (!Number.isInteger(n) || n > BLOCK_SIGNATURES_MAX) {
    throw new RangeError(`a block carries 0..${BLOCK_SIGNATURES_MAX} signatures`);
  }
  const at = HEADER_BYTES + 4 + signatures.length;
  const v = new Uint8Array(at + count * RECORD_BYTES + count * 2);
  v.set(header.subarray(0, HEADER_BYTES), 0);
  setU32(v, HEADER_BYTES, n);
  v.set(signatures, HEADER_BYTES + 4);
  v.set(records.subarray(0, count * RECORD_BYTES), at);
  const o = at + count * RECORD_BYTES;
  for (let i = 0; i < count; i++) { v[o + 2 * i] = codes[i] & 0xff; v[o + 2 * i + 1] = codes[i] >>> 8; }
  return v;
}

/** Splits a stored block value (views into it); sizes are checked against the header's count. */
export function decodeBlock(v: Uint8Array): StoredBlock {
  if (v.length < HEADER_BYTES + 4) throw new Error('block value shorter than a header');
  if (v[H_VERSION] !== HEADER_VERSION) {
    throw new Error(
      `block format ${v[H_VERSION]}: this gmledger reads format ${HEADER_VERSION} (a chain made by an older version)`,
    );
  }
  const header = v.subarray(0, HEADER_BYTES);
  const count = u32(header, H_COUNT);
  const n = u32(v, HEADER_BYTES);
  if (n > BLOCK_SIGNATURES_MAX) throw new Error(`block carries ${n} signatures (at most ${BLOCK_SIGNATURES_MAX})`);
  const at = HEADER_BYTES + 4 + n * SIGNATURE_ENTRY_BYTES;
  if (v.length !== at + count * (RECORD_BYTES + 2)) throw new Error('block value size does not match its count');
  const records = v.subarray(at, at + count * RECORD_BYTES);
  const o = at + count * RECORD_BYTES;
  const codes = new Uint16Array(count);
  for (let i = 0; i < count; i++) codes[i] = v[o + 2 * i] | (v[o + 2 * i + 1] << 8);
  return { header, signatures: v.subarray(HEADER_BYTES + 4, at), records, codes, count };
}
