// RFC 6962 Merkle trees (roots, inclusion and consistency proofs) over the WASM core.
// The whole tree is built inside WASM in one call; JS only lays out leaves and reads digests.

import { assertBytes, assertIndex, assertLength } from './bytes.js';
import { DIGEST_BYTES, type HashAlgorithm, type MessageLayout, algorithmId, layMessages, layPacked } from './hash.js';
import { ARENA_BASE, core, mem, readDigests, reserve } from './wasm.js';

/** Most leaves one tree may have (2^26: a proof is then at most 26 digests). */
export const MERKLE_LEAVES_MAX = 1 << 26;
/** Longest proof accepted by the verifiers: a tree of 2^53 leaves needs no more. */
export const MERKLE_PROOF_MAX = 64;

function checkLeaves(leaves: unknown): asserts leaves is Uint8Array[] {
  if (!Array.isArray(leaves)) throw new TypeError('leaves must be an array of Uint8Array');
  if (leaves.length > MERKLE_LEAVES_MAX) {
    throw new RangeError(`${leaves.length} leaves exceed MERKLE_LEAVES_MAX (${MERKLE_LEAVES_MAX})`);
  }
}

function checkTreeSize(size: unknown, name: string): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size)) throw new TypeError(`${name} must be an integer`);
  if (size < 0 || size > MERKLE_LEAVES_MAX) {
    throw new RangeError(`${name} ${size} is out of range [0, ${MERKLE_LEAVES_MAX}]`);
  }
}

function checkProof(proof: unknown): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw new TypeError('proof must be an array of Uint8Array');
  if (proof.length > MERKLE_PROOF_MAX) {
    throw new RangeError(`proof of ${proof.length} digests exceeds ${MERKLE_PROOF_MAX}`);
  }
  for (let i = 0; i < proof.length; i++) assertLength(proof[i], DIGEST_BYTES, `proof[${i}]`);
}

/** Merkle tree head (RFC 6962 MTH) of `leaves`. The empty tree's root is H(""). */
export function merkleRoot(leaves: Uint8Array[], alg: HashAlgorithm = 'sm3'): Uint8Array {
  const id = algorithmId(alg);
  checkLeaves(leaves);
  const n = leaves.length;
  return rootOf(id, n, layMessages(leaves, 'leaves', n * DIGEST_BYTES + DIGEST_BYTES));
}

/** merkleRoot of `count` leaves of `leafBytes` bytes each, end to end in `leaves` (one copy in). */
export function merkleRootPacked(
  leaves: Uint8Array, count: number, leafBytes: number, alg: HashAlgorithm = 'sm3',
): Uint8Array {
  const id = algorithmId(alg);
  checkTreeSize(count, 'count');
  return rootOf(id, count, layPacked(leaves, count, leafBytes, count * DIGEST_BYTES + DIGEST_BYTES));
}

function rootOf(id: number, n: number, { table, extra }: MessageLayout): Uint8Array {
  const out = extra + n * DIGEST_BYTES;
  core.merkleRoot(id, table, n, extra, out);
  return mem().slice(out, out + DIGEST_BYTES);
}

/** Inclusion proof (audit path, RFC 6962 PATH order: leaf level first) of leaf `index`. */
export function merkleProof(leaves: Uint8Array[], index: number, alg: HashAlgorithm = 'sm3'): Uint8Array[] {
  const id = algorithmId(alg);
  checkLeaves(leaves);
  const n = leaves.length;
  assertIndex(index, n, 'index');
  const { table, extra } = layMessages(leaves, 'leaves', n * DIGEST_BYTES + MERKLE_PROOF_MAX * DIGEST_BYTES);
  const out = extra + n * DIGEST_BYTES;
  const count = core.merkleProof(id, table, n, index, extra, out);
  return readDigests(out, count);
}

/**
 * Checks that `proof` shows `leaf` (the leaf's data, not its hash) at `index` in the
 * tree of `treeSize` leaves whose root is `root`.
 */
export function verifyMerkleProof(
  leaf: Uint8Array, index: number, treeSize: number, proof: Uint8Array[], root: Uint8Array,
  alg: HashAlgorithm = 'sm3',
): boolean {
  const id = algorithmId(alg);
  assertBytes(leaf, 'leaf');
  checkTreeSize(treeSize, 'treeSize');
  assertIndex(index, Math.max(treeSize, 1), 'index');
  checkProof(proof);
  assertLength(root, DIGEST_BYTES, 'root');
  if (index >= treeSize) return false;
  const proofPtr = ARENA_BASE;
  const rootPtr = proofPtr + MERKLE_PROOF_MAX * DIGEST_BYTES;
  const leafPtr = rootPtr + DIGEST_BYTES;
  reserve(leafPtr - ARENA_BASE + leaf.length);
  const m = mem();
  for (let i = 0; i < proof.length; i++) m.set(proof[i], proofPtr + i * DIGEST_BYTES);
  m.set(root, rootPtr);
  m.set(leaf, leafPtr);
  return core.merkleVerify(id, leafPtr, leaf.length, index, treeSize, proofPtr, proof.length, rootPtr) === 1;
}

/**
 * Consistency proof (RFC 6962 §2.1.2) that the tree of the first `oldSize` leaves is a
 * prefix of the tree of all `leaves`. 0 < oldSize ≤ leaves.length; equal sizes give [].
 */
export function merkleConsistencyProof(
  leaves: Uint8Array[], oldSize: number, alg: HashAlgorithm = 'sm3',
): Uint8Array[] {
  const id = algorithmId(alg);
  checkLeaves(leaves);
  const n = leaves.length;
  checkTreeSize(oldSize, 'oldSize');
  if (oldSize < 1 || oldSize > n) throw new RangeError(`oldSize ${oldSize} is out of range [1, ${n}]`);
  const { table, extra } = layMessages(leaves, 'leaves', 2 * n * DIGEST_BYTES + MERKLE_PROOF_MAX * DIGEST_BYTES);
  const out = extra + 2 * n * DIGEST_BYTES;
  const count = core.merkleConsistencyProof(id, table, n, oldSize, extra, out);
  return readDigests(out, count);
}

/**
 * Checks a consistency proof between the tree of `oldSize` leaves with root `oldRoot`
 * and the tree of `newSize` leaves with root `newRoot` (RFC 9162 §2.1.4.2).
 */
export function verifyMerkleConsistency(
  oldSize: number, newSize: number, proof: Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array,
  alg: HashAlgorithm = 'sm3',
): boolean {
  const id = algorithmId(alg);
  checkTreeSize(oldSize, 'oldSize');
  checkTreeSize(newSize, 'newSize');
  checkProof(proof);
  assertLength(oldRoot, DIGEST_BYTES, 'oldRoot');
  assertLength(newRoot, DIGEST_BYTES, 'newRoot');
  const proofPtr = ARENA_BASE;
  const oldPtr = proofPtr + MERKLE_PROOF_MAX * DIGEST_BYTES;
  const newPtr = oldPtr + DIGEST_BYTES;
  reserve(newPtr - ARENA_BASE + DIGEST_BYTES);
  const m = mem();
  for (let i = 0; i < proof.length; i++) m.set(proof[i], proofPtr + i * DIGEST_BYTES);
  m.set(oldRoot, oldPtr);
  m.set(newRoot, newPtr);
  return core.merkleVerifyConsistency(id, oldSize, newSize, proofPtr, proof.length, oldPtr, newPtr) === 1;
}
