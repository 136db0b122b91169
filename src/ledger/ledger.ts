// The embeddable ledger node: admission (structure, keys, signatures) → sequencer (single
// writer, deterministic apply) → block builder (roots, node signature) → one synced
// RocksDB WriteBatch per block → results released. See docs/api.md.
//
// Ordering sits behind the Sequencer interface: today a local in-process sequencer; a
// replicated log can replace it because apply only depends on (records, height, time).

import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FLAG_LINKED, Kind, OFF_FLAGS, OFF_ID, OFF_KIND, RECORD_BYTES, concatRecords, decode, setU128, u16,
} from '../codec/record.js';
import { checkBatchStructure } from '../codec/validate.js';
import { fromHex, toHex, equalBytes } from '../crypto/bytes.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { merkleProof } from '../crypto/merkle.js';
import {
  type AccountProof, type InclusionProof, decodeHeader, encodeHeader, headerHash, packDigests, recordViews, signHeader,
  txHashes,
} from '../codec/block.js';
import {
  META_CONFIG, META_TIP, P_HALT, P_KEY, P_OP, P_REFUSED, P_TRANSFER_UPDATE, P_TX,
  LOCATION_BYTES, writeLocation,
  RocksDb, WriteBatch, blockKey, decodeBlock, decodeTip, encodeBlock, encodeKey,
  encodeOp, encodeTip, idKey, indexKey, readLocation,
} from '../store/store.js';
import { checkpointAccountsInto, checkpointTransfersInto, restoreState } from './restore.js';
import { RESULT_APPLY_MIN, ResultCode, resultName } from '../codec/results.js';
import {
  A_CODE_FLAGS, A_CONTROLLER, A_LEDGER, LedgerState, STATUS_PENDING, T_CODE_FLAGS,
  T_HEIGHT, T_INDEX, T_STATUS, T_TIMESTAMP, type BlockChanges, opIdOf, opKeyOf,
} from './state.js';
import { ENTRY_BYTES, ENTRY_WORDS } from './tables.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type Signer, signerFromKeyPair } from '../codec/builders.js';
import { type RecordVerifier, sm2RecordVerifier } from './verify.js';
import { scanVouchGroups } from '../codec/vouch.js';
import { AccountHistory } from './history.js';
import { type RegisteredKey, scanCandidates, settleAdmission } from './admission.js';
import { SealWorker, type SealChunk } from './seal.js';

/** Most records one submit() takes; a batch always lands in a single block. */
export const BATCH_RECORDS_MAX = 8190;
/** Default block limits: a block closes at this many records or this long after opening. */
export const BLOCK_RECORDS_DEFAULT = 8190;
export const BLOCK_MS_DEFAULT = 20;
export const BLOCK_RECORDS_MAX = 1 << 16;
/**
 * State entries are checkpointed every this many blocks (default); on start the blocks
 * after the checkpoint are replayed. Bounds restart work to ~CHECKPOINT_BLOCKS blocks.
 */
export const CHECKPOINT_BLOCKS_DEFAULT = 32;
/**
 * Records admitted but not yet durable, across all submits, before new submits are turned
 * away with `ledger_unavailable`: memory stays bounded when the disk falls behind.
 */
export const IN_FLIGHT_RECORDS_DEFAULT = 16 * BATCH_RECORDS_MAX;
export const CHECKPOINT_BLOCKS_MAX = 1024;

export interface ChainConfig {
  version: 1;
  chainId: number;
  alg: 'sm3' | 'sha256';
  nodeKeyId: string;
  nodePublicKey: string;
  createdAt: number;
}

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
  /**
   * Keep a store index from tx hash to location, so getTransaction and proveTransaction
   * take a tx hash (default false). It costs one random-key put per record, about a fifth
   * of durable apply throughput (docs/benchmarks.md); it covers the blocks written while on.
   */
  txHashIndex?: boolean;
  /**
   * Open a chain that has no genesis block yet (initChain only). Without a genesis the first
   * key may register itself as admin, so a normal open refuses such a directory.
   */
  genesis?: boolean;
}

export interface SubmitResult {
  code: number;
  name: string;
  /** Block height and index when the record is on the chain (codes ≥ 32). */
  height?: number;
  index?: number;
}

/** What append resolves with: the batch's result codes, its block, its first index there. */
export interface AppendResult { codes: Uint16Array; height: number; first: number }

export interface BlockEvent {
  height: number;
  hash: Uint8Array;
  header: Uint8Array;
  count: number;
  timeMs: number;
  /** The block's records (count × 256 bytes) and result codes; do not modify. */
  records: Uint8Array;
  codes: Uint16Array;
}

interface Waiter {
  resolve: (codes: { codes: Uint16Array; height: number; first: number }) => void;
  reject: (err: Error) => void;
  first: number;
  count: number;
}

