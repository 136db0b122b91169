// The block builder: a sink for the sequencer's log entries. Per block, in height order:
// apply (apply.ts, synchronously, so the state moves on at once), then the seal — tx root,
// result root, state root, on the seal worker once blocks are large — the header and the
// node's signature beside it, one synced RocksDB WriteBatch, and only then the results.
// Seals, headers and writes each stay in block order; block N+1 applies while block N
// seals and block N−1 syncs.

import { type WriteBatch as WriteBatchType, WriteBatch } from '../../native/rocksdb.js';
import { Kind, OFF_ID, OFF_KIND, RECORD_BYTES } from '../codec/record.js';
import { RESULT_APPLY_MIN } from '../codec/results.js';
import { encodeBlock, encodeHeader, headerHash, packDigests, signHeader } from '../codec/block.js';
import type { Signer } from '../crypto/signer.js';
import { DIGEST_BYTES, type HashAlgorithm } from '../crypto/hash.js';
import {
  LOCATION_BYTES, META_POSITION, META_TIP, P_REFUSED, P_TX, type RocksDb, blockKey, encodeTip, idKey, writeLocation,
} from '../store/store.js';
import { BlockApply, type LogEntry } from './apply.js';
import { assert } from './assert.js';
import type { Checkpoints } from './checkpoint.js';
import type { SealChunk, SealWorker } from './seal.js';
import type { BlockSink, EntryChunk } from './sequencer.js';
import type { LedgerState } from './state.js';
import type { Notice } from '../apps/clearing/state.js';

/** What a durable block is announced with (the 'block' event). */
export interface BlockEvent {
  height: number;
  hash: Uint8Array;
  /** The 160-byte header and its signature entries (n × 96 bytes). */
  header: Uint8Array;
  signatures: Uint8Array;
  count: number;
  timeMs: number;
  /** The block's records (count × 256 bytes) and result codes; do not modify. */
  records: Uint8Array;
  codes: Uint16Array;
  /** Events the applications raised in this block (clearing: queue settled/expired, rule alerts). */
  notices: Notice[];
}

export interface BlockBuilderOptions {
  state: LedgerState;
  db: RocksDb;
  chainId: number;
  alg: HashAlgorithm;
  node: Signer;
  seal: SealWorker;
  checkpoints: Checkpoints;
  /** The chain's tip when the builder starts. */
  tip: { height: number; hash: Uint8Array; header?: Uint8Array; signatures?: Uint8Array };
  sync: boolean;
  txHashIndex: boolean;
  /** Called once per durable block, in height order, after its results are released. */
  onDurable: (event: BlockEvent) => void;
}

export class BlockBuilder implements BlockSink {
  readonly #o: BlockBuilderOptions;
  /** The last block's hash once it is sealed and signed: the next header's prevHash. */
  #sealed: Promise<{ hash: Uint8Array }>;
  #writes: Promise<void> = Promise.resolve();
  #durableHeight: number;
  #lastHeader: Uint8Array | undefined;
  #lastSignatures: Uint8Array | undefined;
  #failed: Error | undefined;
  #open: BlockApply | undefined;

  constructor(o: BlockBuilderOptions) {
    this.#o = o;
    this.#sealed = Promise.resolve({ hash: o.tip.hash });
    this.#durableHeight = o.tip.height;
    this.#lastHeader = o.tip.header;
    this.#lastSignatures = o.tip.signatures;
  }

  /** The last block known synced (−1: none). */
  get durableHeight(): number {
    return this.#durableHeight;
  }

  /** The last sealed block's header and signatures (read when no seal is in flight). */
  get lastHeader(): { header: Uint8Array; signatures: Uint8Array } | undefined {
    return this.#lastHeader && { header: this.#lastHeader, signatures: this.#lastSignatures ?? new Uint8Array(0) };
  }

