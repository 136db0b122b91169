// Incremental RFC 6962 Merkle tree over account leaves in creation order.
//
// The tree is kept level by level in the "left carry" form the WASM builder uses: level
// k+1 has ceil(c_k / 2) nodes, node j = H(0x01 ‖ l[2j] ‖ l[2j+1]) or, for a lone last node,
// a copy of l[2j]. That is exactly the RFC 6962 tree (split at the largest power of two
// below n). Updating or appending leaves rehashes only the paths above them: per block,
// one WASM call hashes all touched leaves and one more per level hashes the touched nodes.
//
// The levels live in SharedArrayBuffers, so the ledger can run the updates on its seal
// worker (pool/roots.ts) while the sequencer thread keeps read-only views for proofs:
// `refs()` hands the current buffers over, `adopt()` takes them.

import { DIGEST_BYTES, algorithmId, type HashAlgorithm, hash } from '../crypto/hash.js';
import { core, mem, reserve } from '../crypto/wasm.js';

/** Levels above the leaves a tree of up to 2^32 leaves can have. */
const LEVELS_MAX = 33;
/** Nodes hashed per WASM call; bounds the arena a level update may take. */
const BATCH_NODES_MAX = 1 << 16;

let view32 = new Uint32Array(core.memory.buffer);

/** u32 view of WASM memory (re-created after the memory grows). */
function mem32(): Uint32Array {
  if (view32.buffer !== core.memory.buffer) view32 = new Uint32Array(core.memory.buffer);
  return view32;
}

/** A tree's levels and counts, shareable between threads (the buffers are shared, not copied). */
export interface StateTreeRefs {
  levels: SharedArrayBuffer[];
  counts: number[];
}

export class StateTree {
  readonly #alg: number;
  readonly #algName: HashAlgorithm;
  readonly #leafBytes: number;
  /** levels[k] holds counts[k] digests; levels[0] are the leaf hashes. */
  #levels: Uint8Array[] = [];
  /** The same buffers as #levels, as u32 words (digests are copied word by word). */
  #words: Uint32Array[] = [];
  #counts: number[] = [];
  readonly #emptyRoot: Uint8Array;

