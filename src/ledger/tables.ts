// Fixed-size entry slabs with an open-addressing id index: the in-memory form of accounts
// and transfers. An entry is 128 bytes (32 little-endian u32 words) whose first 16 bytes
// are its u128 id. No per-entry JS objects: 1,000,000 accounts take 128 MB of slab,
// ~9 MB of index and the state tree's 64 bytes each.

export const ENTRY_BYTES = 128;
export const ENTRY_WORDS = 32;
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
