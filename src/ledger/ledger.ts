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
import { txHashes } from '../codec/block.js';
import { ENTRY_BYTES, type KeyEntry } from '../codec/entries.js';
import { toHex } from '../crypto/bytes.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type Signer, signerFromKeyPair } from '../crypto/signer.js';
import { RocksDb, WriteBatch } from '../store/store.js';
import { Admission } from './admission.js';
import { BlockBuilder, type BlockEvent } from './block-builder.js';
import { Checkpoints, recover } from './checkpoint.js';
import { type ChainConfig, readChainConfig, readNodeKey } from './config.js';
import { AccountHistory } from './history.js';
import { LedgerReader } from './reader.js';
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
   * the chain's tip, the block sink, and blockMaxRecords/blockMaxMs. Started by open, closed by close.
   */
  sequencer?: (
    tip: { height: number; timeMs: number }, sink: BlockSink,
    options: { blockMaxRecords?: number; blockMaxMs?: number },
  ) => LedgerSequencer;
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
      ledger = Ledger.#assemble(dir, config, node, options, { db, state, seal, checkpoints }, tip);
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
    p: Pick<Parts, 'db' | 'state' | 'seal' | 'checkpoints'>, tip: Awaited<ReturnType<typeof recover>>): Ledger {
    const start = tip ?? { height: -1, timeMs: 0, hash: new Uint8Array(DIGEST_BYTES) };
    const txHashIndex = options.txHashIndex ?? false;
    // The builder's and the reader's callbacks reach `ledger`, made last: they only run once it exists.
    const builder = new BlockBuilder({
      state: p.state, db: p.db, chainId: config.chainId, alg: config.alg, node, seal: p.seal,
      checkpoints: p.checkpoints, tip: start, sync: options.sync ?? true, txHashIndex,
      onDurable: (e) => ledger.#publish(e),
    });
    const sizes = { blockMaxRecords: options.blockMaxRecords, blockMaxMs: options.blockMaxMs };
    const sequencer = options.sequencer?.({ height: start.height, timeMs: start.timeMs }, builder, sizes) ??
      new LocalSequencer({ height: start.height, timeMs: start.timeMs, sink: builder, ...sizes, clock: options.clock });
    const verifier = options.verifier ?? sm2RecordVerifier();
    const admission = new Admission(config.chainId, config.alg, (b, o) => p.state.keyById(b, o), verifier);
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
    return this.#p.builder.failed ?? this.#p.sequencer.failed;
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
  async submit(records: Uint8Array[] | Uint8Array): Promise<SubmitResult[]> {
    if (!Array.isArray(records) && !(records instanceof Uint8Array)) {
      throw new TypeError('records must be an Array of 256-byte records or one Uint8Array of whole records');
    }
    const batch = Array.isArray(records) ? concatRecords(records) : records;
    const n = batch.length / RECORD_BYTES;
    if (!Number.isInteger(n)) throw new RangeError(`batch length ${batch.length} is not a multiple of ${RECORD_BYTES}`);
    if (n === 0) return [];
    const r = await this.submitBatch(batch);
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
    batch: Uint8Array, options?: { trusted?: boolean },
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
    try {
      return await this.#submitAdmitted(batch.slice(), n, codes, index, options?.trusted === true);
    } finally {
      this.#inFlight -= n;
    }
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