  constructor(leafBytes: number, alg: HashAlgorithm = 'sm3') {
    this.#alg = algorithmId(alg);
    this.#algName = alg;
    this.#leafBytes = leafBytes;
    this.#emptyRoot = hash(new Uint8Array(0), alg);
    for (let k = 0; k < LEVELS_MAX; k++) {
      this.#levels.push(new Uint8Array(new SharedArrayBuffer(0)));
      this.#words.push(new Uint32Array(this.#levels[k].buffer));
      this.#counts.push(0);
    }
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
   * every index ≥ the old size must be in it). Leaf i is `source` words
   * [i·W, (i+1)·W) with W = leafBytes / 4 (the account slab, read in place).
   *
   * Copies in and out of WASM memory are word loops over Uint32Array views: no
   * per-node subarray objects on this path, which runs once per block over every
   * touched account.
   */
  update(size: number, dirty: number[], source: Uint32Array): void {
    const indexes = Int32Array.from(new Set(dirty)).sort();
    if (source.length < size * (this.#leafBytes >> 2)) throw new RangeError('source holds fewer leaves than size');
    this.#update(size, indexes, source, false);
  }

  /**
   * As update, with the touched leaves given packed: leaf dirty[k] is `leaves` words
   * [k·W, (k+1)·W). `dirty` must be strictly increasing.
   */
  updatePacked(size: number, dirty: Int32Array, leaves: Uint32Array): void {
    for (let k = 1; k < dirty.length; k++) {
      if (dirty[k] <= dirty[k - 1]) throw new RangeError('dirty leaves must be strictly increasing');
    }
    if (leaves.length !== dirty.length * (this.#leafBytes >> 2)) {
      throw new RangeError(`${leaves.length} leaf words for ${dirty.length} leaves`);
    }
    this.#update(size, dirty, leaves, true);
  }

  /**
   * Builds the whole tree afresh over leaves [0, size) of `source` (the account slab; leaf
   * i is words [i·W, (i+1)·W)). A restore's bulk path: the leaves of a batch, and the
   * child pairs of a level, are contiguous, so each batch goes into WASM memory with one
   * copy and comes out with one (no index lists, no per-node copies), and each level is
   * allocated once, at its exact size. restore.ts splits the same work with a helper
   * thread (resetLevels, hashLeafRange, hashNodeRange).
   */
  rebuild(size: number, source: Uint32Array): void {
    const L = this.#leafBytes;
    if (source.length < size * (L >> 2)) throw new RangeError('source holds fewer leaves than size');
    const { counts } = this.resetLevels(size);
    hashLeafRange(this.#algName, L, new Uint8Array(source.buffer, source.byteOffset, size * L), this.#levels[0], 0);
    for (let k = 0; counts[k] > 1; k++) {
      hashNodeRange(this.#algName, this.#levels[k], counts[k], this.#levels[k + 1], 0, counts[k + 1]);
    }
  }

  /**
   * The first step of a rebuild: levels for `size` leaves, each allocated at its exact
   * size and zero (level k holds c_k nodes, c_{k+1} = ceil(c_k / 2), up to the root's
   * level). Until every node is hashed the tree is not usable.
   */
  resetLevels(size: number): StateTreeRefs {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`tree size ${size}`);
    let c = size;
    let top = LEVELS_MAX;
    for (let k = 0; k < LEVELS_MAX; k++) {
      const n = k < top ? c : 0;
      const next = new Uint8Array(new SharedArrayBuffer(n * DIGEST_BYTES));
      this.#levels[k] = next;
      this.#words[k] = new Uint32Array(next.buffer);
      this.#counts[k] = n;
      if (k < top && c <= 1) top = k + 1;
      c = (c + 1) >> 1;
    }
    return this.refs();
  }

  /** The current level buffers and counts (shared, not copied). */
  refs(): StateTreeRefs {
    return { levels: this.#levels.map((l) => l.buffer as SharedArrayBuffer), counts: this.#counts.slice() };
  }

  /** Takes over the levels and counts another thread's tree handed out with refs(). */
  adopt(refs: StateTreeRefs): void {
    if (refs.levels.length !== LEVELS_MAX || refs.counts.length !== LEVELS_MAX) {
      throw new RangeError('not a state tree');
    }
    for (let k = 0; k < LEVELS_MAX; k++) {
      if (refs.levels[k].byteLength < refs.counts[k] * DIGEST_BYTES) throw new RangeError(`level ${k} is short`);
      this.#levels[k] = new Uint8Array(refs.levels[k]);
      this.#words[k] = new Uint32Array(refs.levels[k]);
      this.#counts[k] = refs.counts[k];
    }
  }

  #update(size: number, sorted: Int32Array, source: Uint32Array, packed: boolean): void {
    const old = this.#counts[0];
    if (size < old) throw new Error('state tree cannot shrink');
    if (sorted.length === 0 && size === old) return;
    if (sorted.length > 0 && (sorted[0] < 0 || sorted[sorted.length - 1] >= size)) {
      throw new RangeError('dirty leaf out of range');
    }
    if (old < size && (sorted.length < size - old || sorted[sorted.length - size + old] !== old)) {
      throw new RangeError('every new leaf must be dirty');
    }
    this.#sizeLevels(size);
    this.#hashLeaves(sorted, source, packed);
    this.#hashPaths(sorted);
  }

  /** Sets every level's count for `size` leaves, growing buffers as needed. */
  #sizeLevels(size: number): void {
    let c = size;
    for (let k = 0; k < LEVELS_MAX; k++) {
      this.#ensure(k, c);
      this.#counts[k] = c;
      if (c <= 1) { for (let j = k + 1; j < LEVELS_MAX; j++) this.#counts[j] = 0; break; }
      c = (c + 1) >> 1;
    }
  }

  /** Leaf hashes of the leaves at `indexes` (from `source`, packed or in place) into level 0. */
  #hashLeaves(indexes: Int32Array, source: Uint32Array, packed: boolean): void {
    const D = DIGEST_BYTES >> 2; // words per digest
    const L = this.#leafBytes;
    const W = L >> 2;
    for (let from = 0; from < indexes.length; from += BATCH_NODES_MAX) {
      const n = Math.min(BATCH_NODES_MAX, indexes.length - from);
      const data = reserve(n * L + n * DIGEST_BYTES);
      const out = data + n * L;
      const m32 = mem32();
      let at = data >> 2;
      for (let i = 0; i < n; i++) {
        const src = (packed ? from + i : indexes[from + i]) * W;
        for (let w = 0; w < W; w++) m32[at + w] = source[src + w];
        at += W;
      }
      core.stateLeafBatch(this.#alg, data, L, n, out);
      const level = this.#words[0];
      const o32 = out >> 2;
      for (let i = 0; i < n; i++) {
        const dst = indexes[from + i] * D;
        for (let w = 0; w < D; w++) level[dst + w] = m32[o32 + i * D + w];
      }
    }
  }

  /** Rehashes the paths above the leaves at `sorted`, level by level up to the root. */
  #hashPaths(sorted: Int32Array): void {
    const D = DIGEST_BYTES >> 2; // words per digest
    let indexes: ArrayLike<number> = sorted;
    for (let k = 0; this.#counts[k] > 1; k++) {
      const below = this.#words[k];
      const countBelow = this.#counts[k];
      const above = this.#words[k + 1];
      const parents: number[] = [];
      for (let j = 0; j < indexes.length; j++) {
        const p = indexes[j] >> 1;
        if (parents.length === 0 || parents[parents.length - 1] !== p) parents.push(p);
      }
      const pairs: number[] = [];
      for (const p of parents) {
        if (2 * p + 1 < countBelow) pairs.push(p);
        else for (let w = 0; w < D; w++) above[p * D + w] = below[2 * p * D + w];
      }
      for (let from = 0; from < pairs.length; from += BATCH_NODES_MAX) {
        const n = Math.min(BATCH_NODES_MAX, pairs.length - from);
        const base = reserve(n * 96);
        const out = base + n * 64;
        const m32 = mem32();
        const b32 = base >> 2;
        for (let i = 0; i < n; i++) {
          const src = 2 * pairs[from + i] * D;
          for (let w = 0; w < 2 * D; w++) m32[b32 + i * 2 * D + w] = below[src + w];
        }
        core.stateNodeBatch(this.#alg, base, n, out);
        const o32 = out >> 2;
        for (let i = 0; i < n; i++) {
          const dst = pairs[from + i] * D;
          for (let w = 0; w < D; w++) above[dst + w] = m32[o32 + i * D + w];
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
      if (sibling < this.#counts[k]) {
        out.push(this.#levels[k].slice(sibling * DIGEST_BYTES, (sibling + 1) * DIGEST_BYTES));
      }
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
    const cap = Math.ceil(Math.max(need + (need >> 3), 1024) / DIGEST_BYTES) * DIGEST_BYTES;
    const next = new Uint8Array(new SharedArrayBuffer(cap));
    next.set(this.#levels[k].subarray(0, this.#counts[k] * DIGEST_BYTES));
    this.#levels[k] = next;
    this.#words[k] = new Uint32Array(next.buffer);
  }
}


/** Leaves per WASM call of a rebuild (its arena: 160 bytes a leaf). */
const REBUILD_BATCH = 8192;

/**
 * Leaf hashes of `leaves` (whole leaves of `leafBytes` end to end) into `level0`, the
 * first at node `at`: a batch of leaves per WASM call, one copy in and one out. Any thread.
 */
export function hashLeafRange(
  alg: HashAlgorithm, leafBytes: number, leaves: Uint8Array, level0: Uint8Array, at: number,
): void {
  const id = algorithmId(alg);
  const count = leaves.length / leafBytes;
  if (!Number.isInteger(count) || (at + count) * DIGEST_BYTES > level0.length) {
    throw new RangeError('leaves do not fit the level');
  }
  for (let from = 0; from < count; from += REBUILD_BATCH) {
    const n = Math.min(REBUILD_BATCH, count - from);
    const data = reserve(n * leafBytes + n * DIGEST_BYTES);
    const out = data + n * leafBytes;
    mem().set(leaves.subarray(from * leafBytes, (from + n) * leafBytes), data);
    core.stateLeafBatch(id, data, leafBytes, n, out);
    level0.set(mem().subarray(out, out + n * DIGEST_BYTES), (at + from) * DIGEST_BYTES);
  }
}

/**
 * Nodes [from, to) of the level above `below` (which holds `countBelow` nodes): node j is
 * H(0x01 ‖ below[2j] ‖ below[2j+1]), or a copy of below[2j] when that is the lone last
 * node. The children of a run of nodes are contiguous: one copy in, one out. Any thread.
 */
export function hashNodeRange(
  alg: HashAlgorithm, below: Uint8Array, countBelow: number, above: Uint8Array, from: number, to: number,
): void {
  const id = algorithmId(alg);
  const pairs = Math.min(to, countBelow >> 1);
  for (let j = from; j < pairs; j += REBUILD_BATCH) {
    const n = Math.min(REBUILD_BATCH, pairs - j);
    const base = reserve(n * 3 * DIGEST_BYTES);
    const out = base + n * 2 * DIGEST_BYTES;
    mem().set(below.subarray(j * 2 * DIGEST_BYTES, (j + n) * 2 * DIGEST_BYTES), base);
    core.stateNodeBatch(id, base, n, out);
    above.set(mem().subarray(out, out + n * DIGEST_BYTES), j * DIGEST_BYTES);
  }
  const lone = countBelow >> 1;
  if ((countBelow & 1) === 1 && lone >= from && lone < to) {
    above.set(below.subarray((countBelow - 1) * DIGEST_BYTES, countBelow * DIGEST_BYTES), lone * DIGEST_BYTES);
  }
}
