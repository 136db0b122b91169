// The embeddable ledger: the façade over its parts. Data flows one way:
//   admission (admission.ts) → sequencer (sequencer.ts: a total order cut into blocks)
//   → block builder (block-builder.ts: apply.ts, seal, header, one synced WriteBatch)
//   → results released, 'block' event.
// Restart is checkpoint.ts (restore, then replay through apply.ts); queries are reader.ts.
// See docs/api.md and docs/architecture.md.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { RECORD_BYTES, bytesField, concatRecords } from '../codec/record.js';
import { ResultCode, resultName } from '../codec/results.js';
import { SIGNATURE_ENTRY_BYTES, txHashes } from '../codec/block.js';
import { ENTRY_BYTES, type KeyEntry } from '../codec/entries.js';
import { toHex } from '../crypto/bytes.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type Signer, signerFromKeyPair } from '../crypto/signer.js';
import {
  META_FINAL, META_POSITION, P_CERTIFICATE, P_EVIDENCE, RocksDb, WriteBatch, heightKey,
} from '../store/store.js';
import { Admission } from './admission.js';
import { BlockBuilder, type BlockEvent } from './block-builder.js';
import { Checkpoints, recover } from './checkpoint.js';
import { type ChainConfig, readChainConfig, readNodeKey } from './config.js';
import { AccountHistory } from './history.js';
import { LedgerReader } from './reader.js';
import { alertsView, clearingHttp, cycleView, queueView } from '../apps/clearing/query.js';
import { SealWorker } from './seal.js';
import { type AppendResult, BATCH_RECORDS_MAX, type BlockSink, LocalSequencer, type Sequencer } from './sequencer.js';
import { LedgerState } from './state.js';
import { type RecordVerifier, sm2RecordVerifier } from './verify.js';

export { BATCH_RECORDS_MAX, BLOCK_MS_DEFAULT, BLOCK_RECORDS_DEFAULT, BLOCK_RECORDS_MAX } from './sequencer.js';
export type { AppendResult, Sequencer } from './sequencer.js';
export { CHECKPOINT_BLOCKS_DEFAULT, CHECKPOINT_BLOCKS_MAX } from './checkpoint.js';
export { ACCOUNT_PAGE_MAX } from './reader.js';
export type { AccountTransfer, AccountView, BlockView, TransactionView, TransferView } from './reader.js';
export type { BlockEvent } from './block-builder.js';
export type { ChainConfig } from './config.js';

/**
 * Records admitted but not yet durable, across all submits, before new submits are turned
 * away with `ledger_unavailable`: memory stays bounded when the disk falls behind.
 */
export const IN_FLIGHT_RECORDS_DEFAULT = 16 * BATCH_RECORDS_MAX;

export interface LedgerOptions {
  dir: string;
  /** Node SM2 private key; default: read from <dir>/keys/node.key. */
  nodePrivateKey?: Uint8Array;
  /** Signature checker (default: SM2 through the best backend). */
  verifier?: RecordVerifier;
  blockMaxRecords?: number;
  blockMaxMs?: number;
  /** Block clock in ms (default Date.now); block time never goes backwards. */
  clock?: () => number;
  /** fsync each block (default true; false only for benchmarks that say so). */
  sync?: boolean;
  /** Write the state entries every this many blocks (default 32; 1 = every block). */
  checkpointBlocks?: number;
  /** Most records in flight (submitted, not yet durable); default IN_FLIGHT_RECORDS_DEFAULT. */
  inFlightMaxRecords?: number;
  /** Keep a store index from tx hash to location (default false; costs about a fifth of durable apply). */
  txHashIndex?: boolean;
  /** Open a chain that has no genesis block yet (initChain only). */
  genesis?: boolean;
  /**
   * Builds the sequencer instead of LocalSequencer (a replicated one: src/consortium), from
   * the chain's tip, the block sink, blockMaxRecords/blockMaxMs, and admission over the
   * state as applied (a replicated sequencer re-admits what other nodes appended).
   * Started by open, closed by close.
   */
  sequencer?: (
    tip: { height: number; timeMs: number; position?: number }, sink: BlockSink,
    options: {
      blockMaxRecords?: number; blockMaxMs?: number; admission: Admission; state: LedgerState;
      config: ChainConfig; node: Signer;
    },
  ) => LedgerSequencer;
  /**
   * When a block is final: 'durable' (default; one node is its own quorum) or 'certified'
   * (a consortium: once certify() stores a quorum certificate for it or a later block).
   */
  finality?: 'durable' | 'certified';
}

