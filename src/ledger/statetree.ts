// Incremental RFC 6962 Merkle tree over account leaves in creation order.
//
// The tree is kept level by level in the "left carry" form the WASM builder uses: level
// k+1 has ceil(c_k / 2) nodes, node j = H(0x01 ‖ l[2j] ‖ l[2j+1]) or, for a lone last node,
// a copy of l[2j]. That is exactly the RFC 6962 tree (split at the largest power of two
// below n). Updating or appending leaves rehashes only the paths above them: per block,
// one WASM call hashes all touched leaves and one more per level hashes the touched nodes.

import { DIGEST_BYTES, algorithmId, type HashAlgorithm, hash } from '../crypto/hash.js';
import { core, mem, reserve } from '../crypto/wasm.js';

/** Levels above the leaves a tree of up to 2^32 leaves can have. */
const LEVELS_MAX = 33;
/** Nodes hashed per WASM call; bounds the arena a level update may take. */
const BATCH_NODES_MAX = 1 << 16;

export class StateTree {
  readonly #alg: number;
  readonly #algName: HashAlgorithm;
  readonly #leafBytes: number;
  /** levels[k] holds counts[k] digests; levels[0] are the leaf hashes. */
  #levels: Uint8Array[] = [];
  #counts: number[] = [];
  readonly #emptyRoot: Uint8Array;

  constructor(leafBytes: number, alg: HashAlgorithm = 'sm3') {
    this.#alg = algorithmId(alg);
    this.#algName = alg;
    this.#leafBytes = leafBytes;
    this.#emptyRoot = hash(new Uint8Array(0), alg);
    for (let k = 0; k < LEVELS_MAX; k++) { this.#levels.push(new Uint8Array(0)); this.#counts.push(0); }
  }

  get size(): number {
    return this.#counts[0];
  }

  /** Bytes held by the tree's levels (for memory accounting). */
  get bytes(): number {
    let total = 0;
    for (const level of this.#levels) total += level.byteLength;
    return total;
  }

  /**
   * Sets the tree to `size` leaves and rehashes the leaves in `dirty` (indexes < size;
   * every index ≥ the old size must be in it). `leafAt(i, out, off)` writes leaf i's bytes.
   */
  update(size: number, dirty: number[], leafAt: (index: number, out: Uint8Array, offset: number) => void): void {
    if (size < this.#counts[0]) throw new Error('state tree cannot shrink');
    if (dirty.length === 0 && size === this.#counts[0]) return;
    let indexes = Array.from(new Set(dirty)).sort((a, b) => a - b);
    for (const i of indexes) if (i < 0 || i >= size) throw new RangeError(`dirty leaf ${i} out of range`);
    // Size levels.
    let c = size;
    for (let k = 0; k < LEVELS_MAX; k++) {
      this.#ensure(k, c);
      this.#counts[k] = c;
      if (c <= 1) { for (let j = k + 1; j < LEVELS_MAX; j++) this.#counts[j] = 0; break; }
      c = (c + 1) >> 1;
    }
    // Leaves.
    const L = this.#leafBytes;
    for (let from = 0; from < indexes.length; from += BATCH_NODES_MAX) {
      const n = Math.min(BATCH_NODES_MAX, indexes.length - from);
      const data = reserve(n * L + n * DIGEST_BYTES);
      const out = data + n * L;
      const m = mem();
      for (let i = 0; i < n; i++) leafAt(indexes[from + i], m, data + i * L);
      core.stateLeafBatch(this.#alg, data, L, n, out);
      const level = this.#levels[0];
      for (let i = 0; i < n; i++) {
        level.set(m.subarray(out + i * DIGEST_BYTES, out + (i + 1) * DIGEST_BYTES), indexes[from + i] * DIGEST_BYTES);
      }
    }
    // Paths.
    for (let k = 0; this.#counts[k] > 1; k++) {
      const below = this.#levels[k];
      const countBelow = this.#counts[k];
      const above = this.#levels[k + 1];
      const parents: number[] = [];
      for (const i of indexes) {
        const p = i >> 1;
        if (parents.length === 0 || parents[parents.length - 1] !== p) parents.push(p);
      }
      const pairs: number[] = [];
      for (const p of parents) {
        if (2 * p + 1 < countBelow) pairs.push(p);
        else above.set(below.subarray(2 * p * DIGEST_BYTES, 2 * p * DIGEST_BYTES + DIGEST_BYTES), p * DIGEST_BYTES);
      }
      for (let from = 0; from < pairs.length; from += BATCH_NODES_MAX) {
        const n = Math.min(BATCH_NODES_MAX, pairs.length - from);
        const base = reserve(n * 96);
        const out = base + n * 64;
        const m = mem();
        for (let i = 0; i < n; i++) {
          const p = pairs[from + i];
          m.set(below.subarray(2 * p * DIGEST_BYTES, 2 * p * DIGEST_BYTES + 64), base + i * 64);
        }
        core.stateNodeBatch(this.#alg, base, n, out);
        for (let i = 0; i < n; i++) {
          above.set(m.subarray(out + i * DIGEST_BYTES, out + (i + 1) * DIGEST_BYTES), pairs[from + i] * DIGEST_BYTES);
        }
      }
      indexes = parents;
    }
  }

  root(): Uint8Array {
    if (this.#counts[0] === 0) return this.#emptyRoot.slice();
    let k = 0;
    while (this.#counts[k] > 1) k++;
    return this.#levels[k].slice(0, DIGEST_BYTES);
  }

  /** RFC 6962 audit path of leaf `index` (leaf level first). */
  proof(index: number): Uint8Array[] {
    if (index < 0 || index >= this.#counts[0]) throw new RangeError(`leaf ${index} out of range`);
    const out: Uint8Array[] = [];
    let i = index;
    for (let k = 0; this.#counts[k] > 1; k++) {
      const sibling = i ^ 1;
      if (sibling < this.#counts[k]) out.push(this.#levels[k].slice(sibling * DIGEST_BYTES, (sibling + 1) * DIGEST_BYTES));
      i >>= 1;
    }
    return out;
  }

  get algorithm(): HashAlgorithm {
    return this.#algName;
  }

  #ensure(k: number, count: number): void {
    const need = count * DIGEST_BYTES;
    if (this.#levels[k].byteLength >= need) return;
    // Grow by 1/8 beyond need: bounded slack (≤ 12.5%) keeps memory per account low.
    const cap = Math.max(need + (need >> 3), 1024);
    const next = new Uint8Array(cap);
    next.set(this.#levels[k].subarray(0, this.#counts[k] * DIGEST_BYTES));
    this.#levels[k] = next;
  }
}

