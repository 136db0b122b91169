// Thin typed adapter over the `rocksdb` addon (leveldown API). The only file that touches
// the addon: everything else sees promises, Uint8Array keys and values, and one atomic
// batch type. Keys and values are always binary (Buffer views), never strings.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface RawIterator {
  next(cb: (err: Error | null, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err: Error | null) => void): void;
}
interface RawDb {
  open(options: object, cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  get(key: Buffer, options: object, cb: (err: (Error & { code?: string }) | null, value?: Buffer) => void): void;
  getMany(keys: Buffer[], options: object, cb: (err: Error | null, values?: (Buffer | undefined)[]) => void): void;
  batch(ops: RawOp[], options: object, cb: (err: Error | null) => void): void;
  iterator(options: object): RawIterator;
}
type RawOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

const rocksdb = require('rocksdb') as (location: string) => RawDb;

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
}

/** The addon crashes the process on a read or write after close: refuse them here instead. */
function closedError(): Error {
  return new Error('the store is closed');
}

export class RocksDb {
  readonly #db: RawDb;
  #open = false;

  private constructor(db: RawDb) {
    this.#db = db;
  }

  static async open(location: string, options: { createIfMissing?: boolean; readOnly?: boolean } = {}): Promise<RocksDb> {
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) =>
      db.open({ createIfMissing: options.createIfMissing ?? true, readOnly: options.readOnly ?? false, infoLogLevel: 'error', writeBufferSize: WRITE_BUFFER_BYTES },
        (err) => (err ? reject(err) : resolve())));
    const out = new RocksDb(db);
    out.#open = true;
    return out;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
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
      this.#db.getMany(keys.map(buf), { asBuffer: true }, (err, values) => (err ? reject(err) : resolve(values ?? []))));
  }

  /** Applies `batch` atomically; with `sync` it is on disk (fsync'd WAL) when this resolves. */
  write(batch: WriteBatch, sync: boolean): Promise<void> {
    if (!this.#open) return Promise.reject(closedError());
    return new Promise((resolve, reject) =>
      this.#db.batch(batch.ops, { sync }, (err) => (err ? reject(err) : resolve())));
  }

  /** Iterates key/value pairs in key order over [gte, lt). */
  async *range(options: RangeOptions): AsyncGenerator<[Uint8Array, Uint8Array]> {
    if (!this.#open) throw closedError();
    const raw: Record<string, unknown> = { keyAsBuffer: true, valueAsBuffer: true, reverse: options.reverse ?? false,
      limit: options.limit ?? -1 };
    if (options.gte) raw.gte = buf(options.gte);
    if (options.lt) raw.lt = buf(options.lt);
    const it = this.#db.iterator(raw);
    try {
      for (;;) {
        const entry = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
          it.next((err, key, value) => (err ? reject(err) : resolve(key === undefined ? undefined : [key, value!]))));
        if (!entry) return;
        yield entry;
      }
    } finally {
      await new Promise<void>((resolve) => it.end(() => resolve()));
    }
  }
}