  /** Why the builder stopped, if it did: no later block is written or acknowledged. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  begin(height: number, timeMs: number): void {
    assert(this.#open === undefined, `block ${height} begun while block ${this.#open?.height} is open`);
    this.#open = new BlockApply(this.#o.state, height, timeMs);
  }

  apply(records: Uint8Array, count: number): Uint16Array {
    assert(this.#open !== undefined, 'a part applied with no block open');
    return this.#open.apply(records, count);
  }

  commit(entry: LogEntry, chunks: EntryChunk[]): Promise<void> {
    const block = this.#open;
    this.#open = undefined;
    assert(block !== undefined && block.height === entry.height && block.count === entry.count,
      `block ${entry.height} committed as it was not applied`);
    if (this.#failed) return Promise.reject(this.#failed);
    const { state, checkpoints } = this.#o;
    const { codes, changes, tree } = block.end();
    const notices = state.clearing.takeNotices();
    const accounts = state.accounts.count;
    const wb = new WriteBatch();
    // State entries go out with checkpoints, not with every block: a hot account is
    // written once per checkpoint, however many blocks touch it.
    checkpoints.note(changes);
    if (checkpoints.due(entry.height)) checkpoints.writeInto(wb, entry.height);
    const seal = this.#o.seal.seal({
      alg: this.#o.alg, chunks: sealChunks(entry, chunks), codes, wantHashes: this.#o.txHashIndex, tree,
    });
    const sealed = Promise.all([this.#sealed, seal]).then(([prev, r]) => {
      const header = encodeHeader({
        alg: this.#o.alg, chainId: this.#o.chainId, height: entry.height, prevHash: prev.hash, txRoot: r.txRoot,
        resultRoot: r.resultRoot, stateRoot: r.stateRoot!, timeMs: entry.timeMs, count: entry.count, accounts,
      });
      const signatures = signHeader(header, this.#o.node);
      const hash = headerHash(header);
      this.#lastHeader = header;
      this.#lastSignatures = signatures;
      this.#blockInto(wb, entry, header, signatures, hash, codes, r.hashes);
      return { hash, header, signatures };
    });
    this.#sealed = sealed;
    // A failed seal stops the builder at once, but its block still settles only after the
    // block before it: results go out strictly in order.
    sealed.catch((err: Error) => { this.#fail(`block ${entry.height} could not be sealed`, err); });
    const write = this.#writes.then(() => sealed).then(async (s) => {
      if (this.#failed) throw this.#failed;
      await this.#o.db.write(wb, this.#o.sync);
      return s;
    });
    const durable = write.then((s) => {
      this.#durableHeight = entry.height;
      this.#o.onDurable({
        ...s, height: entry.height, count: entry.count, timeMs: entry.timeMs, records: entry.records, codes, notices,
      });
    }, (err: Error) => {
      // Once a block has failed to write, no later block may be written or acknowledged:
      // the chain on disk would have a hole at the failed height.
      throw this.#fail(`block ${entry.height} could not be written`, err);
    });
    this.#writes = durable.then(() => undefined, () => undefined);
    return durable;
  }

  #fail(what: string, err: Error): Error {
    this.#failed ??= new Error(`${what}; the ledger stopped: ${err.message}`);
    return this.#failed;
  }

  /** The block, the tip, the refused-transfer locations, and (with txHashIndex) one location per record. */
  #blockInto(wb: WriteBatchType, entry: LogEntry, header: Uint8Array, signatures: Uint8Array, hash: Uint8Array,
    codes: Uint16Array, hashes: Uint8Array | undefined): void {
    const { height, records } = entry;
    wb.put(blockKey(height), encodeBlock(header, signatures, records, codes));
    wb.put(META_TIP, encodeTip(height, entry.timeMs, hash));
    if (entry.position !== undefined) {
      const v = wb.alloc(16);
      v.writeBigUInt64LE(BigInt(height), 0);
      v.writeBigUInt64LE(BigInt(entry.position), 8);
      wb.put(META_POSITION, v);
    }
    // Transfers the state machine refused are on the chain but not in the transfer table:
    // a small index keeps them findable by id. Applied transfers are never indexed here.
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] < RESULT_APPLY_MIN || records[i * RECORD_BYTES + OFF_KIND] !== Kind.transfer) continue;
      const id = records.subarray(i * RECORD_BYTES + OFF_ID, i * RECORD_BYTES + OFF_ID + 16);
      putLocation(wb, idKey(P_REFUSED, id), height, i);
    }
    if (!this.#o.txHashIndex) return;
    if (hashes === undefined || hashes.length !== codes.length * DIGEST_BYTES) {
      throw new Error(`block ${height}: tx hashes missing`);
    }
    // Keys built in the batch's scratch chunks: no allocation per record.
    for (let i = 0; i < codes.length; i++) {
      const k = wb.alloc(1 + DIGEST_BYTES);
      k[0] = P_TX;
      k.set(hashes.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), 1);
      putLocation(wb, k, height, i);
    }
  }

  /** Resolves once every committed block is durable; rejects if the builder stopped. */
  async flush(): Promise<void> {
    await this.#writes;
    if (this.#failed) throw this.#failed;
  }
}

function putLocation(wb: WriteBatchType, key: Uint8Array, height: number, index: number): void {
  const v = wb.alloc(LOCATION_BYTES);
  writeLocation(v, 0, height, index);
  wb.put(key, v);
}

/**
 * The seal's view of a block: tx hashes that admission computed (a trusted batch's vouch
 * digest is built from them) are reused; the rest are hashed with the roots, so each
 * record is hashed once either way.
 */
function sealChunks(entry: LogEntry, chunks: EntryChunk[]): SealChunk[] {
  const out: SealChunk[] = [];
  let at = 0;
  for (const c of chunks) {
    out.push(c.hashes === undefined
      ? { records: entry.records.subarray(at * RECORD_BYTES, (at + c.count) * RECORD_BYTES) }
      : { hashes: packDigests(c.hashes) });
    at += c.count;
  }
  return out;
}
