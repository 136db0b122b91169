// Fixed-size entry slabs with an open-addressing id index: the in-memory form of accounts
// and transfers. An entry is 128 bytes (32 little-endian u32 words) whose first 16 bytes
// are its u128 id. No per-entry JS objects: 1,000,000 accounts take 128 MB of slab,
// ~9 MB of index and the state tree's 64 bytes each.

import { ENTRY_BYTES, ENTRY_WORDS } from '../codec/entries.js';

export { ENTRY_BYTES, ENTRY_WORDS };
/** Most entries one slab holds (the index uses Int32 slots). */
export const SLAB_ENTRIES_MAX = 1 << 30;

export class Slab {
  words: Uint32Array;
  bytes: Uint8Array;
  count = 0;

  readonly #growth: number;

  /** `growth`: capacity factor on a full slab (small for accounts, to bound memory slack). */
  constructor(initialEntries = 1024, growth = 1.25) {
    this.#growth = growth;
    this.words = new Uint32Array(initialEntries * ENTRY_WORDS);
    this.bytes = new Uint8Array(this.words.buffer);
  }

  get capacity(): number {
    return this.words.length / ENTRY_WORDS;
  }

  /** Appends a zeroed entry and returns its index. */
  push(): number {
    if (this.count === this.capacity) {
      if (this.count >= SLAB_ENTRIES_MAX) throw new RangeError('slab full');
      // Grow by the slab's factor (accounts: 1/4, bounded slack for the memory budget); amortised O(1) appends.
      const next = new Uint32Array(Math.ceil(this.capacity * this.#growth + 1024) * ENTRY_WORDS);
      next.set(this.words);
      this.words = next;
      this.bytes = new Uint8Array(next.buffer);
    }
    const i = this.count++;
    this.words.fill(0, i * ENTRY_WORDS, (i + 1) * ENTRY_WORDS);
    return i;
  }

  /**
   * Capacity for at least `entries` entries. A slab that must grow gets exactly that
   * many: a restore reserves once from the stored counts instead of growing step by step
   * (each step a copy of the whole slab).
   */
  reserve(entries: number): void {
    if (entries <= this.capacity) return;
    if (entries > SLAB_ENTRIES_MAX) throw new RangeError('slab full');
    const next = new Uint32Array(entries * ENTRY_WORDS);
    next.set(this.words.subarray(0, this.count * ENTRY_WORDS));
    this.words = next;
    this.bytes = new Uint8Array(next.buffer);
  }

  /**
   * Restore: the slab now holds `count` entries, written by the caller into `bytes`
   * (entries never written since reserve() are zero).
   */
  setCount(count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > this.capacity) {
      throw new RangeError(`count ${count} outside the slab`);
    }
    this.count = count;
  }

  /** Removes the last entry (undo of push). */
  pop(): void {
    if (this.count === 0) throw new Error('slab empty');
    this.count--;
  }

  entry(i: number): Uint8Array {
    return this.bytes.slice(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES);
  }
}

function mix(a0: number, a1: number, a2: number, a3: number): number {
  let h = Math.imul(a0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ a1 ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ a2 ^ (h >>> 13), 0x27d4eb2f);
  h = Math.imul(h ^ a3 ^ (h >>> 16), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Linear-probing index from u128 id to slab entry; kept at most half full. */
export class IdIndex {
  #slots: Int32Array;
  #mask: number;
  #size = 0;
  readonly #slab: Slab;

  constructor(slab: Slab, initialSlots = 2048) {
    this.#slab = slab;
    this.#slots = new Int32Array(initialSlots);
    this.#mask = initialSlots - 1;
  }

  get bytes(): number {
    return this.#slots.byteLength;
  }

  /** Entry index of the id whose words are (a0, a1, a2, a3), or -1. */
  find(a0: number, a1: number, a2: number, a3: number): number {
    const w = this.#slab.words;
    let s = mix(a0, a1, a2, a3) & this.#mask;
    for (;;) {
      const v = this.#slots[s];
      if (v === 0) return -1;
      const b = (v - 1) * ENTRY_WORDS;
      if (w[b] === a0 && w[b + 1] === a1 && w[b + 2] === a2 && w[b + 3] === a3) return v - 1;
      s = (s + 1) & this.#mask;
    }
  }

  /** Indexes slab entry `index` (its id words must already be written). */
  insert(index: number): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow(index);
    this.#place(index);
    this.#size++;
  }

  /**
   * Indexes every slab entry [0, count) afresh, into a table sized once for them: a
   * restore's bulk alternative to insert(). The entries are placed in the order of their
   * home slots (a counting sort on the slot's high bits first), so the table fills front
   * to back instead of one cache miss per entry: about twice as fast at 10,000,000
   * entries. Entries indexed so are never removed (removeLast covers later inserts).
   * `tick` is called every 65,536 entries (a restore feeds its tree helper from it).
   */
  rebuild(tick?: () => void): void {
    const count = this.#slab.count;
    let size = 2048;
    while (size < 2 * count) size *= 2;
    const mask = size - 1;
    const slots = new Int32Array(size);
    const shift = Math.max(0, Math.log2(size) - 16);
    const cursor = new Int32Array((size >>> shift) + 1);
    const homes = new Int32Array(count);
    const w = this.#slab.words;
    for (let e = 0, b = 0; e < count; e++, b += ENTRY_WORDS) {
      const h = mix(w[b], w[b + 1], w[b + 2], w[b + 3]) & mask;
      homes[e] = h;
      cursor[(h >>> shift) + 1]++;
      if ((e & 0xffff) === 0xffff) tick?.();
    }
    for (let i = 1; i < cursor.length; i++) cursor[i] += cursor[i - 1];
    const byHome = new Int32Array(count);
    const homeOf = new Int32Array(count);
    for (let e = 0; e < count; e++) {
      const h = homes[e];
      const at = cursor[h >>> shift]++;
      byHome[at] = e;
      homeOf[at] = h;
      if ((e & 0xffff) === 0xffff) tick?.();
    }
    for (let k = 0; k < count; k++) {
      let s = homeOf[k];
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = byHome[k] + 1;
      if ((k & 0xffff) === 0xffff) tick?.();
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#size = count;
  }

  /** Entries indexed. */
  get size(): number {
    return this.#size;
  }

  /** Removes the most recently inserted entry `index` (last-in-first-out only). */
  removeLast(index: number): void {
    const w = this.#slab.words;
    const b = index * ENTRY_WORDS;
    let s = mix(w[b], w[b + 1], w[b + 2], w[b + 3]) & this.#mask;
    while (this.#slots[s] !== index + 1) {
      if (this.#slots[s] === 0) throw new Error('index entry missing');
      s = (s + 1) & this.#mask;
    }
    this.#slots[s] = 0;
    this.#size--;
  }

  #place(index: number): void {
    const w = this.#slab.words;
    const b = index * ENTRY_WORDS;
    let s = mix(w[b], w[b + 1], w[b + 2], w[b + 3]) & this.#mask;
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
    this.#slots[s] = index + 1;
  }

  #grow(adding: number): void {
    this.#slots = new Int32Array(this.#slots.length * 2);
    this.#mask = this.#slots.length - 1;
    // Every slab entry is indexed: reinsert them in entry order (so last-in-first-out
    // removal stays valid), all but the one being added.
    for (let e = 0; e < this.#slab.count; e++) if (e !== adding) this.#place(e);
  }
}
