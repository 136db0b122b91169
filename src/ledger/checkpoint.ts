// Checkpoints and recovery. Blocks are durable on their own; the state entries they change
// go to the store only every `checkpointBlocks` blocks (a hot account is written once per
// checkpoint, however many blocks touch it). A start restores the state as of the last
// checkpoint (restore.ts) and replays the blocks after it through the one apply path,
// each of which must reproduce its stored results and state root.

import { type WriteBatch as WriteBatchType, WriteBatch } from '../../native/rocksdb.js';
import { decodeBlock, decodeHeader, headerHash } from '../codec/block.js';
import { ENTRY_BYTES } from '../codec/entries.js';
import { equalBytes } from '../crypto/bytes.js';
import type { HashAlgorithm } from '../crypto/hash.js';
import {
  META_TIP, P_HALT, P_KEY, P_OP, P_TRANSFER_UPDATE, type RocksDb, blockKey, decodeTip, encodeKey, encodeOp, idKey,
  indexKey,
} from '../store/store.js';
import { applyBlockNow } from './apply.js';
import { checkpointAccountsInto, checkpointTransfersInto, restoreState } from './restore.js';
import { type BlockChanges, type LedgerState, opIdOf } from './state.js';

/** State entries are checkpointed every this many blocks by default; restart replays at most that many. */
export const CHECKPOINT_BLOCKS_DEFAULT = 32;
export const CHECKPOINT_BLOCKS_MAX = 1024;

interface Dirty {
  accounts: Set<number>; transfers: Set<number>; keys: Set<number>; ops: Set<string>; halts: Set<number>;
}

const noneDirty = (): Dirty => ({
  accounts: new Set(), transfers: new Set(), keys: new Set(), ops: new Set(), halts: new Set(),
});

/** What changed since the last checkpoint, and writing it out with the next one. */
export class Checkpoints {
  readonly #state: LedgerState;
  readonly #every: number;
  #height = -1;
  #firstTransfer = 0;
  #dirty = noneDirty();

  constructor(state: LedgerState, everyBlocks: number = CHECKPOINT_BLOCKS_DEFAULT) {
    if (!Number.isSafeInteger(everyBlocks) || everyBlocks < 1 || everyBlocks > CHECKPOINT_BLOCKS_MAX) {
      throw new RangeError(
        `checkpointBlocks must be an integer in [1, ${CHECKPOINT_BLOCKS_MAX}], got ${String(everyBlocks)}`,
      );
    }
    this.#state = state;
    this.#every = everyBlocks;
  }

  /** The height of the last checkpoint (−1: none). */
  get height(): number {
    return this.#height;
  }

  /** Starts counting from a checkpoint at `height`, with the state exactly as of it. */
  resetAt(height: number): void {
    this.#height = height;
    this.#firstTransfer = this.#state.transfers.count;
    this.#dirty = noneDirty();
  }

  note(changes: BlockChanges): void {
    const d = this.#dirty;
    for (const a of changes.accounts) d.accounts.add(a);
    for (const t of changes.transfers) if (t < this.#firstTransfer) d.transfers.add(t);
    for (const k of changes.keys) d.keys.add(k);
    for (const o of changes.ops) d.ops.add(o);
    for (const l of changes.halts) d.halts.add(l);
  }

  /** A checkpoint is due with block `height`. */
  due(height: number): boolean {
    return height - this.#height >= this.#every;
  }

  /**
   * Adds every state entry changed since the last checkpoint to `wb`, with the checkpoint
   * marker for `height`; the in-memory state must be exactly the state after `height`.
   */
  writeInto(wb: WriteBatchType, height: number): void {
    const st = this.#state;
    const d = this.#dirty;
    // Transfers created since the last checkpoint are contiguous: 64 KiB values (restore.ts).
    // Older ones that changed since (post, void, expiry) are written one by one.
    checkpointTransfersInto(wb, st.transfers, this.#firstTransfer);
    for (const t of d.transfers) {
      const k = wb.alloc(5);
      k[0] = P_TRANSFER_UPDATE;
      k.writeUInt32BE(t, 1);
      const v = wb.alloc(ENTRY_BYTES);
      v.set(st.transfers.bytes.subarray(t * ENTRY_BYTES, (t + 1) * ENTRY_BYTES));
      wb.put(k, v);
    }
    for (const k of d.keys) if (k < st.keys.length) wb.put(indexKey(P_KEY, k), encodeKey(st.keys[k]));
    for (const key of d.ops) {
      const op = st.ops.get(key);
      if (op !== undefined) wb.put(idKey(P_OP, opIdOf(key)), encodeOp(op));
    }
    for (const l of d.halts) {
      const k = indexKey(P_HALT, l);
      if (st.halted.has(l)) wb.put(k, new Uint8Array([1])); else wb.del(k);
    }
    // The applications' state (src/apps): their own keys under 'Z'.
    st.clearing.checkpointInto((k, v) => wb.put(k, v), (k) => wb.del(k));
    st.toll.checkpointInto((k, v) => wb.put(k, v), (k) => wb.del(k));
    // Accounts (an image or a log value, restore.ts) and the checkpoint marker.
    checkpointAccountsInto(wb, st, d.accounts, height);
    this.resetAt(height);
  }
}

/** The chain's tip after recovery: what the block builder and the sequencer start from. */
export interface Recovered {
  height: number;
  timeMs: number;
  hash: Uint8Array;
  header?: Uint8Array;
  signatures?: Uint8Array;
}

/**
 * Brings `state` to the chain's tip: the state as of the last checkpoint, then the blocks
 * after it replayed; checkpoints the tip if anything was replayed (so the next start need
 * not replay the same blocks). Undefined if the store has no genesis block yet.
 */
export async function recover(db: RocksDb, state: LedgerState, alg: HashAlgorithm, checkpoints: Checkpoints,
  sync: boolean): Promise<Recovered | undefined> {
  const tipRaw = await db.get(META_TIP);
  if (!tipRaw) return undefined;
  const tip = decodeTip(tipRaw);
  const ck = await restoreState(db, state, alg, tip.height);
  checkpoints.resetAt(ck.height);
  let last = { hash: ck.prevHash, timeMs: ck.prevTime, header: ck.lastHeader, signatures: ck.lastSignatures };
  for (let height = ck.height + 1; height <= tip.height; height++) {
    const v = await db.get(blockKey(height));
    if (!v) throw new Error(`block ${height} is missing`);
    const b = decodeBlock(v);
    const h = decodeHeader(b.header);
    if (!equalBytes(h.prevHash, last.hash)) throw new Error(`block ${height} does not link to block ${height - 1}`);
    const { codes, changes, stateRoot } = applyBlockNow(
      state, { height, timeMs: h.timeMs, records: b.records, count: b.count },
    );
    for (let i = 0; i < b.count; i++) {
      if (codes[i] !== b.codes[i]) {
        throw new Error(`replay of block ${height} gives a different result for record ${i}`);
      }
    }
    if (!equalBytes(stateRoot, h.stateRoot)) throw new Error(`replay of block ${height} gives a different state root`);
    checkpoints.note(changes);
    last = { hash: headerHash(b.header), timeMs: h.timeMs, header: b.header.slice(), signatures: b.signatures.slice() };
  }
  if (!equalBytes(last.hash, tip.hash)) throw new Error('tip hash does not match the tip block');
  if (tip.height > ck.height) {
    const wb = new WriteBatch();
    checkpoints.writeInto(wb, tip.height);
    await db.write(wb, sync);
  }
  return { height: tip.height, timeMs: tip.timeMs, hash: tip.hash, header: last.header, signatures: last.signatures };
}
