// An in-memory NodeBackend for testing and measuring the network layer on its own. It is
// NOT the ledger: no state machine beyond id uniqueness, no persistence. It does what the
// network layer must be able to rely on — structural checks, signer lookup, optional SM2
// verification, one block per submit committed strictly in order after a simulated sync —
// so server tests exercise every path without depending on the ledger core.

import {
  Kind, OFF_ID, OFF_KIND, OFF_SIGNER, RECORD_BYTES, CA_CONTROLLER, RK_PUBLIC_KEY, RK_ROLES,
  RK_LEDGER, MESSAGE_BYTES, OFF_SIGNATURE, OFF_HINT, u128, u32,
} from '../codec/record.js';
import { ResultCode } from '../codec/results.js';
import { checkBatchStructure } from '../codec/validate.js';
import { sm3 } from '../crypto/hash.js';
import { toHex } from '../crypto/bytes.js';
import type { BlockEvent, Json, KeyInfo, NodeBackend, SubmitOutcome } from './backend.js';

export interface MemoryBackendOptions {
  chainId: number;
  /** Registered keys at genesis. */
  keys: { publicKey: Uint8Array; roles: number; ledger?: number }[];
  /** Verify SM2 signatures (slow with the reference backend); false accepts any non-zero signature. */
  verifySignatures?: boolean;
  /** Simulated sync time per block, ms. */
  syncMs?: number;
  /** Signature verifier (default: the ledger's SM2 backend, loaded lazily). */
  verifyBatch?: (items: { msg: Uint8Array; signature: Uint8Array; publicKey: Uint8Array }[]) => boolean[];
}

export class MemoryBackend implements NodeBackend {
  readonly chainId: number;
  readonly supportsTrusted = true;
  readonly #keys = new Map<string, KeyInfo>();
  readonly #ids = new Set<string>();
  readonly #controllers = new Map<bigint, Uint8Array>();
  readonly #tx = new Map<bigint, { height: number; index: number; code: number }>();
  readonly #blocks: { height: number; timeMs: number; hash: Uint8Array; count: number }[] = [];
  readonly #listeners = new Set<(b: BlockEvent) => void>();
  readonly #options: MemoryBackendOptions;
  #tail: Promise<unknown> = Promise.resolve();
  #prevHash: Uint8Array = new Uint8Array(32);
  #closed = false;

  constructor(options: MemoryBackendOptions) {
    this.chainId = options.chainId;
    this.#options = options;
    for (const k of options.keys) {
      this.#keys.set(toHex(sm3(k.publicKey)), { publicKey: k.publicKey, roles: k.roles, ledger: k.ledger ?? 0 });
    }
  }

  get height(): number {
    return this.#blocks.length;
  }

  key(keyId: Uint8Array): KeyInfo | undefined {
    return this.#keys.get(toHex(keyId));
  }

  accountController(id: bigint): Uint8Array | undefined {
    return this.#controllers.get(id);
  }