interface OpenBlock {
  height: number;
  timeMs: number;
  chunks: Uint8Array[];
  /** Per chunk: its records' tx hashes if admission already computed them (trusted batches), else undefined. */
  chunkHashes: (Uint8Array[] | undefined)[];
  count: number;
  codes: Uint16Array;
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/** The ordering seam: hands admitted batches to apply, one at a time, in a total order. */
export interface Sequencer {
  append(batch: Uint8Array, count: number): Promise<{ codes: Uint16Array; height: number; first: number }>;
}

export class Ledger extends EventEmitter implements Sequencer {
  readonly dir: string;
  readonly config: ChainConfig;
  readonly state: LedgerState;
  readonly #db: RocksDb;
  readonly #node: Signer;
  readonly #verifier: RecordVerifier;
  readonly #blockMaxRecords: number;
  readonly #blockMaxMs: number;
  readonly #clock: () => number;
  readonly #sync: boolean;
  readonly #txHashIndex: boolean;
  readonly #history: AccountHistory;
  #durableHeight = -1;      // last block known synced (queries of history read only these)
  #tipHeight: number;       // last closed block (-1: none)
  /** The last closed block's header hash, once it is sealed and its header signed. */
  #sealed: Promise<{ hash: Uint8Array }>;
  readonly #seal: SealWorker;
  #tipTimeMs: number;
  #lastHeader: Uint8Array | undefined;
  #open: OpenBlock | undefined;
  #writes: Promise<void> = Promise.resolve();
  // Durable reads in progress (durableRead): appends arriving meanwhile wait in #deferred,
  // and are applied in arrival order, synchronously, when the last read is done.
  #holders = 0;
  #deferred: { batch: Uint8Array; count: number; hashes?: Uint8Array[]; resolve: (v: AppendResult) => void; reject: (e: Error) => void }[] = [];
  #failed: Error | undefined;
  #closed = false;
  #closing = false;
  readonly #inFlightMax: number;
  #inFlight = 0;
  // Checkpointing: what changed since the last checkpoint, written with the next one.
  readonly #checkpointBlocks: number;
  #checkpointHeight = -1;
  #checkpointFirstTransfer = 0;
  #dirty = { accounts: new Set<number>(), transfers: new Set<number>(), keys: new Set<number>(), ops: new Set<string>(), halts: new Set<number>() };

