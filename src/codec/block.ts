// Block headers (256 bytes, docs/protocol.md §Blocks) and the per-block roots.

import { RECORD_BYTES, setU16, setU32, setU64, u32, u64 } from './record.js';
import { equalBytes } from '../crypto/bytes.js';
import { DIGEST_BYTES, hash, hashPacked } from '../crypto/hash.js';
import { merkleRootPacked, verifyMerkleProof } from '../crypto/merkle.js';
import { digestViews } from '../crypto/wasm.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import type { Signer } from '../crypto/signer.js';

export const HEADER_BYTES = 256;
export const HEADER_VERSION = 1;
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
export const H_NODE_KEY = 160;    // 32: key id of the signing node key
export const H_SIGNATURE = 192;   // r‖s over bytes [0, 192)
export const HEADER_SIGNED_BYTES = 192;
export const RESULT_LEAF_BYTES = 34;

export interface BlockHeader {
  version: number;
  alg: 'sm3' | 'sha256';
  chainId: number;
  height: number;
  prevHash: Uint8Array;
  txRoot: Uint8Array;
  resultRoot: Uint8Array;
  stateRoot: Uint8Array;
  timeMs: number;
  count: number;
  accounts: number;
  nodeKey: Uint8Array;
  signature: Uint8Array;
}

export function encodeHeader(h: Omit<BlockHeader, 'signature' | 'version'> & { signature?: Uint8Array }): Uint8Array {
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
  b.set(h.nodeKey, H_NODE_KEY);
  if (h.signature) b.set(h.signature.subarray(0, 64), H_SIGNATURE);
  return b;
}

export function decodeHeader(b: Uint8Array): BlockHeader {
  if (b.length < HEADER_BYTES) throw new RangeError('header must be 256 bytes');
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
    nodeKey: b.slice(H_NODE_KEY, H_NODE_KEY + 32),
    signature: b.slice(H_SIGNATURE, H_SIGNATURE + 64),
  };
}

/** Header hash: H(bytes [0, 192)) — the signed part; the next block's prevHash. */
export function headerHash(header: Uint8Array): Uint8Array {
  return hash(header.subarray(0, HEADER_SIGNED_BYTES), header[H_ALG] === 1 ? 'sha256' : 'sm3');
}

export function signHeader(header: Uint8Array, node: Signer): void {
  const sig = sm2Backend.sign(header.subarray(0, HEADER_SIGNED_BYTES), node.privateKey);
  header.set(sig.subarray(0, 64), H_SIGNATURE);
}

export function verifyHeaderSignature(header: Uint8Array, nodePublicKey: Uint8Array): boolean {
  return sm2Backend.verifyBatch([{
    msg: header.subarray(0, HEADER_SIGNED_BYTES), signature: header.subarray(H_SIGNATURE, H_SIGNATURE + 64), publicKey: nodePublicKey,
  }])[0] === true;
}

/** Splits a block's records buffer into record views. */
export function recordViews(records: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
  return out;
}

/** Transaction hashes H(256-byte record), end to end (count × 32 bytes): one WASM call, one copy each way. */
export function txHashesPacked(records: Uint8Array, count: number, alg: 'sm3' | 'sha256' = 'sm3'): Uint8Array {
  return hashPacked(records.subarray(0, count * RECORD_BYTES), count, RECORD_BYTES, alg);
}

/** Transaction hashes, a view each (of one buffer). */
export function txHashes(records: Uint8Array, count: number, alg: 'sm3' | 'sha256' = 'sm3'): Uint8Array[] {
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
export function txRoot(hashes: Uint8Array[] | Uint8Array, alg: 'sm3' | 'sha256' = 'sm3'): Uint8Array {
  const packed = packDigests(hashes);
  return merkleRootPacked(packed, packed.length / DIGEST_BYTES, DIGEST_BYTES, alg);
}

/** Result root: RFC 6962 root over the result leaves, `hashes` (a list, or packed) with `codes`. */
export function resultRoot(hashes: Uint8Array[] | Uint8Array, codes: Uint16Array, alg: 'sm3' | 'sha256' = 'sm3'): Uint8Array {
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
  header: Uint8Array;
}

/**
 * Checks `p`: the record is at `index` under the header's tx root, and (if a node public
 * key is given) the header carries that node's valid SM2 signature.
 */
export function verifyInclusionProof(p: InclusionProof, nodePublicKey?: Uint8Array): boolean {
  if (p.header.length !== HEADER_BYTES || p.record.length !== RECORD_BYTES) return false;
  const h = decodeHeader(p.header);
  if (p.treeSize !== h.count) return false;
  if (!verifyMerkleProof(hash(p.record, h.alg), p.index, p.treeSize, p.proof, h.txRoot, h.alg)) return false;
  return nodePublicKey === undefined || verifyHeaderSignature(p.header, nodePublicKey);
}

/** An account state proof against a header's state root. */
export interface AccountProof {
  /** The 128-byte account entry (docs/storage.md). */
  entry: Uint8Array;
  index: number;
  treeSize: number;
  proof: Uint8Array[];
  header: Uint8Array;
}

export function verifyAccountProof(p: AccountProof, nodePublicKey?: Uint8Array): boolean {
  if (p.header.length !== HEADER_BYTES || p.entry.length !== 128) return false;
  const h = decodeHeader(p.header);
  if (p.treeSize !== h.accounts) return false;
  if (!verifyMerkleProof(p.entry, p.index, p.treeSize, p.proof, h.stateRoot, h.alg)) return false;
  return nodePublicKey === undefined || verifyHeaderSignature(p.header, nodePublicKey);
}

export { equalBytes };