/** What the ledger needs of its sequencer: LocalSequencer's surface; start, close and cutAndWait if async. */
export interface LedgerSequencer extends Sequencer {
  readonly failed: Error | undefined;
  readonly openRecords: number;
  readonly blockMaxRecords: number;
  /** Cuts the open block and resolves once it is cut (a sequencer whose cut() only asks for one). */
  cutAndWait?(): Promise<void>;
  start?(): Promise<void>;
  close?(): Promise<void>;
}

export interface SubmitResult {
  code: number;
  name: string;
  /** Block height and index when the record is on the chain (code 0 or ≥ 32). */
  height?: number;
  index?: number;
}

interface Parts {
  db: RocksDb; state: LedgerState; seal: SealWorker; admission: Admission;
  builder: BlockBuilder; sequencer: LedgerSequencer; reader: LedgerReader; checkpoints: Checkpoints;
}

/** The stored sequencer position, if it belongs to the tip (written with the tip's block). */
async function readPosition(db: RocksDb, tipHeight: number | undefined): Promise<number | undefined> {
  const raw = await db.get(META_POSITION);
  if (!raw || tipHeight === undefined) return undefined;
  const b = Buffer.from(raw);
  return Number(b.readBigUInt64LE(0)) === tipHeight ? Number(b.readBigUInt64LE(8)) : undefined;
}

