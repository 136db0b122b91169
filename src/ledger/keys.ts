// Resolving a record's signer key as admission does: a key registered before the batch, or
// one registered by this record or an earlier one of the same batch. Shared by admission
// (Ledger.admit) and the offline replay (gmledger verify).

import { KEY_ID_BYTES, Kind, OFF_KIND, OFF_SIGNER, RECORD_BYTES, RK_PUBLIC_KEY } from '../codec/record.js';
import { toHex } from '../crypto/bytes.js';
import { hashBatch } from '../crypto/hash.js';
import type { LedgerState } from './state.js';

/**
 * Public keys of the register_key records of a batch (or block), made visible in order: a
 * record may be signed by a key that it, or an earlier record of the same batch, registers
 * (the genesis admin registers itself). All key ids are hashed in one batch call.
 */
export class InBatchKeys {
  readonly #regs: number[] = [];
  readonly #pks: Uint8Array[] = [];
  #ids: string[] = [];
  readonly #idAt = new Map<number, string>();
  readonly #visible = new Map<string, Uint8Array>();
  #next = 0;

  /** `eligible(i)`: whether record i's registration counts at all (admission: its structure is sound). */
  constructor(batch: Uint8Array, count: number, eligible: (i: number) => boolean = () => true) {
    for (let i = 0; i < count; i++) {
      if (batch[i * RECORD_BYTES + OFF_KIND] !== Kind.register_key || !eligible(i)) continue;
      this.#regs.push(i);
      this.#pks.push(batch.subarray(i * RECORD_BYTES + RK_PUBLIC_KEY, i * RECORD_BYTES + RK_PUBLIC_KEY + 65));
    }
    // A key id is SM3(public key) whatever the chain's hash algorithm (protocol.md §1).
    if (this.#pks.length > 0) this.#ids = hashBatch(this.#pks, 'sm3').map(toHex);
    for (let k = 0; k < this.#regs.length; k++) this.#idAt.set(this.#regs[k], this.#ids[k]);
  }

  /** Whether the batch registers any key at all (if not, no lookup needs a hex id). */
  get any(): boolean {
    return this.#ids.length > 0;
  }

  /** The key id (hex) that record i registers, if it is an eligible register_key. */
  idAt(i: number): string | undefined {
    return this.#idAt.get(i);
  }

  /** Makes the keys registered by records [0, i] visible. Call with increasing i. */
  advanceTo(i: number): void {
    while (this.#next < this.#regs.length && this.#regs[this.#next] <= i) {
      const id = this.#ids[this.#next];
      if (!this.#visible.has(id)) this.#visible.set(id, this.#pks[this.#next]);
      this.#next++;
    }
  }

  /** Public key of the visible key whose 32-byte id is at `keyId[off..off+32)`. */
  get(keyId: Uint8Array, off = 0): Uint8Array | undefined {
    if (this.#ids.length === 0) return undefined;
    return this.#visible.get(toHex(keyId.subarray(off, off + KEY_ID_BYTES)));
  }

  /** Public key of the visible key with hex id `id`. */
  getById(id: string): Uint8Array | undefined {
    return this.#visible.get(id);
  }
}

/**
 * The public key that signed the record at `o`: registered in `state`, else visible in
 * `inBatch` (call inBatch.advanceTo(record index) first).
 */
export function signerKey(
  state: LedgerState, inBatch: InBatchKeys, batch: Uint8Array, o: number,
): Uint8Array | undefined {
  return state.keyById(batch, o + OFF_SIGNER)?.publicKey ?? inBatch.get(batch, o + OFF_SIGNER);
}
