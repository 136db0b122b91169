// The one apply path. A block — height, time, records — is applied to the state machine
// here and nowhere else: by the live ledger as its sequencer orders each batch, by a
// restart replaying the blocks after the last checkpoint, by `gmledger verify` replaying a
// whole chain, and by any follower of a replicated log. So they cannot disagree.

import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES, u16 } from '../codec/record.js';
import { assert } from './assert.js';
import type { BlockChanges, LedgerState, StateTreeUpdate } from './state.js';

/** A block as a sequencer's log hands it to apply: where it goes, when, and what it holds. */
export interface LogEntry {
  height: number;
  timeMs: number;
  /** count × 256 bytes; every linked chain closes inside the block. */
  records: Uint8Array;
  count: number;
  /**
   * A replicated sequencer's position: the stream sequence the next block starts at. Stored
   * with the block, so a restart resumes there instead of replaying the stream.
   */
  position?: number;
}

export interface AppliedBlock {
  /** One result code per record (0 ok, ≥ 32 the state machine's refusal). */
  codes: Uint16Array;
  /** What the block changed, for checkpoints. */
  changes: BlockChanges;
  /** The state-tree update that gives the block's state root (applied by its owner, in order). */
  tree: StateTreeUpdate;
}

/**
 * One block being applied, part by part: a block is the concatenation of its parts, and
 * applying the parts in order is applying the block, because every part closes its linked
 * chains (asserted). The live ledger applies each admitted batch as it is ordered (so the
 * state, and the admission of the next batch, see it at once); replay and verify apply a
 * stored block as one part (applyBlock). Either way it is this code.
 */
export class BlockApply {
  readonly height: number;
  readonly #state: LedgerState;
  #codes = new Uint16Array(64);
  #count = 0;
  #ended = false;

  /** Begins block `height` at `timeMs` on `state`, the state after block height − 1 at a time ≤ timeMs. */
  constructor(state: LedgerState, height: number, timeMs: number) {
    assert(Number.isSafeInteger(height) && height === state.height + 1,
      `block ${height} applied after block ${state.height}`);
    assert(Number.isSafeInteger(timeMs) && timeMs >= state.timeMs,
      `block ${height}: time ${timeMs} before ${state.timeMs}`);
    this.height = height;
    this.#state = state;
    state.beginBlock(height, timeMs);
  }

  /** Records applied so far. */
  get count(): number {
    return this.#count;
  }

  /** Applies the next `count` records (one part); returns their result codes (a view, valid until the block ends). */
  apply(records: Uint8Array, count: number): Uint16Array {
    assert(!this.#ended, `block ${this.height}: a part applied after the block ended`);
    assert(count >= 1 && records.length >= count * RECORD_BYTES,
      `block ${this.height}: ${count} records in ${records.length} bytes`);
    assert((u16(records, (count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) === 0,
      `block ${this.height}: a part ends inside a linked chain`);
    const first = this.#count;
    if (this.#codes.length < first + count) {
      const grown = new Uint16Array(Math.max(first + count, this.#codes.length * 2));
      grown.set(this.#codes.subarray(0, first));
      this.#codes = grown;
    }
    this.#state.applyBatch(records, 0, count, this.#codes, first, first);
    this.#count += count;
    return this.#codes.subarray(first, first + count);
  }

  /** Ends the block: every record's code, what changed, and the state-tree update. */
  end(): AppliedBlock {
    // Empty blocks exist only in a consortium: the stream cut one whose every batch was refused.
    assert(!this.#ended, `block ${this.height}: ended twice`);
    this.#ended = true;
    const { changes, tree } = this.#state.endBlockDeferred();
    return { codes: this.#codes.slice(0, this.#count), changes, tree };
  }
}

/**
 * Applies `entry` to `state`, which must be the state after block `entry.height − 1` at a
 * time ≤ `entry.timeMs`. Deterministic: it depends only on the state and the entry.
 */
export function applyBlock(state: LedgerState, entry: LogEntry): AppliedBlock {
  const block = new BlockApply(state, entry.height, entry.timeMs);
  if (entry.count > 0) block.apply(entry.records, entry.count);
  return block.end();
}

/** applyBlock, then the tree update here and now: for replay, where no seal worker owns the tree. */
export function applyBlockNow(state: LedgerState, entry: LogEntry): AppliedBlock & { stateRoot: Uint8Array } {
  const applied = applyBlock(state, entry);
  state.tree.updatePacked(applied.tree.size, applied.tree.dirty, applied.tree.leaves);
  return { ...applied, stateRoot: state.tree.root() };
}