export class Ledger extends EventEmitter {
  readonly dir: string;
  readonly config: ChainConfig;
  /** The read port: accounts, transfers, blocks, history, proofs. */
  readonly reader: LedgerReader;
  readonly #node: Signer;
  readonly #p: Parts;
  readonly #sync: boolean;
  readonly #inFlightMax: number;
  #inFlight = 0;
  readonly #certified: boolean;
  #finalHeight: number;
  #finalWaiters: { height: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  #halted: Error | undefined;
  #closing = false;
  #closed = false;
  // Durable reads in progress: appends arriving meanwhile wait here, in arrival order.
  #holders = 0;
  #deferred: {
    batch: Uint8Array; count: number; hashes?: Uint8Array[];
    resolve: (v: AppendResult) => void; reject: (e: Error) => void;
  }[] = [];

  private constructor(dir: string, config: ChainConfig, node: Signer, parts: Parts, options: LedgerOptions) {
    super();
    this.dir = dir;
    this.config = config;
    this.#node = node;
    this.#p = parts;
    this.reader = parts.reader;
    this.#sync = options.sync ?? true;
    this.#inFlightMax = options.inFlightMaxRecords ?? IN_FLIGHT_RECORDS_DEFAULT;
    this.#certified = options.finality === 'certified';
    if (options.finality !== undefined && options.finality !== 'durable' && !this.#certified) {
      throw new RangeError(`finality must be 'durable' or 'certified', got ${String(options.finality)}`);
    }
    // A certified chain's genesis is its trust anchor (the consortium's founding keys).
    this.#finalHeight = this.#certified ? Math.min(0, parts.builder.durableHeight) : parts.builder.durableHeight;
    if (!Number.isSafeInteger(this.#inFlightMax) || this.#inFlightMax < 1) {
      throw new RangeError('inFlightMaxRecords must be a positive integer');
    }
  }

  /** Opens the chain in `dir` (created by `gmledger init`) and resumes from its last durable block. */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const dir = options.dir;
    const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false });
    let seal: SealWorker | undefined;
    let started: Promise<void> | undefined;
    let ledger: Ledger | undefined;
    try {
      const config = await readChainConfig(db, dir);
      const priv = options.nodePrivateKey ?? await readNodeKey(dir);
      const node = signerFromKeyPair({ privateKey: priv, publicKey: sm2Backend.getPublicKey(priv) });
      if (toHex(node.keyId) !== config.nodeKeyId) throw new Error('node private key does not match the chain config');
      const state = new LedgerState({ alg: config.alg, validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
      seal = new SealWorker(state.tree, ENTRY_BYTES);
      // The seal worker loads while the state is restored (restore and replay seal nothing).
      started = seal.start();
      started.catch(() => undefined);
      const checkpoints = new Checkpoints(state, options.checkpointBlocks);
      const tip = await recover(db, state, config.alg, checkpoints, options.sync ?? true);
      if (!tip && options.genesis !== true) {
        throw new Error(`${dir} has no genesis block (an interrupted gmledger init?): recreate it`);
      }
      if (tip && options.genesis === true) throw new Error(`${dir} already has a genesis block`);
      await started;
      const finalRaw = await db.get(META_FINAL);
      const position = await readPosition(db, tip?.height);
      ledger = Ledger.#assemble(dir, config, node, options, { db, state, seal, checkpoints }, tip, position);
      if (finalRaw && options.finality === 'certified') {
        const certified = Number(Buffer.from(finalRaw).readBigUInt64LE(0));
        ledger.#finalHeight = Math.min(certified, ledger.#p.builder.durableHeight);
      }
      await ledger.#p.sequencer.start?.();
      return ledger;
    } catch (err) {
      if (ledger) await ledger.#p.sequencer.close?.().catch(() => undefined);
      // A worker still loading is waited for, so that close() stops it for good.
      await started?.catch(() => undefined);
      await seal?.close();
      await db.close();
      throw err;
    }
  }

  static #assemble(dir: string, config: ChainConfig, node: Signer, options: LedgerOptions,
    p: Pick<Parts, 'db' | 'state' | 'seal' | 'checkpoints'>, tip: Awaited<ReturnType<typeof recover>>,
    position?: number): Ledger {
    const start = tip ?? { height: -1, timeMs: 0, hash: new Uint8Array(DIGEST_BYTES) };
    const txHashIndex = options.txHashIndex ?? false;
    // The builder's and the reader's callbacks reach `ledger`, made last: they only run once it exists.
    const builder = new BlockBuilder({
      state: p.state, db: p.db, chainId: config.chainId, alg: config.alg, node, seal: p.seal,
      checkpoints: p.checkpoints, tip: start, sync: options.sync ?? true, txHashIndex,
      onDurable: (e) => ledger.#publish(e),
    });
    const sizes = { blockMaxRecords: options.blockMaxRecords, blockMaxMs: options.blockMaxMs };
    const verifier = options.verifier ?? sm2RecordVerifier();
    const admission = new Admission(config.chainId, config.alg, (b, o) => p.state.keyById(b, o), verifier);
    const sequencer = options.sequencer?.({ height: start.height, timeMs: start.timeMs, position }, builder, {
      ...sizes, admission, state: p.state, config, node,
    }) ??
      new LocalSequencer({ height: start.height, timeMs: start.timeMs, sink: builder, ...sizes, clock: options.clock });
    const history = new AccountHistory(p.state);
    const reader = new LedgerReader({
      state: p.state, db: p.db, alg: config.alg, txHashIndex, history,
      durableHeight: () => builder.durableHeight, settled: () => builder.flush(),
      durableRead: (read) => ledger.durableRead(read), lastHeader: () => builder.lastHeader,
    });
    const ledger: Ledger = new Ledger(dir, config, node, { ...p, admission, builder, sequencer, reader }, options);
    return ledger;
  }

  /**
   * The 'block' event, to each listener in turn. The block is durable and its results are
   * out: a listener that throws must not reach the write path (it would stop the ledger)
   * nor the other listeners. Its error goes to the 'error' listeners, or else is printed
   * as a process warning.
   */
  #publish(event: BlockEvent): void {
    if (!this.#certified) this.#final(event.height);
    for (const listener of this.listeners('block')) {
      try {
        (listener as (e: BlockEvent) => void).call(this, event);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.#reportListenerError(e);
      }
    }
  }

  /** To the 'error' listeners, or a process warning; never back into the write path. */
  #reportListenerError(e: Error): void {
    try {
      if (this.listenerCount('error') > 0) {
        this.emit('error', e);
        return;
      }
    } catch (err) {
      e = err instanceof Error ? err : new Error(String(err)); // an 'error' listener threw too
    }
    process.emitWarning(`a 'block' listener threw: ${e.stack ?? e.message}`, 'GmledgerListenerWarning');
  }

  get #failed(): Error | undefined {
    return this.#halted ?? this.#p.builder.failed ?? this.#p.sequencer.failed;
  }

  /** The last block synced to disk (−1: none). */
  get durableHeight(): number {
    return this.#p.builder.durableHeight;
  }

  /** The highest final block: durable here, and in a consortium certified by a quorum (−1: none). */
  get finalHeight(): number {
    return this.#finalHeight;
  }

  /** Why the ledger stopped (halt(), a failed write or a failed sequencer), or undefined. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /**
   * Stores the quorum certificate of durable block `height` (checked by the caller against
   * the consortium's keys) and makes it and every block before it final. Resolves once the
   * certificate is synced.
   */
  async certify(height: number, certificate: Uint8Array): Promise<void> {
    if (!this.#certified) throw new Error('certify: this ledger is not opened with finality "certified"');
    if (!Number.isSafeInteger(height) || height < 1 || height > this.#p.builder.durableHeight) {
      throw new RangeError(`certify: height ${height} is not a durable block (1..${this.#p.builder.durableHeight})`);
    }
    const entries = certificate instanceof Uint8Array ? certificate.length / SIGNATURE_ENTRY_BYTES : 0;
    if (!Number.isInteger(entries) || entries === 0) {
      throw new RangeError('certify: a certificate is one or more 96-byte signature entries');
    }
    if (this.#halted) throw this.#halted;
    const wb = new WriteBatch();
    wb.put(heightKey(P_CERTIFICATE, height), certificate.slice());
    if (height > this.#finalHeight) {
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(BigInt(height));
      wb.put(META_FINAL, v);
    }
    await this.#p.db.write(wb, this.#sync);
    if (!this.#halted) this.#final(height);
  }

  /** Keeps a record of misbehaviour seen here (consortium evidence), under `key`; synced. */
  async recordEvidence(key: string, evidence: Record<string, unknown>): Promise<void> {
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) {
      throw new RangeError('recordEvidence: key must be a string of 1..200 characters');
    }
    const wb = new WriteBatch();
    wb.put(Uint8Array.from([P_EVIDENCE, ...Buffer.from(key, 'utf8')]), Buffer.from(JSON.stringify(evidence), 'utf8'));
    await this.#p.db.write(wb, this.#sync);
  }

  /** The evidence records kept here, oldest key first (at most `limit`). */
  async evidence(limit = 1000): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const range = this.#p.db.range({ gte: Uint8Array.of(P_EVIDENCE), lt: Uint8Array.of(P_EVIDENCE + 1) });
    for await (const [, v] of range) {
      out.push(JSON.parse(Buffer.from(v).toString('utf8')) as Record<string, unknown>);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Stops the ledger for good: nothing more is applied, acknowledged or made final (a
   * consortium node whose header differs from the quorum's). Reads still work.
   */
  halt(reason: Error): void {
    if (this.#halted) return;
    this.#halted = reason;
    for (const w of this.#finalWaiters) w.reject(reason);
    this.#finalWaiters = [];
    void this.#p.sequencer.close?.().catch(() => undefined);
    this.emit('halt', reason);
  }

  #final(height: number): void {
    if (height <= this.#finalHeight) return;
    this.#finalHeight = height;
    if (this.#finalWaiters.length > 0) {
      const still = [];
      for (const w of this.#finalWaiters) if (w.height <= height) w.resolve(); else still.push(w);
      this.#finalWaiters = still;
    }
    this.emit('final', height);
  }

  /** Resolves once block `height` is final; rejects if the ledger halts or closes first. */
  waitFinal(height: number): Promise<void> {
    if (height <= this.#finalHeight) return Promise.resolve();
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('ledger is closed'));
    return new Promise((resolve, reject) => this.#finalWaiters.push({ height, resolve, reject }));
  }

  /** The last block cut (applied; durable once flush() resolves). −1 before genesis. */
  get height(): number {
    return this.#p.sequencer.height;
  }

  get nodePublicKey(): Uint8Array {
    return this.#node.publicKey;
  }

  /** The state machine itself — for tests and tools that inspect it; read only. Queries go through `reader`. */
  get state(): LedgerState {
    return this.#p.state;
  }

  info(): {
    chainId: number; height: number; accounts: number; transfers: number; keys: number; verifier: string; sm2: string;
  } {
    const s = this.#p.state;
    return {
      chainId: this.config.chainId, height: this.height, accounts: s.accounts.count, transfers: s.transfers.count,
      keys: s.keys.length, verifier: this.#p.admission.verifier.name, sm2: sm2Backend.name,
    };
  }

  /** A registered key by its 32-byte id (as applied), or undefined. */
  key(keyId: Uint8Array): KeyEntry | undefined {
    bytesField(keyId, 32, 'keyId');
    return this.#p.state.keyById(keyId, 0);
  }

  /** Every registered key, in registration order (as applied). */
  keys(): readonly KeyEntry[] {
    return this.#p.state.keys;
  }

  // -------------------------------------------------------------------------------------
  // Submit.

  /**
   * Validates, verifies, orders and applies `records`; resolves with one result per record
   * once the block holding them is durable. Records refused at admission (codes < 32)
   * never enter a block.
   */
  async submit(records: Uint8Array[] | Uint8Array, options?: { final?: boolean }): Promise<SubmitResult[]> {
    if (!Array.isArray(records) && !(records instanceof Uint8Array)) {
      throw new TypeError('records must be an Array of 256-byte records or one Uint8Array of whole records');
    }
    const batch = Array.isArray(records) ? concatRecords(records) : records;
    const n = batch.length / RECORD_BYTES;
    if (!Number.isInteger(n)) throw new RangeError(`batch length ${batch.length} is not a multiple of ${RECORD_BYTES}`);
    if (n === 0) return [];
    const r = await this.submitBatch(batch, { final: options?.final === true });
    const out: SubmitResult[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = { code: r.codes[i], name: resultName(r.codes[i]) };
      if (r.index[i] >= 0) { out[i].height = r.height; out[i].index = r.index[i]; }
    }
    return out;
  }

  /**
   * submit() without per-record objects: codes, and each record's block index (−1: not on
   * chain). `trusted`: the batch is one or more vouch groups (docs/protocol.md §8) — one
   * gateway signature per group instead of one per record.
   */
  async submitBatch(
    batch: Uint8Array, options?: { trusted?: boolean; final?: boolean },
  ): Promise<{ codes: Uint16Array; height: number; index: Int32Array }> {
    if (this.#failed) throw this.#failed;
    if (this.#closing) throw new Error('ledger is closed');
    const whole = `a batch is a Uint8Array of whole ${RECORD_BYTES}-byte records`;
    if (!(batch instanceof Uint8Array)) throw new TypeError(whole);
    if (batch.length % RECORD_BYTES !== 0) throw new RangeError(whole);
    const n = batch.length / RECORD_BYTES;
    const codes = new Uint16Array(n);
    const index = new Int32Array(n).fill(-1);
    if (n > BATCH_RECORDS_MAX || n > this.#p.sequencer.blockMaxRecords) {
      codes.fill(ResultCode.batch_too_large);
      return { codes, height: -1, index };
    }
    if (this.#inFlight + n > this.#inFlightMax) {
      codes.fill(ResultCode.ledger_unavailable);
      return { codes, height: -1, index };
    }
    this.#inFlight += n;
    let r: { codes: Uint16Array; height: number; index: Int32Array };
    try {
      r = await this.#submitAdmitted(batch.slice(), n, codes, index, options?.trusted === true);
    } finally {
      this.#inFlight -= n;
    }
    // Waiting for finality holds no in-flight budget: the block is durable already.
    if (options?.final === true && r.height >= 0) await this.waitFinal(r.height);
    return r;
  }

  /** `batch` is the ledger's own copy: the bytes checked and verified are the bytes appended. */
  async #submitAdmitted(batch: Uint8Array, n: number, codes: Uint16Array, index: Int32Array, trusted: boolean):
  Promise<{ codes: Uint16Array; height: number; index: Int32Array }> {
    const hashes = trusted ? txHashes(batch, n, this.config.alg) : undefined;
    const admitted = hashes
      ? await this.#p.admission.admitTrusted(batch, n, codes, hashes)
      : await this.#p.admission.admit(batch, n, codes);
    if (admitted.length === 0) return { codes, height: -1, index };
    let sub = batch;
    let subHashes = hashes;
    if (admitted.length < n) {
      sub = new Uint8Array(admitted.length * RECORD_BYTES);
      for (let k = 0; k < admitted.length; k++) {
        sub.set(batch.subarray(admitted[k] * RECORD_BYTES, (admitted[k] + 1) * RECORD_BYTES), k * RECORD_BYTES);
      }
      subHashes = hashes && admitted.map((k) => hashes[k]);
    }
    const applied = await this.#append(sub, admitted.length, subHashes);
    for (let k = 0; k < admitted.length; k++) {
      codes[admitted[k]] = applied.codes[k];
      index[admitted[k]] = applied.first + k;
    }
    return { codes, height: applied.height, index };
  }

  /** Admission alone (no append): the codes it writes and the indexes of the admitted records. */
  admit(batch: Uint8Array, n: number, codes: Uint16Array): Promise<number[]> {
    return this.#p.admission.admit(batch, n, codes);
  }

  /** Trusted-batch admission alone (docs/protocol.md §8). */
  admitTrusted(batch: Uint8Array, n: number, codes: Uint16Array, hashes?: Uint8Array[]): Promise<number[]> {
    return this.#p.admission.admitTrusted(batch, n, codes, hashes);
  }

  /**
   * The sequencer seam: orders `count` ADMITTED records (signatures are not checked here;
   * every linked chain must close inside the batch). The bytes are copied. Resolves once
   * the block holding them is durable.
   */
  append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    if (!(batch instanceof Uint8Array)) return Promise.reject(new TypeError('append: batch must be a Uint8Array'));
    return this.#append(batch.slice(0, Math.max(0, count) * RECORD_BYTES), count, hashes);
  }

  #append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new Error('ledger is closed'));
    // Behind a durable read (or behind appends still waiting for one): queue, in order.
    if (this.#holders > 0 || this.#deferred.length > 0) {
      return new Promise((resolve, reject) => this.#deferred.push({ batch, count, hashes, resolve, reject }));
    }
    return this.#p.sequencer.append(batch, count, hashes);
  }

  /** Cuts the open block (if any) and waits until every block is durable. */
  async flush(): Promise<void> {
    const seq = this.#p.sequencer;
    if (seq.cutAndWait) await seq.cutAndWait();
    else seq.cut();
    await this.#p.builder.flush();
    if (this.#failed) throw this.#failed;
  }

  /**
   * Runs `read` (synchronous) at a moment when everything applied is durable and nothing
   * newer is. Appends arriving meanwhile wait (about one block's seal and sync), then go on
   * in order. Concurrent durable reads share one such moment.
   */
  async durableRead<T>(read: () => T): Promise<T> {
    if (this.#failed) throw this.#failed;
    this.#holders++;
    try {
      for (;;) {
        await this.flush();
        if (this.#p.sequencer.openRecords === 0 && this.#p.builder.durableHeight === this.#p.sequencer.height) {
          const out = read();
          if (out !== null && typeof (out as { then?: unknown })?.then === 'function') {
            throw new TypeError('durableRead takes a synchronous read function');
          }
          return out;
        }
      }
    } finally {
      if (--this.#holders === 0) {
        for (const d of this.#deferred.splice(0)) {
          this.#p.sequencer.append(d.batch, d.count, d.hashes).then(d.resolve, d.reject);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    try {
      await this.flush();
      const { checkpoints, db } = this.#p;
      if (this.height > checkpoints.height) {
        const wb = new WriteBatch();
        checkpoints.writeInto(wb, this.height);
        await db.write(wb, this.#sync);
      }
    } finally {
      this.#closed = true;
      const err = new Error('ledger is closed');
      for (const w of this.#finalWaiters) w.reject(err);
      this.#finalWaiters = [];
      await this.#p.sequencer.close?.();
      await this.#p.seal.close();
      await this.#p.db.close();
    }
  }

  // Queries: the read port's, for the embedding API (docs/api.md).
  getAccount(id: bigint) { return this.reader.getAccount(id); }
  getAccountDurable(id: bigint) { return this.reader.getAccountDurable(id); }
  getTransfer(id: bigint) { return this.reader.getTransfer(id); }
  getBlock(height: number) { return this.reader.getBlock(height); }
  getTransaction(key: Uint8Array | bigint) { return this.reader.getTransaction(key); }
  // Clearing (docs/clearing.md): JSON-ready views, as served over HTTP.
  /** A clearing cycle's status, members and (once closed) report; undefined if there is none. */
  getCycle(id: bigint) { const c = this.#p.state.clearing.cycle(id); return c && cycleView(this.#p.state, c); }
  /** The regulator's rules in force, by rule number. */
  getRules() { return clearingHttp(this.#p.state, ['rules'], () => undefined); }
  /** The transfers waiting in an account's RTGS queue, in settling order; undefined if no such account. */
  getQueue(accountId: bigint) { return queueView(this.#p.state, accountId); }
  /** Rule alerts from sequence `fromSeq` on (oldest first, at most 1,000). */
  getAlerts(fromSeq = 0, limit = 1000) { return alertsView(this.#p.state, fromSeq, limit); }
  accountTransfers(id: bigint, options?: Parameters<LedgerReader['accountTransfers']>[1]) {
    return this.reader.accountTransfers(id, options);
  }
  proveTransaction(where: Parameters<LedgerReader['proveTransaction']>[0]) {
    return this.reader.proveTransaction(where);
  }
  anchorReceipt(anchorId: bigint) { return this.reader.anchorReceipt(anchorId); }
  proveAccount(id: bigint) { return this.reader.proveAccount(id); }
  pendingTransfers() { return this.reader.pendingTransfers(); }
}
