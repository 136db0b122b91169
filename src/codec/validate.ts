// Batch structural validation in WASM (assembly/tx.ts): one call checks every record of a
// batch and returns one STRUCT_* code per record (same rules as checkStructure).

import { ARENA_BASE, core, mem, reserve } from '../crypto/wasm.js';
import { RECORD_BYTES } from './record.js';

/** Most records one call checks (bounds the arena it takes: 2 MiB + 8 KiB). */
export const CHECK_BATCH_MAX = 8192;

export function checkBatchStructure(batch: Uint8Array, count: number, chainId: number): Uint8Array {
  if (!(batch instanceof Uint8Array) || batch.length < count * RECORD_BYTES) {
    throw new RangeError(`batch must hold ${count} records of ${RECORD_BYTES} bytes`);
  }
  if (!Number.isInteger(chainId) || chainId < 0 || chainId > 0xffffffff) throw new RangeError('chainId must be a u32');
  const out = new Uint8Array(count);
  for (let from = 0; from < count; from += CHECK_BATCH_MAX) {
    const n = Math.min(CHECK_BATCH_MAX, count - from);
    reserve(n * RECORD_BYTES + n);
    const m = mem();
    m.set(batch.subarray(from * RECORD_BYTES, (from + n) * RECORD_BYTES), ARENA_BASE);
    const codes = ARENA_BASE + n * RECORD_BYTES;
    core.txCheckBatch(ARENA_BASE, n, chainId >>> 0, codes);
    out.set(m.subarray(codes, codes + n), from);
  }
  return out;
}