  onBlock(listener: (b: BlockEvent) => void, _wantRecords?: () => boolean): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  submit(batch: Uint8Array, count: number, options?: { trusted?: boolean }): Promise<SubmitOutcome> {
    if (this.#closed) return Promise.reject(new Error('backend closed'));
    const records = batch.slice(0, count * RECORD_BYTES);
    // Blocks commit strictly in submit order: chain each submit onto the previous one.
    const p = this.#tail.then(() => this.#apply(records, count, options?.trusted === true));
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async #verify(records: Uint8Array, idx: number[], keys: KeyInfo[]): Promise<boolean[]> {
    if (this.#options.verifySignatures === false) return idx.map(() => true);
    const verify = this.#options.verifyBatch ?? (await import('../crypto/sm2-backend.js')).sm2Backend.verifyBatch;
    return verify(idx.map((i, k) => {
      const o = i * RECORD_BYTES;
      const hint = records[o + OFF_HINT];
      return {
        msg: records.subarray(o, o + MESSAGE_BYTES),
        signature: records.subarray(o + OFF_SIGNATURE, o + OFF_SIGNATURE + (hint === 0xff ? 64 : 65)),
        publicKey: keys[k].publicKey,
      };
    }));
  }

  async #apply(records: Uint8Array, count: number, trusted: boolean): Promise<SubmitOutcome> {
    const codes = new Uint16Array(count);
    const heights = new Float64Array(count).fill(-1);
    const indexes = new Uint32Array(count);
    const toVerify: number[] = [];
    const keys: KeyInfo[] = [];
    // Trusted: no structure or vouch checks here — the stand-in only lets the network layer's
    // gateway gating be tested; the ledger checks vouches (src/codec/vouch.ts). Otherwise the
    // whole batch in one WASM call, as the ledger's admission does.
    const structure = trusted ? undefined : checkBatchStructure(records, count, this.chainId);
    for (let i = 0; i < count; i++) {
      const o = i * RECORD_BYTES;
      const s = structure === undefined ? 0 : structure[i];
      if (s !== 0) { codes[i] = s; continue; }
      const key = this.#keys.get(toHex(records.subarray(o + OFF_SIGNER, o + OFF_SIGNER + 32)));
      if (key === undefined) { codes[i] = ResultCode.signer_key_not_found; continue; }
      if (!trusted) { toVerify.push(i); keys.push(key); }
    }
    const ok = await this.#verify(records, toVerify, keys);
    for (let k = 0; k < toVerify.length; k++) if (!ok[k]) codes[toVerify[k]] = ResultCode.bad_signature;

    const height = this.#blocks.length + 1;
    const inBlock: number[] = [];
    for (let i = 0; i < count; i++) {
      if (codes[i] !== 0) continue;
      const o = i * RECORD_BYTES;
      const idHex = toHex(records.subarray(o + OFF_ID, o + OFF_ID + 16)) + records[o + OFF_KIND];
      if (this.#ids.has(idHex)) codes[i] = ResultCode.exists;
      else this.#ids.add(idHex);
      const kind = records[o + OFF_KIND];
      if (codes[i] === 0 && kind === Kind.create_account) {
        this.#controllers.set(u128(records, o + OFF_ID), records.slice(o + CA_CONTROLLER, o + CA_CONTROLLER + 32));
      }
      if (codes[i] === 0 && kind === Kind.register_key) {
        const pk = records.slice(o + RK_PUBLIC_KEY, o + RK_PUBLIC_KEY + 65);
        this.#keys.set(
          toHex(sm3(pk)), { publicKey: pk, roles: records[o + RK_ROLES], ledger: u32(records, o + RK_LEDGER) },
        );
      }
      heights[i] = height;
      indexes[i] = inBlock.length;
      inBlock.push(i);
      this.#tx.set(u128(records, o + OFF_ID), { height, index: indexes[i], code: codes[i] });
    }
    if (inBlock.length === 0) return { codes, heights, indexes };

    const blockRecords = new Uint8Array(inBlock.length * RECORD_BYTES);
    const blockCodes = new Uint16Array(inBlock.length);
    inBlock.forEach((i, k) => {
      blockRecords.set(records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES), k * RECORD_BYTES);
      blockCodes[k] = codes[i];
    });
    const head = new Uint8Array(32 + 32);
    head.set(this.#prevHash, 0);
    head.set(sm3(blockRecords), 32);
    const hash = sm3(head);
    this.#prevHash = hash;
    const timeMs = Date.now();
    if (this.#options.syncMs) await new Promise((r) => setTimeout(r, this.#options.syncMs));
    this.#blocks.push({ height, timeMs, hash, count: inBlock.length });
    const ev: BlockEvent = { height, timeMs, hash, records: blockRecords, count: inBlock.length, codes: blockCodes };
    for (const l of this.#listeners) l(ev);
    return { codes, heights, indexes };
  }

  status(): Json {
    return { chainId: this.chainId, height: this.#blocks.length, backend: 'memory' };
  }

  transaction(id: bigint): Json | undefined {
    const t = this.#tx.get(id);
    return t === undefined ? undefined : { id: id.toString(), ...t };
  }

  block(height: number): Json | undefined {
    const b = this.#blocks[height - 1];
    return b === undefined ? undefined : { height: b.height, timeMs: b.timeMs, hash: toHex(b.hash), count: b.count };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }
}
