// Thin typed adapter over the `rocksdb` addon (leveldown API). The only file that touches
// the addon: everything else sees promises, Uint8Array keys and values, and one atomic
// batch type. Keys and values are always binary (Buffer views), never strings.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface RawIterator {
  /** The native iterator (the addon's own handle, for binding.iterator_next). */
  context: unknown;
  next(cb: (err: Error | null, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err: Error | null) => void): void;
}
/**
 * The addon's native calls. One `iterator_next` reads up to 1,000 entries or
 * `highWaterMark` bytes on a libuv thread and hands them over as one array (values and
 * keys interleaved, last entry first); the addon's JS iterator then serves them one
 * process.nextTick at a time. range() calls it directly instead.
 */
interface RawBinding {
  iterator_next(context: unknown, cb: (err: Error | null, entries: Buffer[], finished: boolean) => void): void;
}
interface RawDb {
  open(options: object, cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  get(key: Buffer, options: object, cb: (err: (Error & { code?: string }) | null, value?: Buffer) => void): void;
  getMany(keys: Buffer[], options: object, cb: (err: Error | null, values?: (Buffer | undefined)[]) => void): void;
  batch(ops: RawOp[], options: object, cb: (err: Error | null) => void): void;
  iterator(options: object): RawIterator;
  clear(options: object, cb: (err: Error | null) => void): void;
}
type RawOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

const rocksdb = require('rocksdb') as (location: string) => RawDb;
const binding = require('rocksdb/binding') as RawBinding;

function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Memtable size (the addon's default is 4 MiB). A block value is up to ~2 MiB, so a small
 * memtable flushes every block or two, and each flush feeds compaction, which then rewrites
 * the block values again and again: measured, 4 → 64 MiB cut CPU per durable transfer by a
 * sixth. RocksDB keeps up to two memtables: at most 128 MiB.
 */
const WRITE_BUFFER_BYTES = 64 << 20;

/** Scratch chunk size for WriteBatch.alloc. */
const WRITE_BATCH_CHUNK_BYTES = 1 << 20;

/** Operations applied atomically by `RocksDb.write`. */
export class WriteBatch {
  readonly ops: RawOp[] = [];
  bytes = 0;
  #chunk: Buffer = Buffer.allocUnsafeSlow(0);
  #used = 0;

  /**
   * `bytes` bytes of scratch owned by this batch, for building keys and values without
   * one allocation each (the caller writes every byte).
   */
  alloc(bytes: number): Buffer {
    if (this.#used + bytes > this.#chunk.length) {
      this.#chunk = Buffer.allocUnsafeSlow(Math.max(WRITE_BATCH_CHUNK_BYTES, bytes));
      this.#used = 0;
    }
    const out = this.#chunk.subarray(this.#used, this.#used + bytes);
    this.#used += bytes;
    return out;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.ops.push({ type: 'put', key: buf(key), value: buf(value) });
    this.bytes += key.length + value.length;
  }
  del(key: Uint8Array): void {
    this.ops.push({ type: 'del', key: buf(key) });
    this.bytes += key.length;
  }
}

export interface RangeOptions {
  gte?: Uint8Array;
  lt?: Uint8Array;
  reverse?: boolean;
  limit?: number;
  /**
   * Bytes the addon reads per native call (at most 1,000 entries each); default 64 KiB.
   * Bulk reads of large values take more (restore: 4 MiB).
   */
  batchBytes?: number;
  /** Keep the blocks read in RocksDB's block cache (default true; bulk reads: false). */
  fillCache?: boolean;
  /** Values only (keys come back empty): saves the addon a Buffer per entry. */
  keys?: boolean;
}

/** One native read: entries [i] are (keys[i], values[i]). */
export interface RangeBatch {
  keys: Uint8Array[];
  values: Uint8Array[];
}

/** The addon crashes the process on a read or write after close: refuse them here instead. */
function closedError(): Error {
  return new Error('the store is closed');
}

export class RocksDb {
  readonly #db: RawDb;
  #open = false;
  /** Range reads in progress, and close() calls waiting for them to end. */
  #reads = 0;
  #readsDone: (() => void)[] = [];

  private constructor(db: RawDb) {
    this.#db = db;
  }

  static async open(
    location: string, options: { createIfMissing?: boolean; readOnly?: boolean } = {},
  ): Promise<RocksDb> {
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) =>
      db.open({
        createIfMissing: options.createIfMissing ?? true, readOnly: options.readOnly ?? false,
        infoLogLevel: 'error', writeBufferSize: WRITE_BUFFER_BYTES,
      }, (err) => (err ? reject(explainOpenError(location, err)) : resolve())));
    const out = new RocksDb(db);
    out.#open = true;
    return out;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    // An iterator the addon still holds would crash it at close: wait for them to end.
    if (this.#reads > 0) await new Promise<void>((resolve) => this.#readsDone.push(resolve));
    await new Promise<void>((resolve, reject) => this.#db.close((err) => (err ? reject(err) : resolve())));
  }

  /** Value at `key`, or undefined. */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.#open) return Promise.reject(closedError());
    return new Promise((resolve, reject) =>
      this.#db.get(buf(key), { asBuffer: true, fillCache: true }, (err, value) => {
        if (err) {
          if (err.code === 'LEVEL_NOT_FOUND' || /NotFound/.test(err.message)) resolve(undefined);
          else reject(err);
          return;
        }
        resolve(value);
      }));
  }

  getMany(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (!this.#open) return Promise.reject(closedError());
    return new Promise((resolve, reject) =>
      this.#db.getMany(keys.map(buf), { asBuffer: true },
        (err, values) => (err ? reject(err) : resolve(values ?? []))));
  }

  /** Applies `batch` atomically; with `sync` it is on disk (fsync'd WAL) when this resolves. */
  write(batch: WriteBatch, sync: boolean): Promise<void> {
    if (!this.#open) return Promise.reject(closedError());
    return new Promise((resolve, reject) =>
      this.#db.batch(batch.ops, { sync }, (err) => (err ? reject(err) : resolve())));
  }

  /** Iterates key/value pairs in key order over [gte, lt). */
  async *range(options: RangeOptions): AsyncGenerator<[Uint8Array, Uint8Array]> {
    for await (const b of this.rangeBatches(options)) {
      for (let i = 0; i < b.keys.length; i++) yield [b.keys[i], b.values[i]];
    }
  }

  /**
   * As range, a native read at a time: each batch is what one call into the addon read
   * (up to 1,000 entries or `batchBytes`), and the next read is already under way on a
   * libuv thread while the caller works on this one. No promise or tick per entry: a
   * restore reads millions of entries through this.
   */
  async *rangeBatches(options: RangeOptions): AsyncGenerator<RangeBatch> {
    if (!this.#open) throw closedError();
    const withKeys = options.keys ?? true;
    const raw: Record<string, unknown> = { keys: withKeys, keyAsBuffer: withKeys, valueAsBuffer: true,
      reverse: options.reverse ?? false, limit: options.limit ?? -1, highWaterMark: options.batchBytes ?? (64 << 10),
      fillCache: options.fillCache ?? true };
    if (options.gte) raw.gte = buf(options.gte);
    if (options.lt) raw.lt = buf(options.lt);
    const it = this.#db.iterator(raw);
    this.#reads++;
    const read = (): Promise<{ entries: Buffer[]; finished: boolean }> => new Promise((resolve, reject) =>
      binding.iterator_next(it.context,
        (err, entries, finished) => (err ? reject(err) : resolve({ entries, finished }))));
    let next: Promise<{ entries: Buffer[]; finished: boolean }> | undefined = read();
    try {
      while (next) {
        const got: { entries: Buffer[]; finished: boolean } = await next;
        const { entries, finished } = got;
        // Read ahead: the addon fills the next batch while the caller uses this one.
        next = finished ? undefined : read();
        // Last entry first, value before key (the addon's order, made for pop()).
        const n = entries.length >> 1;
        const keys: Uint8Array[] = new Array(n);
        const values: Uint8Array[] = new Array(n);
        for (let i = 0; i < n; i++) {
          values[i] = entries[entries.length - 2 - 2 * i];
          keys[i] = withKeys ? entries[entries.length - 1 - 2 * i] : EMPTY;
        }
        if (n > 0) yield { keys, values };
      }
    } finally {
      // A read still in flight ends first (the addon defers end() until it is done).
      if (next) await next.catch(() => undefined);
      await new Promise<void>((resolve) => it.end(() => resolve()));
      if (--this.#reads === 0) for (const w of this.#readsDone.splice(0)) w();
    }
  }

  /**
   * Deletes every key in [gte, lt), in the addon's own batches (not atomic, no fsync):
   * for garbage no reader looks at any more.
   */
  clear(options: { gte: Uint8Array; lt: Uint8Array }): Promise<void> {
    if (!this.#open) return Promise.reject(closedError());
    return new Promise((resolve, reject) =>
      this.#db.clear({ gte: buf(options.gte), lt: buf(options.lt) }, (err) => (err ? reject(err) : resolve())));
  }
}

const EMPTY = new Uint8Array(0);

/**
 * RocksDB's own open errors, said in terms of the chain folder and what to do. The
 * original message stays as the cause.
 */
function explainOpenError(location: string, err: Error): Error {
  const m = err.message;
  let why: string | undefined;
  if (/lock/i.test(m) && /(Resource temporarily unavailable|No locks available|lock hold)/i.test(m)) {
    why = 'is in use by another process (a running node?): stop it first; gmledger info reads it while it runs';
  } else if (/does not exist|create_if_missing is false/i.test(m)) {
    why = 'holds no database (not a gmledger chain folder? create one with gmledger init)';
  } else if (/Corruption|checksum mismatch|bad magic|truncated/i.test(m)) {
    why = 'is damaged (RocksDB reports corruption): restore it from a backup or another node, then gmledger verify it';
  } else if (/No such file or directory|IO error/i.test(m)) {
    why = 'is missing files RocksDB needs (a partial copy?): restore the whole folder, then gmledger verify it';
  }
  return why === undefined ? err : new Error(`the database in ${location} ${why} — ${m}`, { cause: err });
}
