// A block's tx root and result root, computed off the sequencer's thread. Hashing a block's
// records and building its two trees is about a third of the main thread's work per durable
// transfer, and none of it depends on state: the sequencer applies block N+1 while a
// worker hashes block N. Small blocks are hashed inline: the round trip would cost more.

import { Worker } from 'node:worker_threads';
import { RECORD_BYTES } from '../codec/record.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { resultRoot, txHashes, txRoot } from '../chain/block.js';

/** Blocks of fewer records than this are hashed on the calling thread. */
export const ROOTS_WORKER_MIN_RECORDS = 1024;
/** Blocks queued to the worker at once; beyond it `compute` waits (the ledger bounds it anyway). */
export const ROOTS_QUEUE_MAX = 64;

/** Part of a block: its records, or their tx hashes (n × 32 bytes) when already known. */
export type RootsChunk = { records: Uint8Array } | { hashes: Uint8Array };

export interface BlockRoots {
  txRoot: Uint8Array;
  resultRoot: Uint8Array;
  /** The tx hashes, n × 32 bytes, when asked for. */
  hashes?: Uint8Array;
}

/** The roots of a block made of `chunks` (in order) with result `codes`. Pure; any thread. */
export function computeRoots(chunks: RootsChunk[], codes: Uint16Array, alg: 'sm3' | 'sha256', wantHashes: boolean): BlockRoots {
  const hashes: Uint8Array[] = [];
  for (const c of chunks) {
    if ('records' in c) {
      if (c.records.length % RECORD_BYTES !== 0) throw new RangeError('a chunk is whole records');
      for (const h of txHashes(c.records, c.records.length / RECORD_BYTES, alg)) hashes.push(h);
    } else {
      if (c.hashes.length % DIGEST_BYTES !== 0) throw new RangeError('a hash chunk is whole digests');
      for (let o = 0; o < c.hashes.length; o += DIGEST_BYTES) hashes.push(c.hashes.subarray(o, o + DIGEST_BYTES));
    }
  }
  if (hashes.length !== codes.length) throw new RangeError(`${hashes.length} records for ${codes.length} result codes`);
  const out: BlockRoots = { txRoot: txRoot(hashes, alg), resultRoot: resultRoot(hashes, codes, alg) };
  if (wantHashes) {
    out.hashes = new Uint8Array(hashes.length * DIGEST_BYTES);
    for (let i = 0; i < hashes.length; i++) out.hashes.set(hashes[i], i * DIGEST_BYTES);
  }
  return out;
}

/** `b` itself if it spans its whole buffer, else a copy: cloning a view clones its whole buffer. */
function own<T extends Uint8Array | Uint16Array>(b: T): T {
  return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()) as T;
}

interface Job { resolve: (r: BlockRoots) => void; reject: (e: Error) => void }

/** One worker thread, started on the first large block, answering in submission order. */
export class RootsWorker {
  #worker: Worker | undefined;
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;
  #failed: Error | undefined;
  #closed = false;

  compute(chunks: RootsChunk[], codes: Uint16Array, alg: 'sm3' | 'sha256', wantHashes: boolean): Promise<BlockRoots> {
    if (this.#closed) return Promise.reject(new Error('roots worker is closed'));
    if (this.#failed) return Promise.reject(this.#failed);
    if (codes.length < ROOTS_WORKER_MIN_RECORDS || this.#jobs.size >= ROOTS_QUEUE_MAX) {
      try {
        return Promise.resolve(computeRoots(chunks, codes, alg, wantHashes));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    const msg = {
      id, alg, wantHashes, codes: own(codes),
      chunks: chunks.map((c) => ('records' in c ? { records: own(c.records) } : { hashes: own(c.hashes) })),
    };
    return new Promise<BlockRoots>((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      // Referenced only while it has work: an idle worker must not keep the process alive,
      // a busy one must (its caller is waiting on it).
      if (this.#jobs.size === 1) worker.ref();
      worker.postMessage(msg);
    });
  }

  #start(): Worker {
    const worker = new Worker(new URL('./roots-worker.js', import.meta.url));
    worker.on('message', (m: { id: number; roots?: BlockRoots; error?: string }) => {
      const job = this.#jobs.get(m.id);
      if (!job) return;
      this.#jobs.delete(m.id);
      if (this.#jobs.size === 0) worker.unref();
      if (m.roots) job.resolve(m.roots); else job.reject(new Error(`roots worker: ${m.error ?? 'no answer'}`));
    });
    const fail = (err: Error): void => {
      this.#failed ??= err;
      for (const job of this.#jobs.values()) job.reject(this.#failed);
      this.#jobs.clear();
      this.#worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (!this.#closed) fail(new Error(`roots worker exited with code ${code}`)); });
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  /** Stops the worker; jobs still queued are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    for (const job of this.#jobs.values()) job.reject(new Error('roots worker is closed'));
    this.#jobs.clear();
    if (w) await w.terminate();
  }
}
