// A pool of worker threads for SM2 batch verification (piscina). Each worker loads the
// WASM core once. A batch is grouped by signer key (key-order.ts), then split into one part
// per thread, each part packed into its own buffer (packBatch layout) and transferred —
// never JSON, never copied twice.

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { packBatch, SM2_BATCH_MAX, type VerifyBatchItem } from '../crypto/sm2.js';
import { workerExecArgv } from './exec-argv.js';
import { keyOrder } from './key-order.js';

export interface VerifyPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  threads?: number;
  /** Smallest part sent to one worker (default 128): tiny batches are not split. */
  minPart?: number;
}

export interface VerifyPool {
  readonly threads: number;
  /** Same answers as sm2.verifyBatch(items), computed on the workers. */
  verifyBatch(items: VerifyBatchItem[]): Promise<boolean[]>;
  /**
   * Verifies an already packed batch (sm2.packBatch) on one worker; the buffer is
   * transferred (detached here). Resolves to one byte per item (1 valid).
   */
  verifyPacked(packed: Uint8Array, count: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function createVerifyPool(options: VerifyPoolOptions = {}): VerifyPool {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`threads must be an integer in [1, 256], got ${String(threads)}`);
  }
  const minPart = options.minPart ?? 128;
  if (!Number.isSafeInteger(minPart) || minPart < 1) {
    throw new RangeError(`minPart must be a positive integer, got ${String(minPart)}`);
  }
  const piscina = new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    // Not the parent's flags: --input-type, --eval and the like stop a worker from starting.
    execArgv: workerExecArgv(),
  });
  let closed = false;

  async function runPacked(packed: Uint8Array, count: number): Promise<Uint8Array> {
    if (closed) throw new Error('verify pool is closed');
    // Transfer needs a buffer of exactly this view; copy if it is a slice of something larger.
    const own = packed.byteOffset === 0 && packed.byteLength === packed.buffer.byteLength &&
      packed.buffer instanceof ArrayBuffer ? packed : packed.slice();
    const buffer = own.buffer as ArrayBuffer;
    const out = (await piscina.run({ buffer, count }, { transferList: [buffer] })) as ArrayBuffer;
    return new Uint8Array(out);
  }

  return {
    threads,
    async verifyBatch(items: VerifyBatchItem[]): Promise<boolean[]> {
      if (!Array.isArray(items)) throw new TypeError('items must be an array');
      if (items.length > SM2_BATCH_MAX) {
        throw new RangeError(`batch of ${items.length} items exceeds SM2_BATCH_MAX (${SM2_BATCH_MAX})`);
      }
      // Grouped by key first (key-order.ts): parts and the core's chunks then share as few
      // keys as possible, and per-key work is not repeated in every part.
      const order = keyOrder(items);
      const sorted = order ? Array.from(order, (k) => items[k]) : items;
      const parts = Math.max(1, Math.min(threads, Math.floor(items.length / minPart)));
      const per = Math.ceil(items.length / parts);
      const jobs: Promise<Uint8Array>[] = [];
      for (let at = 0; at < sorted.length; at += per) {
        const part = sorted.slice(at, at + per);
        jobs.push(runPacked(packBatch(part), part.length));
      }
      const results = await Promise.all(jobs);
      const out: boolean[] = new Array(items.length);
      let i = 0;
      for (const r of results) {
        for (let j = 0; j < r.length; j++, i++) out[order ? order[i] : i] = r[j] === 1;
      }
      return out;
    },
    verifyPacked(packed: Uint8Array, count: number): Promise<Uint8Array> {
      if (!(packed instanceof Uint8Array)) return Promise.reject(new TypeError('packed must be a Uint8Array'));
      return runPacked(packed, count);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await piscina.destroy();
    },
  };
}
