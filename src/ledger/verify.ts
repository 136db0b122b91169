// Signature checking for whole batches of records: one call per batch, one ok flag per
// record out. The ledger resolves signer key ids to public keys first (an array lookup),
// so a verifier never touches ledger state. Swap in a worker-pool verifier via
// Ledger.open({ verifier }) without touching the state machine.

import { MESSAGE_BYTES, OFF_HINT, OFF_SIGNATURE, RECORD_BYTES } from '../codec/record.js';
import { sm2Backend, type Sm2Backend, type VerifyItem } from '../crypto/sm2-backend.js';
import { keyOrder } from '../pool/key-order.js';

export interface RecordVerifier {
  /** Which implementation this is (reported by Ledger.info()). */
  readonly name: string;
  /**
   * Verifies records [0, count) of `batch` against `publicKeys[i]` (null: unknown key,
   * result 0). Returns one byte per record: 1 = signature valid.
   */
  verifyRecords(batch: Uint8Array, count: number, publicKeys: (Uint8Array | null)[]): Promise<Uint8Array>;
}

/** Items for an SM2 batch call: M = record bytes before the signature, sig r‖s(‖hint). */
function verifyItems(
  batch: Uint8Array, count: number, publicKeys: (Uint8Array | null)[],
): { items: VerifyItem[]; at: number[] } {
  const items: VerifyItem[] = [];
  const at: number[] = [];
  for (let i = 0; i < count; i++) {
    const pk = publicKeys[i];
    if (pk === null) continue;
    const o = i * RECORD_BYTES;
    const hint = batch[o + OFF_HINT];
    items.push({
      msg: batch.subarray(o, o + MESSAGE_BYTES),
      signature: batch.subarray(o + OFF_SIGNATURE, o + OFF_SIGNATURE + (hint === 0xff ? 64 : 65)),
      publicKey: pk,
    });
    at.push(i);
  }
  return { items, at };
}

/**
 * A RecordVerifier over any batch SM2 call: items built once, one call, flags scattered
 * back to record positions (unknown keys stay 0).
 */
function batchRecordVerifier(
  name: string, verifyBatch: (items: VerifyItem[]) => boolean[] | Promise<boolean[]>, group: boolean,
): RecordVerifier {
  return {
    name,
    async verifyRecords(batch, count, publicKeys) {
      const out = new Uint8Array(count);
      const { items, at } = verifyItems(batch, count, publicKeys);
      // Grouped by signer key (src/pool/key-order.ts): the batch equation's per-key work is
      // then paid once per key per 512-item chunk, not in every chunk the key appears in.
      // (createVerifyPool groups its batches itself: poolRecordVerifier leaves it to the pool.)
      const order = group ? keyOrder(items) : undefined;
      const ok = items.length === 0 ? [] : await verifyBatch(order ? Array.from(order, (k) => items[k]) : items);
      for (let k = 0; k < at.length; k++) out[at[order ? order[k] : k]] = ok[k] ? 1 : 0;
      return out;
    },
  };
}

/** The default: SM2 (GB/T 32918) with the default ID, on this thread, in WASM. */
export function sm2RecordVerifier(backend: Sm2Backend = sm2Backend): RecordVerifier {
  return batchRecordVerifier(`sm2/${backend.name}`, (items) => backend.verifyBatch(items), true);
}

/** Anything with the SM2 pool's batch call (src/pool: createVerifyPool). */
export interface BatchVerifyPool {
  readonly threads: number;
  verifyBatch(items: VerifyItem[]): Promise<boolean[]>;
}

/**
 * SM2 on all cores: the batch is split across the pool's worker threads. The pool is the
 * caller's (close it yourself); one pool can serve several ledgers.
 */
export function poolRecordVerifier(pool: BatchVerifyPool): RecordVerifier {
  return batchRecordVerifier(`sm2/pool×${pool.threads}`, (items) => pool.verifyBatch(items), false);
}
