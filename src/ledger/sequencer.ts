// Ordering. A sequencer takes admitted batches, gives them a total order and cuts that order
// into blocks: log entries of (height, time, records). Every block goes to one BlockSink,
// which applies it part by part as it is ordered (apply.ts), then seals it and makes it
// durable when it is cut. The local sequencer here cuts
// on size and time with the local clock; a replicated one takes the same decisions from a
// replicated log, so every replica cuts the same blocks (TigerBeetle's primary assigns the
// timestamp in `prepare`; every replica commits with the logged one).

import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES, u16 } from '../codec/record.js';
import { CHECK_BATCH_MAX } from '../codec/validate.js';
import { SM2_BATCH_MAX } from '../crypto/sm2.js';
import type { LogEntry } from './apply.js';

/**
 * Most records one submit or append takes; a batch always lands in a single block. Not the
 * network's frame limit (LIMITS.BATCH_RECORDS_MAX, 1,024 records per WebSocket frame): the
 * node's batcher merges frames from many connections into batches of up to this size.
 * 8,190 records are just under 2 MiB, structure-checked in one WASM call.
 */
export const BATCH_RECORDS_MAX = 8190;
/** A block closes at this many records (default) or this long after opening. */
export const BLOCK_RECORDS_DEFAULT = 8190;
export const BLOCK_RECORDS_MAX = 1 << 16;
export const BLOCK_MS_DEFAULT = 20;
export const BLOCK_MS_MAX = 60_000;

// Limits that must agree, checked at load: a batch is checked in one structure call and
// verified in one SM2 batch, and fits in a block.
if (BATCH_RECORDS_MAX > CHECK_BATCH_MAX || BATCH_RECORDS_MAX > SM2_BATCH_MAX || BATCH_RECORDS_MAX > BLOCK_RECORDS_MAX) {
  throw new Error('BATCH_RECORDS_MAX exceeds CHECK_BATCH_MAX, SM2_BATCH_MAX or BLOCK_RECORDS_MAX');
}
if (BLOCK_RECORDS_DEFAULT > BLOCK_RECORDS_MAX) throw new Error('BLOCK_RECORDS_DEFAULT exceeds BLOCK_RECORDS_MAX');

/** Where one append landed: its block, its first index there, and its records' result codes. */
export interface AppendResult { codes: Uint16Array; height: number; first: number }

/** One append's part of a block: its record count and, if admission computed them, its tx hashes. */
export interface EntryChunk { count: number; hashes?: Uint8Array[] }

/**
 * Where ordered blocks go, in height order: each block is begun, its parts applied as they
 * are ordered (so the state — and the admission of the next batch — sees them at once),
 * then committed when the block is cut. `begin` and `apply` throw only on a broken
 * invariant; `commit` resolves once the block is durable.
 */
export interface BlockSink {
  begin(height: number, timeMs: number): void;
  /** Applies the next part of the open block; returns its result codes (a view: copy it). */
  apply(records: Uint8Array, count: number): Uint16Array;
  /** The open block is complete: `entry` is all of it, its parts end to end. */
  commit(entry: LogEntry, chunks: EntryChunk[]): Promise<void>;
}

/** The ordering seam: admitted batches in, a total order of blocks out. */
export interface Sequencer {
  /**
   * Orders `count` admitted records of `batch` (every linked chain closed inside it);
   * resolves once the block holding them is durable. `hashes`: their tx hashes, when the
   * caller already has them.
   */
  append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult>;
  /** Cuts the open block now, if there is one. */
  cut(): void;
  /** The last block cut (−1: none). */
  readonly height: number;
}

export interface LocalSequencerOptions {
  /** The last block on the chain, its time, and where blocks go. */
  height: number;
  timeMs: number;
  sink: BlockSink;
  blockMaxRecords?: number;
  blockMaxMs?: number;
  /** Block clock in ms (default Date.now); a block's time never goes backwards. */
  clock?: () => number;
}

interface Waiter {
  resolve: (r: AppendResult) => void; reject: (err: Error) => void; first: number; count: number; codes: Uint16Array;
}

interface OpenBlock {
  height: number;
  timeMs: number;
  batches: Uint8Array[];
  chunks: EntryChunk[];
  count: number;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/** Cuts blocks on size (blockMaxRecords) and time (blockMaxMs after a block opens). */
export class LocalSequencer implements Sequencer {
  readonly #sink: BlockSink;
  readonly #blockMaxRecords: number;
  readonly #blockMaxMs: number;
  readonly #clock: () => number;
  #height: number;
  #timeMs: number;
  #open: OpenBlock | undefined;
  #failed: Error | undefined;

