// The one apply path. A block — height, time, records — is applied to the state machine
// here and nowhere else: by the live ledger when its sequencer cuts a block, by a restart
// replaying the blocks after the last checkpoint, by `gmledger verify` replaying a whole
// chain, and by any follower of a replicated log. So they cannot disagree.

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
 * Applies `entry` to `state`, which must be the state after block `entry.height − 1` at a
 * time ≤ `entry.timeMs`. Deterministic: it depends only on the state and the entry.
 */
export function applyBlock(state: LedgerState, entry: LogEntry): AppliedBlock {
  const { height, timeMs, records, count } = entry;
  assert(Number.isSafeInteger(height) && height === state.height + 1,
    `block ${height} applied after block ${state.height}`);
  assert(Number.isSafeInteger(timeMs) && timeMs >= state.timeMs,
    `block ${height}: time ${timeMs} before ${state.timeMs}`);
  assert(count >= 1 && records.length >= count * RECORD_BYTES,
    `block ${height}: ${count} records in ${records.length} bytes`);
  assert((u16(records, (count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) === 0,
    `block ${height} ends inside a linked chain`);
  state.beginBlock(height, timeMs);
  const codes = new Uint16Array(count);
  state.applyBatch(records, 0, count, codes, 0, 0);
  const { changes, tree } = state.endBlockDeferred();
  return { codes, changes, tree };
}

/** applyBlock, then the tree update here and now: for replay, where no seal worker owns the tree. */
export function applyBlockNow(state: LedgerState, entry: LogEntry): AppliedBlock & { stateRoot: Uint8Array } {
  const applied = applyBlock(state, entry);
  state.tree.updatePacked(applied.tree.size, applied.tree.dirty, applied.tree.leaves);
  return { ...applied, stateRoot: state.tree.root() };
}