  private constructor(dir: string, config: ChainConfig, db: RocksDb, node: Signer, options: LedgerOptions, state: LedgerState) {
    super();
    this.dir = dir;
    this.config = config;
    this.#db = db;
    this.#node = node;
    this.state = state;
    this.#verifier = options.verifier ?? sm2RecordVerifier();
    this.#blockMaxRecords = Math.min(options.blockMaxRecords ?? BLOCK_RECORDS_DEFAULT, BLOCK_RECORDS_MAX);
    if (this.#blockMaxRecords < 1) throw new RangeError('blockMaxRecords must be ≥ 1');
    this.#blockMaxMs = options.blockMaxMs ?? BLOCK_MS_DEFAULT;
    this.#clock = options.clock ?? Date.now;
    this.#sync = options.sync ?? true;
    this.#txHashIndex = options.txHashIndex ?? false;
    this.#history = new AccountHistory(state);
    this.#seal = new SealWorker(state.tree, ENTRY_BYTES);
    this.#inFlightMax = options.inFlightMaxRecords ?? IN_FLIGHT_RECORDS_DEFAULT;
    if (!Number.isInteger(this.#inFlightMax) || this.#inFlightMax < 1) throw new RangeError('inFlightMaxRecords must be a positive integer');
    this.#checkpointBlocks = options.checkpointBlocks ?? CHECKPOINT_BLOCKS_DEFAULT;
    if (!Number.isInteger(this.#checkpointBlocks) || this.#checkpointBlocks < 1 || this.#checkpointBlocks > CHECKPOINT_BLOCKS_MAX) {
      throw new RangeError(`checkpointBlocks must be an integer in [1, ${CHECKPOINT_BLOCKS_MAX}]`);
    }
    this.#tipHeight = -1;
    this.#sealed = Promise.resolve({ hash: new Uint8Array(DIGEST_BYTES) });
    this.#tipTimeMs = 0;
  }

  /** Opens the chain in `dir` (created by `gmledger init`) and resumes from its last durable block. */
  static async open(options: LedgerOptions): Promise<Ledger> {
    const dir = options.dir;
    const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false });
    let ledger: Ledger | undefined;
    let sealStarted: Promise<void> | undefined;
    try {
      const raw = await db.get(META_CONFIG);
      if (!raw) throw new Error(`${dir} holds no gmledger chain (run gmledger init)`);
      const config = JSON.parse(Buffer.from(raw).toString('utf8')) as ChainConfig;
      const priv = options.nodePrivateKey ?? fromHex((await readFile(join(dir, 'keys', 'node.key'), 'utf8')).trim());
      const node = signerFromKeyPair({ privateKey: priv, publicKey: sm2Backend.getPublicKey(priv) });
      if (toHex(node.keyId) !== config.nodeKeyId) throw new Error('node private key does not match the chain config');
      const state = new LedgerState({ alg: config.alg, validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
      ledger = new Ledger(dir, config, db, node, options, state);
      // The seal worker loads while the state is restored (restore and replay seal nothing).
      sealStarted = ledger.#seal.start();
      sealStarted.catch(() => undefined);
      await ledger.#load(options.genesis === true);
      await sealStarted;
      return ledger;
    } catch (err) {
      await sealStarted?.catch(() => undefined);
      if (ledger) await ledger.#seal.close();
      await db.close();
      throw err;
    }
  }

  async #load(genesis: boolean): Promise<void> {
    const tipRaw = await this.#db.get(META_TIP);
    if (!tipRaw) {
      if (!genesis) throw new Error(`${this.dir} has no genesis block (an interrupted gmledger init?): recreate it`);
      return;
    }
    if (genesis) throw new Error(`${this.dir} already has a genesis block`);
    const tip = decodeTip(tipRaw);
    // 1. The state as of the checkpoint (restore.ts), its tree checked against that block's state root.
    const ck = await restoreState(this.#db, this.state, this.config.alg, tip.height);
    let prevHash = ck.prevHash;
    let prevTime = ck.prevTime;
    this.#lastHeader = ck.lastHeader;
    this.#checkpointHeight = ck.height;
    this.#checkpointFirstTransfer = this.state.transfers.count;
    // 2. Replay the blocks after it; each must reproduce its stored results and roots.
    for (let height = ck.height + 1; height <= tip.height; height++) {
      const b = await this.#readBlock(height);
      if (!b) throw new Error(`block ${height} is missing`);
      const h = decodeHeader(b.header);
      if (!equalBytes(h.prevHash, prevHash)) throw new Error(`block ${height} does not link to block ${height - 1}`);
      this.state.beginBlock(height, Math.max(h.timeMs, prevTime));
      const codes = new Uint16Array(b.count);
      this.state.applyBatch(b.records, 0, b.count, codes, 0, 0);
      const { stateRoot, changes } = this.state.endBlock();
      for (let i = 0; i < b.count; i++) if (codes[i] !== b.codes[i]) throw new Error(`replay of block ${height} gives a different result for record ${i}`);
      if (!equalBytes(stateRoot, h.stateRoot)) throw new Error(`replay of block ${height} gives a different state root`);
      this.#noteChanges(changes);
      prevHash = headerHash(b.header);
      prevTime = h.timeMs;
      this.#lastHeader = b.header.slice();
    }
    if (!equalBytes(prevHash, tip.hash)) throw new Error('tip hash does not match the tip block');
    this.#tipHeight = tip.height;
    this.#durableHeight = tip.height;
    this.#sealed = Promise.resolve({ hash: tip.hash });
    this.#tipTimeMs = tip.timeMs;
    // Checkpoint now, so the next start need not replay the same blocks again.
    if (tip.height > ck.height) {
      const wb = new WriteBatch();
      this.#checkpointInto(wb, tip.height);
      await this.#db.write(wb, this.#sync);
    }
  }

  #noteChanges(changes: BlockChanges): void {
    const d = this.#dirty;
    for (const a of changes.accounts) d.accounts.add(a);
    for (const t of changes.transfers) if (t < this.#checkpointFirstTransfer) d.transfers.add(t);
    for (const k of changes.keys) d.keys.add(k);
    for (const o of changes.ops) d.ops.add(o);
    for (const l of changes.halts) d.halts.add(l);
  }

  /**
   * Adds every state entry changed since the last checkpoint to `wb`, with the checkpoint
   * marker for `height`; the in-memory state must be exactly the state after `height`.
   */
  #checkpointInto(wb: WriteBatch, height: number): void {
    const st = this.state;
    const d = this.#dirty;
    const entry = (slab: { bytes: Uint8Array }, prefix: number, i: number): void => {
      const k = wb.alloc(5);
      k[0] = prefix;
      k.writeUInt32BE(i, 1);
      const v = wb.alloc(ENTRY_BYTES);
      v.set(slab.bytes.subarray(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES));
      wb.put(k, v);
    };
    // Transfers created since the last checkpoint are contiguous: 64 KiB values (restore.ts).
    // Older ones that changed since (post, void, expiry) are written one by one.
    checkpointTransfersInto(wb, st.transfers, this.#checkpointFirstTransfer);
    for (const t of d.transfers) entry(st.transfers, P_TRANSFER_UPDATE, t);
    for (const k of d.keys) if (k < st.keys.length) wb.put(indexKey(P_KEY, k), encodeKey(st.keys[k]));
    for (const key of d.ops) {
      const op = st.ops.get(key);
      if (op === undefined) continue;
      wb.put(idKey(P_OP, opIdOf(key)), encodeOp(op));
    }
    for (const l of d.halts) {
      const k = indexKey(P_HALT, l);
      if (st.halted.has(l)) wb.put(k, new Uint8Array([1])); else wb.del(k);
    }
    // Accounts (an image or a log value, restore.ts) and the checkpoint marker.
    checkpointAccountsInto(wb, st, d.accounts, height);
    this.#dirty = { accounts: new Set(), transfers: new Set(), keys: new Set(), ops: new Set(), halts: new Set() };
    this.#checkpointHeight = height;
    this.#checkpointFirstTransfer = st.transfers.count;
  }

  get height(): number {
    return this.#tipHeight;
  }

  get nodePublicKey(): Uint8Array {
    return this.#node.publicKey;
  }

  info(): { chainId: number; height: number; accounts: number; transfers: number; keys: number; verifier: string; sm2: string } {
    return {
      chainId: this.config.chainId, height: this.#tipHeight, accounts: this.state.accounts.count,
      transfers: this.state.transfers.count, keys: this.state.keys.length, verifier: this.#verifier.name, sm2: sm2Backend.name,
    };
  }

  // -------------------------------------------------------------------------------------
  // Submit.

  /**
   * Validates, verifies, orders and applies `records`; resolves with one result per record
   * once the block holding them is durable. Records rejected at admission (codes < 32)
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
    const codes = await this.submitBatch(batch);
    const out: SubmitResult[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { code: codes.codes[i], name: resultName(codes.codes[i]) };
    for (let i = 0; i < n; i++) {
      if (codes.index[i] >= 0) { out[i].height = codes.height; out[i].index = codes.index[i]; }
    }
    return out;
  }

  /**
   * submit() without per-record objects: codes, and each record's block index (-1: not on
   * chain). `trusted`: the batch is one or more vouch groups (docs/protocol.md §8) — one
   * gateway signature per group instead of one per record.
   */
  async submitBatch(batch: Uint8Array, options?: { trusted?: boolean }): Promise<{ codes: Uint16Array; height: number; index: Int32Array }> {
    if (this.#failed) throw this.#failed;
    if (this.#closing) throw new Error('ledger is closed');
    if (!(batch instanceof Uint8Array) || batch.length % RECORD_BYTES !== 0) {
      throw new RangeError(`a batch is a Uint8Array of whole ${RECORD_BYTES}-byte records`);
    }
    const n = batch.length / RECORD_BYTES;
    const codes = new Uint16Array(n);
    const index = new Int32Array(n).fill(-1);
    if (n > BATCH_RECORDS_MAX || n > this.#blockMaxRecords) {
      codes.fill(ResultCode.batch_too_large);
      return { codes, height: -1, index };
    }
    if (this.#inFlight + n > this.#inFlightMax) {
      codes.fill(ResultCode.ledger_unavailable);
      return { codes, height: -1, index };
    }
    this.#inFlight += n;
    try {
      return await this.#submitAdmitted(batch, n, codes, index, options?.trusted === true);
    } finally {
      this.#inFlight -= n;
    }
  }

  async #submitAdmitted(batch: Uint8Array, n: number, codes: Uint16Array, index: Int32Array, trusted: boolean): Promise<{ codes: Uint16Array; height: number; index: Int32Array }> {
    let hashes: Uint8Array[] | undefined;
    let admitted: number[];
    // Own copy first: the bytes checked and verified are then the bytes that get appended,
    // whatever the caller does with its buffer while the signatures are checked.
    batch = batch.slice();
    if (trusted) {
      hashes = txHashes(batch, n, this.config.alg);
      admitted = await this.admitTrusted(batch, n, codes, hashes);
    } else {
      admitted = await this.admit(batch, n, codes);
    }
    if (admitted.length === 0) return { codes, height: -1, index };
    let sub: Uint8Array;
    let subHashes: Uint8Array[] | undefined;
    if (admitted.length === n) {
      sub = batch; // already our copy
      subHashes = hashes;
    } else {
      sub = new Uint8Array(admitted.length * RECORD_BYTES);
      for (let k = 0; k < admitted.length; k++) {
        sub.set(batch.subarray(admitted[k] * RECORD_BYTES, (admitted[k] + 1) * RECORD_BYTES), k * RECORD_BYTES);
      }
      subHashes = hashes === undefined ? undefined : admitted.map((k) => hashes![k]);
    }
    const applied = await this.append(sub, admitted.length, subHashes);
    for (let k = 0; k < admitted.length; k++) {
      codes[admitted[k]] = applied.codes[k];
      index[admitted[k]] = applied.first + k;
    }
    return { codes, height: applied.height, index };
  }

  /**
   * Admission (admission.ts): structure, signer key lookup (registered keys, then keys of
   * register_key records earlier in the same batch that are themselves admitted), one
   * batch signature check, closed linked chains. Writes admission codes into `codes`;
   * returns the indexes of admitted records.
   */
  async admit(batch: Uint8Array, n: number, codes: Uint16Array): Promise<number[]> {
    const structure = checkBatchStructure(batch, n, this.config.chainId);
    const registered: RegisteredKey = (b, o) => this.state.keyById(b, o)?.publicKey;
    const scan = scanCandidates(batch, n, structure, this.config.alg, registered, codes);
    const ok = await this.#verifier.verifyRecords(batch, n, scan.keys);
    return settleAdmission(batch, scan, ok, registered, codes);
  }

  /**
   * Admission of a trusted batch: a sequence of vouch groups (docs/protocol.md §8). Per
   * group: the vouch's structure, its gateway key (registered, operator role), every covered
   * record in vouched form naming the gateway, the group closing its linked chains, the
   * digest, then ONE SM2 signature — all gateway signatures of the batch in one verifier
   * call. A group is admitted whole or not at all; refused groups change nothing.
   */
  async admitTrusted(batch: Uint8Array, n: number, codes: Uint16Array, hashes?: Uint8Array[]): Promise<number[]> {
    const structure = checkBatchStructure(batch, n, this.config.chainId);
    hashes ??= txHashes(batch, n, this.config.alg);
    // Registered keys only (not keys registered inside this batch): the gateway's authority
    // must already be on the chain when its vouch is judged.
    const groups = scanVouchGroups(batch, n, this.config.chainId, this.config.alg, structure,
      (b, o) => this.state.keyById(b, o), codes, false, hashes);
    const admitted: number[] = [];
    if (groups.length === 0) return admitted;
    const keys: (Uint8Array | null)[] = new Array(n).fill(null);
    for (const g of groups) keys[g.at] = g.publicKey;
    const ok = await this.#verifier.verifyRecords(batch, n, keys);
    for (const g of groups) {
      const good = ok[g.at] === 1;
      for (let j = g.at; j <= g.at + g.count; j++) {
        // Invariant: scanVouchGroups returns only groups with no refused record.
        if (codes[j] !== 0) throw new Error(`vouch group at ${g.at} returned with record ${j} refused`);
        if (good) admitted.push(j); else codes[j] = ResultCode.bad_vouch;
      }
    }
    return admitted;
  }

  // -------------------------------------------------------------------------------------
  // Sequencer (local): apply into the open block; close on size or time.

  /**
   * `hashes`: the records' tx hashes H(record), when the caller already has them (the
   * trusted path computes them for the vouch digest); they must be of exactly these bytes.
   */
  append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    if (!(batch instanceof Uint8Array)) return Promise.reject(new TypeError('append: batch must be a Uint8Array'));
    if (!Number.isSafeInteger(count) || count < 1 || count > BATCH_RECORDS_MAX || batch.length < count * RECORD_BYTES) {
      return Promise.reject(new RangeError(`append: count must be an integer in [1, ${BATCH_RECORDS_MAX}] and the batch must hold that many records`));
    }
    if (hashes !== undefined && hashes.length !== count) return Promise.reject(new RangeError(`${hashes.length} hashes for ${count} records`));
    // Linked chains close inside one append: apply (live), replay and verify all end a
    // chain at its first unlinked record, so a chain left open here would be closed by
    // live apply at the chunk's end but continued into the next chunk by replay.
    if ((u16(batch, (count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) {
      return Promise.reject(new RangeError('append: the batch ends inside a linked chain (its last record has the linked flag)'));
    }
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new Error('ledger is closed'));
    // Behind a durable read (or behind appends still waiting for one): queue, in order.
    if (this.#holders > 0 || this.#deferred.length > 0) {
      return new Promise((resolve, reject) => this.#deferred.push({ batch, count, hashes, resolve, reject }));
    }
    return this.#appendNow(batch, count, hashes);
  }

  #appendNow(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new Error('ledger is closed'));
    if (this.#open && this.#open.count + count > this.#blockMaxRecords) this.#closeBlock();
    const block = this.#open ?? this.#openBlock();
    const first = block.count;
    if (block.codes.length < first + count) {
      const next = new Uint16Array(Math.max(first + count, block.codes.length * 2));
      next.set(block.codes);
      block.codes = next;
    }
    try {
      this.state.applyBatch(batch, 0, count, block.codes, first, first);
    } catch (err) {
      // An invariant broke inside apply: memory can no longer be trusted to match the
      // chain. Stop; a restart reloads the last durable block.
      // The open block is dropped too: its state now includes part of this batch, so it
      // must never be written, and its earlier records are not acknowledged.
      this.#failed = new Error(`apply failed; the ledger stopped: ${(err as Error).message}`);
      if (block.timer) clearTimeout(block.timer);
      this.#open = undefined;
      for (const w of block.waiters) w.reject(this.#failed);
      return Promise.reject(this.#failed);
    }
    block.chunks.push(batch.subarray(0, count * RECORD_BYTES));
    block.chunkHashes.push(hashes);
    block.count += count;
    const promise = new Promise<{ codes: Uint16Array; height: number; first: number }>((resolve, reject) => {
      block.waiters.push({ resolve, reject, first, count });
    });
    if (block.count >= this.#blockMaxRecords) this.#closeBlock();
    return promise;
  }

  #openBlock(): OpenBlock {
    const height = this.#tipHeight + 1;
    const timeMs = Math.max(this.#clock(), this.#tipTimeMs);
    this.state.beginBlock(height, timeMs);
    const block: OpenBlock = { height, timeMs, chunks: [], chunkHashes: [], count: 0, codes: new Uint16Array(64), waiters: [], timer: undefined };
    block.timer = setTimeout(() => { if (this.#open === block) this.#closeBlock(); }, this.#blockMaxMs);
    this.#open = block;
    return block;
  }

  /**
   * Closes the open block now. Synchronously: what the seal and the checkpoint need of the
   * state (it moves on with the next block). Then, in order: the seal — tx root, result
   * root, state root (on the seal worker once a large block has started it) — the header
   * and its signature, one synced WriteBatch, the results.
   */
  #closeBlock(): void {
    const block = this.#open;
    if (!block) return;
    this.#open = undefined;
    if (block.timer) clearTimeout(block.timer);
    const alg = this.config.alg;
    const records = block.chunks.length === 1 ? block.chunks[0] : concatChunks(block.chunks, block.count);
    const codes = block.codes.slice(0, block.count);
    const { changes, tree } = this.state.endBlockDeferred();
    const accounts = this.state.accounts.count;
    const height = block.height;
    this.#tipHeight = height;
    this.#tipTimeMs = block.timeMs;
    const wb = new WriteBatch();
    // State entries go out with checkpoints, not with every block: a hot account is
    // written once per checkpoint, however many blocks touch it.
    this.#noteChanges(changes);
    if (height - this.#checkpointHeight >= this.#checkpointBlocks) this.#checkpointInto(wb, height);
    // Tx hashes that admission computed (a trusted batch's vouch digest is built from them)
    // are reused; the rest are hashed with the roots. Each record is hashed once either way.
    const chunks: SealChunk[] = block.chunks.map((c, k) => {
      const h = block.chunkHashes[k];
      return h === undefined ? { records: c } : { hashes: packDigests(h) };
    });
    const seal = this.#seal.seal({ alg, chunks, codes, wantHashes: this.#txHashIndex, tree });
    const sealed = Promise.all([this.#sealed, seal]).then(([prev, r]) => {
      const header = encodeHeader({
        alg, chainId: this.config.chainId, height, prevHash: prev.hash, txRoot: r.txRoot, resultRoot: r.resultRoot,
        stateRoot: r.stateRoot!, timeMs: block.timeMs, count: block.count, accounts, nodeKey: this.#node.keyId,
      });
      signHeader(header, this.#node);
      const hash = headerHash(header);
      this.#lastHeader = header;
      this.#blockInto(wb, height, block.timeMs, header, hash, records, codes, r.hashes);
      return { hash, header };
    });
    this.#sealed = sealed;
    // Once a block has failed to write, no later block may be written or acknowledged:
    // the chain on disk would have a hole at the failed height.
    // A failed seal stops the ledger at once (new appends are refused), but its block
    // still settles only after the block before it: results go out strictly in order.
    sealed.catch((err: Error) => { this.#failed ??= new Error(`block ${height} could not be sealed; the ledger stopped: ${err.message}`); });
    const write = this.#writes.then(() => sealed).then(async (s) => {
      if (this.#failed) throw this.#failed;
      await this.#db.write(wb, this.#sync);
      return s;
    });
    this.#writes = write.then(({ hash, header }) => {
      this.#durableHeight = height;
      for (const w of block.waiters) w.resolve({ codes: codes.subarray(w.first, w.first + w.count), height, first: w.first });
      this.#publish({ height, hash, header, count: block.count, timeMs: block.timeMs, records, codes });
    }, (err: Error) => {
      this.#failed ??= new Error(`block ${height} could not be written; the ledger stopped: ${err.message}`);
      for (const w of block.waiters) w.reject(this.#failed);
    });
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
        if (this.listenerCount('error') > 0) this.emit('error', e);
        else process.emitWarning(`a 'block' listener threw: ${e.stack ?? e.message}`, 'GmledgerListenerWarning');
      }
    }
  }

  /** The block itself, the tip, and (with txHashIndex) one location key per record. */
  #blockInto(wb: WriteBatch, h: number, timeMs: number, header: Uint8Array, hash: Uint8Array, records: Uint8Array,
    codes: Uint16Array, hashes: Uint8Array | undefined): void {
    wb.put(blockKey(h), encodeBlock(header, records, codes));
    wb.put(META_TIP, encodeTip(h, timeMs, hash));
    // Transfers the state machine refused are on the chain but not in the transfer table:
    // a small index keeps them findable by id. Applied transfers are never indexed here.
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] < RESULT_APPLY_MIN || records[i * RECORD_BYTES + OFF_KIND] !== Kind.transfer) continue;
      const v = wb.alloc(LOCATION_BYTES);
      writeLocation(v, 0, h, i);
      wb.put(idKey(P_REFUSED, records.subarray(i * RECORD_BYTES + OFF_ID, i * RECORD_BYTES + OFF_ID + 16)), v);
    }
    if (!this.#txHashIndex) return;
    if (hashes === undefined || hashes.length !== codes.length * DIGEST_BYTES) throw new Error(`block ${h}: tx hashes missing`);
    // Keys and values are built in the batch's scratch chunks: no allocation per record.
    for (let i = 0; i < codes.length; i++) {
      const k = wb.alloc(1 + DIGEST_BYTES);
      k[0] = P_TX;
      k.set(hashes.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), 1);
      const v = wb.alloc(LOCATION_BYTES);
      writeLocation(v, 0, h, i);
      wb.put(k, v);
    }
  }

  /** Closes the open block (if any) and waits until everything is durable. */
  async flush(): Promise<void> {
    this.#closeBlock();
    await this.#writes;
    if (this.#failed) throw this.#failed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    try {
      await this.flush();
      if (this.#tipHeight > this.#checkpointHeight) {
        const wb = new WriteBatch();
        this.#checkpointInto(wb, this.#tipHeight);
        await this.#db.write(wb, this.#sync);
      }
    } finally {
      this.#closed = true;
      await this.#seal.close();
      await this.#db.close();
    }
  }

  // -------------------------------------------------------------------------------------
  // Queries and proofs.

  /**
   * Runs `read` at a moment when everything applied is durable and nothing newer is: no
   * block open, every closed block synced (so sealed, and the state tree at rest). Appends
   * arriving meanwhile wait (about one block's seal and sync), then apply in order.
   * Concurrent durable reads share one such moment.
   */
  async durableRead<T>(read: () => T): Promise<T> {
    if (this.#failed) throw this.#failed;
    this.#holders++;
    try {
      for (;;) {
        await this.flush();
        if (!this.#open && this.#durableHeight === this.#tipHeight) {
          const out = read();
          // An async read would outlive the moment: the appends held for it go on.
          if (out !== null && typeof (out as { then?: unknown })?.then === 'function') {
            throw new TypeError('durableRead takes a synchronous read function');
          }
          return out;
        }
      }
    } finally {
      if (--this.#holders === 0) {
        // In arrival order, before anything else can append.
        for (const d of this.#deferred.splice(0)) this.#appendNow(d.batch, d.count, d.hashes).then(d.resolve, d.reject);
      }
    }
  }

  /** Account by id as of the last durable block: only acknowledged transfers count. */
  getAccountDurable(id: bigint): Promise<AccountView | undefined> {
    return this.durableRead(() => this.getAccount(id));
  }

  /**
   * Account by id, current state: includes records applied but not yet durable (not yet
   * acknowledged, and lost if the node crashes first). For acknowledged state use
   * getAccountDurable.
   */
  getAccount(id: bigint): AccountView | undefined {
    const i = this.#findAccountId(id);
    return i < 0 ? undefined : this.#accountView(i);
  }

  #findAccountId(id: bigint): number {
    const b = new Uint8Array(16);
    setU128(b, 0, id, 'id');
    return this.state.findAccount(b, 0);
  }

  #accountView(i: number): AccountView {
    const e = this.state.accounts.entry(i);
    const w = this.state.accounts.words;
    const base = i * ENTRY_WORDS;
    const codeFlags = w[base + A_CODE_FLAGS];
    return {
      id: le128(e, 0), debitsPending: le128(e, 16), debitsPosted: le128(e, 32), creditsPending: le128(e, 48),
      creditsPosted: le128(e, 64), userData: le128(e, 80), ledger: w[base + A_LEDGER], code: codeFlags & 0xffff,
      flags: codeFlags >>> 16, controller: this.state.keys[w[base + A_CONTROLLER]]?.keyId ?? new Uint8Array(32),
      timestampMs: Number(le64(e, 112)), index: i,
    };
  }

  /** Transfer by id (current state). */
  getTransfer(id: bigint): TransferView | undefined {
    const b = new Uint8Array(16);
    setU128(b, 0, id, 'id');
    const t = this.state.findTransfer(b, 0);
    if (t < 0) return undefined;
    const e = this.state.transfers.entry(t);
    const w = this.state.transfers.words;
    const base = t * ENTRY_WORDS;
    return {
      id: le128(e, 0), debitAccountId: le128(e, 16), creditAccountId: le128(e, 32), amount: le128(e, 48),
      pendingId: le128(e, 64), userData: le128(e, 80), ledger: w[base + 24], code: w[base + T_CODE_FLAGS] & 0xffff,
      flags: w[base + T_CODE_FLAGS] >>> 16, timeout: w[base + 26], status: STATUS_NAMES[w[base + T_STATUS]] ?? 'unknown',
      timestampMs: w[base + T_TIMESTAMP] + w[base + T_TIMESTAMP + 1] * 0x100000000, height: w[base + 30], index: w[base + 31],
    };
  }

  /** Block by height (durable blocks only). */
  async getBlock(height: number): Promise<{ header: ReturnType<typeof decodeHeader>; headerBytes: Uint8Array; records: Uint8Array[]; codes: number[] } | undefined> {
    const b = await this.#readBlock(height);
    if (!b) return undefined;
    return { header: decodeHeader(b.header), headerBytes: b.header.slice(), records: recordViews(b.records.slice(), b.count), codes: Array.from(b.codes) };
  }

  /** Transaction by its hash H(record), or a transfer by transfer id. */
  async getTransaction(key: Uint8Array | bigint): Promise<{ record: Uint8Array; height: number; index: number; code: number; name: string; decoded: ReturnType<typeof decode> } | undefined> {
    const at = await this.#locate(key);
    const b = at && await this.#readBlock(at.height);
    if (!at || !b) return undefined;
    const { height, index } = at;
    const record = recordAt(b.records, index);
    return { record, height, index, code: b.codes[index], name: resultName(b.codes[index]), decoded: decode(record) };
  }

  /** Where a transaction is: a transfer by id (durable blocks only), or a record by tx hash (with the index). */
  async #locate(key: Uint8Array | bigint): Promise<{ height: number; index: number } | undefined> {
    if (typeof key === 'bigint') {
      await this.#writes;
      const t = this.getTransfer(key);
      if (t && t.height <= this.#durableHeight) return { height: t.height, index: t.index };
      // Else the latest refusal of a transfer with this id, if any (durable: written with its block).
      const id = new Uint8Array(16);
      setU128(id, 0, key);
      const loc = await this.#db.get(idKey(P_REFUSED, id));
      return loc && readLocation(loc);
    }
    if (!(key instanceof Uint8Array) || key.length !== DIGEST_BYTES) {
      throw new TypeError(`a transaction is looked up by transfer id (bigint) or tx hash (${DIGEST_BYTES}-byte Uint8Array)`);
    }
    if (!this.#txHashIndex) throw new Error('lookup by tx hash needs the tx hash index (LedgerOptions.txHashIndex)');
    const loc = await this.#db.get(idKey(P_TX, key));
    return loc && readLocation(loc);
  }

  async #readBlock(height: number): Promise<ReturnType<typeof decodeBlock> | undefined> {
    const v = await this.#db.get(blockKey(height));
    return v && decodeBlock(v);
  }

  /**
   * Transfers touching an account, by block time (oldest first unless `reverse`), at most
   * `limit` per page, from durable blocks only. Pass a page's `next` as `after` for the
   * following page (`next` is set whenever the page is full; the page after it may be
   * empty). A cursor is the id (16 bytes, LE u128) of the page's last transfer. Cost: the
   * page, plus the account's transfers skipped to reach `fromMs` (oldest first) or `toMs`
   * (reverse); the history lists are in memory (16 bytes per transfer, built on first use).
   */
  async accountTransfers(accountId: bigint, options: { limit?: number; fromMs?: number; toMs?: number; reverse?: boolean; after?: Uint8Array } = {}):
  Promise<{ transfers: AccountTransfer[]; next?: Uint8Array }> {
    const limit = Math.max(1, Math.min(options.limit ?? 100, ACCOUNT_PAGE_MAX));
    const fromMs = options.fromMs ?? 0;
    const toMs = options.toMs ?? Number.POSITIVE_INFINITY;
    const older = options.reverse === true;
    const a = this.#findAccountId(accountId);
    if (a < 0) {
      if (options.after) throw new RangeError('after is not a cursor of this account');
      return { transfers: [] };
    }
    // No await from here to the end of the walk: the slab and the lists stay as they are.
    const history = this.#history;
    history.catchUp();
    let t: number;
    if (options.after) {
      const c = options.after.length === 16 ? this.state.findTransfer(options.after, 0) : -1;
      if (!history.involves(c, a)) throw new RangeError('after is not a cursor of this account');
      t = history.step(c, a, older);
    } else {
      t = history.end(a, older ? 'head' : 'tail');
    }
    const tw = this.state.transfers.words;
    const out: AccountTransfer[] = [];
    let next: Uint8Array | undefined;
    for (; t !== -1; t = history.step(t, a, older)) {
      const e = t * ENTRY_WORDS;
      const height = tw[e + T_HEIGHT];
      const timeMs = tw[e + T_TIMESTAMP] + tw[e + T_TIMESTAMP + 1] * 0x100000000;
      // Not yet durable: the newest transfers, at the head of the list.
      if (height > this.#durableHeight) { if (older) continue; break; }
      if (older ? timeMs >= toMs : timeMs < fromMs) continue;
      if (older ? timeMs < fromMs : timeMs >= toMs) break;
      out.push({ height, index: tw[e + T_INDEX], timeMs, record: new Uint8Array(0), decoded: undefined as never });
      if (out.length === limit) {
        next = this.state.transfers.bytes.slice(e * 4, e * 4 + 16);
        break;
      }
    }
    const blocks = new Map<number, ReturnType<typeof decodeBlock>>();
    for (const x of out) {
      let b = blocks.get(x.height);
      if (!b) {
        b = await this.#readBlock(x.height);
        if (!b) throw new Error(`block ${x.height} is missing`);
        blocks.set(x.height, b);
      }
      x.record = recordAt(b.records, x.index);
      x.decoded = decode(x.record);
    }
    return { transfers: out, next };
  }

  /** Inclusion proof of the transaction at (height, index), or by hash / transfer id. */
  async proveTransaction(where: { height: number; index: number } | Uint8Array | bigint): Promise<InclusionProof | undefined> {
    // Located, not fetched: the block is read once, below.
    const at = typeof where === 'object' && !(where instanceof Uint8Array) ? where : await this.#locate(where);
    if (!at) return undefined;
    const { height, index } = at;
    const b = await this.#readBlock(height);
    if (!b) return undefined;
    if (index < 0 || index >= b.count) return undefined;
    const hashes = txHashes(b.records, b.count, this.config.alg);
    return {
      record: recordAt(b.records, index), index, treeSize: b.count,
      proof: merkleProof(hashes, index, this.config.alg),
      header: b.header.slice(),
    };
  }

  /** Anchor receipt: where the anchor is, when it was committed, and its inclusion proof. */
  async anchorReceipt(anchorId: bigint): Promise<{ height: number; index: number; commitTimeMs: number; proof: InclusionProof } | undefined> {
    const b = new Uint8Array(16);
    setU128(b, 0, anchorId, 'anchorId');
    const op = this.state.ops.get(opKeyOf(b));
    if (!op || op.kind !== Kind.anchor) return undefined;
    await this.#waitDurable(op.height);
    const proof = await this.proveTransaction({ height: op.height, index: op.index });
    if (!proof) return undefined;
    return { height: op.height, index: op.index, commitTimeMs: decodeHeader(proof.header).timeMs, proof };
  }

  /** Account state proof against the latest durable block's state root. */
  async proveAccount(id: bigint): Promise<AccountProof | undefined> {
    // The tree, the slab and the header agree at a durable-read moment.
    return this.durableRead(() => {
      const i = this.#findAccountId(id);
      if (i < 0 || !this.#lastHeader) return undefined;
      return {
        entry: this.state.accounts.entry(i), index: i, treeSize: this.state.tree.size,
        proof: this.state.tree.proof(i), header: this.#lastHeader.slice(),
      };
    });
  }

  async #waitDurable(height: number): Promise<void> {
    if (this.#open && this.#open.height <= height) await this.flush();
    else await this.#writes;
  }

  /** Number of transfers still pending (neither posted, voided nor expired). */
  pendingTransfers(): number {
    let n = 0;
    const w = this.state.transfers.words;
    for (let t = 0; t < this.state.transfers.count; t++) if (w[t * ENTRY_WORDS + T_STATUS] === STATUS_PENDING) n++;
    return n;
  }
}

export interface AccountView {
  id: bigint; debitsPending: bigint; debitsPosted: bigint; creditsPending: bigint; creditsPosted: bigint;
  userData: bigint; ledger: number; code: number; flags: number; controller: Uint8Array; timestampMs: number; index: number;
}

export interface TransferView {
  id: bigint; debitAccountId: bigint; creditAccountId: bigint; amount: bigint; pendingId: bigint; userData: bigint;
  ledger: number; code: number; flags: number; timeout: number; status: string; timestampMs: number; height: number; index: number;
}

export interface AccountTransfer {
  height: number; index: number; timeMs: number; record: Uint8Array; decoded: ReturnType<typeof decode>;
}

/** Most transfers one accountTransfers page returns. */
export const ACCOUNT_PAGE_MAX = 1000;

const STATUS_NAMES = ['posted', 'pending', 'posted_pending', 'voided', 'expired'];

function le64(b: Uint8Array, o: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]);
  return v;
}
function le128(b: Uint8Array, o: number): bigint {
  return le64(b, o) | (le64(b, o + 8) << 64n);
}
/** A copy of record `index` of a records buffer. */
function recordAt(records: Uint8Array, index: number): Uint8Array {
  return records.slice(index * RECORD_BYTES, (index + 1) * RECORD_BYTES);
}
function concatChunks(chunks: Uint8Array[], count: number): Uint8Array {
  const out = new Uint8Array(count * RECORD_BYTES);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