  constructor(o: LocalSequencerOptions) {
    this.#sink = o.sink;
    this.#blockMaxRecords = o.blockMaxRecords ?? BLOCK_RECORDS_DEFAULT;
    this.#blockMaxMs = o.blockMaxMs ?? BLOCK_MS_DEFAULT;
    this.#clock = o.clock ?? Date.now;
    checkBlockLimits(this.#blockMaxRecords, this.#blockMaxMs);
    this.#height = o.height;
    this.#timeMs = o.timeMs;
  }

  get height(): number {
    return this.#height;
  }

  get blockMaxRecords(): number {
    return this.#blockMaxRecords;
  }

  append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    const refused = checkAppend(batch, count, hashes, this.#blockMaxRecords);
    if (refused) return Promise.reject(refused);
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#open && this.#open.count + count > this.#blockMaxRecords) this.cut();
    let block: OpenBlock;
    let codes: Uint16Array;
    try {
      block = this.#open ?? this.#openBlock();
      codes = this.#sink.apply(batch, count).slice();
    } catch (err) {
      return Promise.reject(this.#stop(err as Error));
    }
    const first = block.count;
    block.batches.push(batch.subarray(0, count * RECORD_BYTES));
    block.chunks.push({ count, hashes });
    block.count += count;
    const result = new Promise<AppendResult>(
      (resolve, reject) => block.waiters.push({ resolve, reject, first, count, codes }),
    );
    if (block.count >= this.#blockMaxRecords) this.cut();
    return result;
  }

  #openBlock(): OpenBlock {
    const block: OpenBlock = {
      height: this.#height + 1, timeMs: Math.max(this.#clock(), this.#timeMs),
      batches: [], chunks: [], count: 0, waiters: [], timer: undefined,
    };
    this.#sink.begin(block.height, block.timeMs);
    block.timer = setTimeout(() => { if (this.#open === block) this.cut(); }, this.#blockMaxMs);
    this.#open = block;
    return block;
  }

  /**
   * A broken invariant inside apply: the state can no longer be trusted to match the
   * chain, so nothing more is ordered and the open block is never committed (see assert.ts).
   */
  #stop(err: Error): Error {
    this.#failed ??= err;
    const block = this.#open;
    this.#open = undefined;
    if (block) {
      clearTimeout(block.timer);
      for (const w of block.waiters) w.reject(this.#failed);
    }
    return this.#failed;
  }

  cut(): void {
    const block = this.#open;
    if (!block) return;
    this.#open = undefined;
    clearTimeout(block.timer);
    this.#height = block.height;
    this.#timeMs = block.timeMs;
    const records = block.batches.length === 1 ? block.batches[0] : concat(block.batches, block.count);
    let committed: Promise<void>;
    try {
      committed = this.#sink.commit(
        { height: block.height, timeMs: block.timeMs, records, count: block.count }, block.chunks,
      );
    } catch (err) {
      this.#failed ??= err as Error;
      for (const w of block.waiters) w.reject(this.#failed);
      return;
    }
    committed.then(() => {
      for (const w of block.waiters) w.resolve({ codes: w.codes, height: block.height, first: w.first });
    }, (err: Error) => {
      for (const w of block.waiters) w.reject(err);
    });
  }

  /** Refuses every later append with `err` (the sink failed: the chain on disk must not get a hole). */
  fail(err: Error): void {
    this.#failed ??= err;
  }

  /** Why the sequencer stopped ordering, if it did. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /** Records in the open block (not yet cut). */
  get openRecords(): number {
    return this.#open?.count ?? 0;
  }
}

/**
 * Why an append is refused before anything happens (bad arguments), or undefined. Every
 * Sequencer checks its appends with this, so they refuse alike.
 */
export function checkAppend(
  batch: Uint8Array, count: number, hashes: Uint8Array[] | undefined, blockMax: number,
): Error | undefined {
  if (!(batch instanceof Uint8Array)) return new TypeError('append: batch must be a Uint8Array');
  const max = Math.min(BATCH_RECORDS_MAX, blockMax);
  if (!Number.isSafeInteger(count) || count < 1 || count > max || batch.length < count * RECORD_BYTES) {
    return new RangeError(`append: count must be an integer in [1, ${max}] and the batch must hold that many records`);
  }
  if (hashes !== undefined && hashes.length !== count) {
    return new RangeError(`append: ${hashes.length} hashes for ${count} records`);
  }
  // Linked chains close inside one append: applyBlock ends a chain at its first unlinked
  // record, so a chain left open here would run on into the next append's records.
  if ((u16(batch, (count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) {
    return new RangeError('append: the batch ends inside a linked chain (its last record has the linked flag)');
  }
  return undefined;
}

/** Throws a RangeError unless the block limits are in bounds. Every Sequencer checks its own with this. */
export function checkBlockLimits(blockMaxRecords: number, blockMaxMs: number): void {
  if (!Number.isSafeInteger(blockMaxRecords) || blockMaxRecords < 1 || blockMaxRecords > BLOCK_RECORDS_MAX) {
    const got = String(blockMaxRecords);
    throw new RangeError(`blockMaxRecords must be an integer in [1, ${BLOCK_RECORDS_MAX}], got ${got}`);
  }
  if (!Number.isSafeInteger(blockMaxMs) || blockMaxMs < 0 || blockMaxMs > BLOCK_MS_MAX) {
    throw new RangeError(`blockMaxMs must be an integer in [0, ${BLOCK_MS_MAX}], got ${String(blockMaxMs)}`);
  }
}

/** The parts of a block end to end (count × 256 bytes). */
export function concat(parts: Uint8Array[], count: number): Uint8Array {
  const out = new Uint8Array(count * RECORD_BYTES);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
