// Start-up restore of the ledger state from the store, and the account part of every
// checkpoint (docs/storage.md, "Accounts"; docs/benchmarks.md, "Reopen").
//
// Restore reads each kind of state entry as one key range, a native read of up to 4 MiB at
// a time with the next one already under way (RocksDb.rangeBatches), into tables reserved
// once from the counts in the checkpoint marker; then builds the id indexes and the state
// tree in one pass each, and checks the tree's root against the checkpoint block's header.
//
// Accounts are stored in large values, not one key each: the addon hands every value over
// as its own Buffer (≈ 2 µs of main-thread time apiece), which alone made a million
// single-key accounts take seconds to read. A checkpoint writes either
//   - the image: 'I' ‖ first index → CHUNK_ENTRIES entries end to end, rewriting only
//     the chunks holding accounts changed since the previous image, and deleting the log;
//   - or a log value: 'D' ‖ height ‖ part → the accounts changed since the last
//     checkpoint (indexes ‖ entries, LOG_PART_ENTRIES a part), applied over the image in
//     key order on start.
// The image is rewritten once more than half the accounts have changed since the last
// one; the log is merged into one value (the current entries of every account it holds)
// once it holds more than twice as many entries as accounts, or LOG_VALUES_MAX values. So
// a start reads at most about two account tables' worth. Every value is at most 64 KiB
// (store.ts, CHUNK_ENTRIES: why).
//
// Transfers created since the last checkpoint are written the same way as the image,
// 'P' ‖ first index → CHUNK_ENTRIES entries (checkpointTransfersInto).

import { equalBytes } from '../crypto/bytes.js';
import { DIGEST_BYTES, type HashAlgorithm, hashBatch } from '../crypto/hash.js';
import { decodeBlock, decodeHeader, headerHash } from '../codec/block.js';
import {
  CHUNK_ENTRIES, type Checkpoint, META_CHECKPOINT, P_ACCOUNT, P_ACCOUNT_IMAGE, P_ACCOUNT_LOG, P_APP, P_HALT, P_KEY,
  P_OP, P_TRANSFER, P_TRANSFER_UPDATE, type RocksDb, WriteBatch, blockKey, decodeCheckpoint, decodeKey, decodeOp,
  encodeCheckpoint, heightKey, readBe32, readBe64,
} from '../store/store.js';
import { type LedgerState, opKeyOf } from './state.js';
import { ENTRY_BYTES, ENTRY_WORDS, Slab } from './tables.js';
import { type StateTree, hashLeafRange, hashNodeRange } from './statetree.js';
import { CTL_FAILED, CTL_HASHED, CTL_LEVELS, TREE_HELPER_FLAG, type TreeHelperRequest } from './restore-worker.js';
import { workerExecArgv } from '../pool/exec-argv.js';
import { Worker } from 'node:worker_threads';

/** Bytes per native read of a bulk range. */
const BULK_READ_BYTES = 4 << 20;
/** Log values (checkpoints) before the log is merged into one. */
export const LOG_VALUES_MAX = 128;
/** Bytes per log entry: index u32 LE + the entry. */
const LOG_ENTRY_BYTES = 4 + ENTRY_BYTES;
/** Entries per part of a log value (≤ 64 KiB a part). */
const LOG_PART_ENTRIES = Math.floor(65536 / LOG_ENTRY_BYTES);

/** Where the last restore in this thread spent its time (ms), for the benchmark. */
export interface RestoreStats {
  accounts: number;
  transfers: number;
  format: 0 | 1 | 2;
  /** Reading the checkpoint marker, the keys, ops and halts. */
  metaMs: number;
  /** Reading the accounts (image and log) into the slab. */
  accountsMs: number;
  imageValues: number;
  logValues: number;
  logEntries: number;
  /** Reading the transfers ('P' chunks, then 'Q' updates) into the slab. */
  transfersMs: number;
  transferUpdates: number;
  /** Building both id indexes and the expiry heap. */
  indexMs: number;
  /** Building the state tree and checking its root. */
  treeMs: number;
  /** Threads that built it, and how long this thread waited for the helper. */
  treeThreads: number;
  treeWaitMs: number;
  /** Format 1 store: writing the image and clearing the old account keys. */
  migrateMs: number;
  totalMs: number;
}
export let lastRestoreStats: RestoreStats | undefined;

/** What Ledger.#load goes on from: the checkpoint block, or none (-1). */
export interface Restored {
  height: number;
  /** Header hash and time of the checkpoint block (zeros, 0 with none). */
  prevHash: Uint8Array;
  prevTime: number;
  lastHeader: Uint8Array | undefined;
  lastSignatures: Uint8Array | undefined;
}

// -----------------------------------------------------------------------------------------
// The account log's bookkeeping, one per LedgerState (the ledger's checkpoints go on from
// what the restore found).

class AccountLog {
  /** Accounts [0, imageAccounts) are under 'I'. */
  imageAccounts = 0;
  /**
   * The 'D' keys since the image, oldest first, the checkpoints they are from, and the
   * entries in them.
   */
  keys: Uint8Array[] = [];
  values = 0;
  entries = 0;
  /** One bit per account: in the log (changed since the image). */
  bits = new Uint8Array(0);
  distinct = 0;
  /** Format 1 store just read: the next checkpoint writes the whole image. */
  wholeImage = false;

  /** Marks account i as in the log; true if it was not. */
  mark(i: number): boolean {
    const byte = i >>> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.bits.length * 2, 1024));
      next.set(this.bits);
      this.bits = next;
    }
    const m = 1 << (i & 7);
    if ((this.bits[byte] & m) !== 0) return false;
    this.bits[byte] |= m;
    this.distinct++;
    return true;
  }

  has(i: number): boolean {
    return ((this.bits[i >>> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }

  /** True if any account in [from, to) is in the log. */
  any(from: number, to: number): boolean {
    for (let i = from; i < to && (i & 7) !== 0; i++) if (this.has(i)) return true;
    const end = Math.min(to >>> 3, this.bits.length);
    for (let b = (from + 7) >>> 3; b < end; b++) if (this.bits[b] !== 0) return true;
    for (let i = Math.max(from, to & ~7); i < to; i++) if (this.has(i)) return true;
    return false;
  }

  /** The accounts in the log, in index order. */
  list(): Int32Array {
    const out = new Int32Array(this.distinct);
    let n = 0;
    for (let b = 0; b < this.bits.length; b++) {
      const v = this.bits[b];
      if (v === 0) continue;
      for (let k = 0; k < 8; k++) if (v & (1 << k)) out[n++] = b * 8 + k;
    }
    return out;
  }

  clear(): void {
    this.bits.fill(0);
    this.distinct = 0;
    this.keys = [];
    this.values = 0;
    this.entries = 0;
  }
}

const logs = new WeakMap<LedgerState, AccountLog>();

function logOf(state: LedgerState): AccountLog {
  let log = logs.get(state);
  if (!log) { log = new AccountLog(); logs.set(state, log); }
  return log;
}

// -----------------------------------------------------------------------------------------
// Checkpoint.

/**
 * Adds the account part of a checkpoint at `height` and the checkpoint marker to `wb`:
 * `dirty` are the accounts changed since the previous checkpoint (every account created
 * since is among them). The state must be exactly the state after block `height`.
 * Everything is copied into `wb` (it is written later, while the state moves on).
 */
export function checkpointAccountsInto(
  wb: WriteBatch, state: LedgerState, dirty: Iterable<number>, height: number,
): void {
  const log = logOf(state);
  const n = state.accounts.count;
  const bytes = state.accounts.bytes;
  // `dirty` holds no repeats (a Set, or nothing): sort and mark.
  const changed: number[] = [];
  for (const a of dirty) if (a < n) changed.push(a);
  const list = Int32Array.from(changed).sort();
  for (let k = 0; k < list.length; k++) log.mark(list[k]);
  if (log.wholeImage || 2 * log.distinct > n) {
    // The image: the chunks holding any account changed since the last one (all after a
    // format 1 store), and the log is dropped.
    for (const k of log.keys) wb.del(k);
    for (let first = 0; first < n; first += CHUNK_ENTRIES) {
      const end = Math.min(n, first + CHUNK_ENTRIES);
      if (!log.wholeImage && end <= log.imageAccounts && !log.any(first, end)) continue;
      const k = wb.alloc(5);
      k[0] = P_ACCOUNT_IMAGE;
      k.writeUInt32BE(first, 1);
      const v = wb.alloc((end - first) * ENTRY_BYTES);
      v.set(bytes.subarray(first * ENTRY_BYTES, end * ENTRY_BYTES));
      wb.put(k, v);
    }
    log.clear();
    log.imageAccounts = n;
    log.wholeImage = false;
  } else if (list.length > 0) {
    // A log value; or, when the log has grown large, all of it merged into one.
    const merge = log.values + 1 > LOG_VALUES_MAX || log.entries + list.length > 2 * log.distinct;
    const entries = merge ? log.list() : list;
    if (merge) { for (const k of log.keys) wb.del(k); log.keys = []; log.values = 0; log.entries = 0; }
    for (let from = 0, part = 0; from < entries.length; from += LOG_PART_ENTRIES, part++) {
      const m = Math.min(LOG_PART_ENTRIES, entries.length - from);
      const k = wb.alloc(13);
      k.set(heightKey(P_ACCOUNT_LOG, height));
      k.writeUInt32BE(part, 9);
      const v = wb.alloc(m * LOG_ENTRY_BYTES);
      for (let j = 0; j < m; j++) {
        const a = entries[from + j];
        v.writeUInt32LE(a, 4 * j);
        v.set(bytes.subarray(a * ENTRY_BYTES, (a + 1) * ENTRY_BYTES), 4 * m + j * ENTRY_BYTES);
      }
      wb.put(k, v);
      // A copy: `k` lies in the batch's scratch chunk, which a view would keep alive.
      log.keys.push(Uint8Array.from(k));
    }
    log.values++;
    log.entries += entries.length;
  }
  wb.put(META_CHECKPOINT, encodeCheckpoint(height, {
    accounts: n, transfers: state.transfers.count, keys: state.keys.length, imageAccounts: log.imageAccounts,
    logEntries: log.entries,
  }));
}

/**
 * Adds the transfers created since the previous checkpoint, [first, count), to `wb` as
 * 'P' values of CHUNK_ENTRIES entries (copied: `wb` is written later).
 */
export function checkpointTransfersInto(wb: WriteBatch, slab: Slab, first: number): void {
  for (let from = first; from < slab.count; from += CHUNK_ENTRIES) {
    const end = Math.min(slab.count, from + CHUNK_ENTRIES);
    const k = wb.alloc(5);
    k[0] = P_TRANSFER;
    k.writeUInt32BE(from, 1);
    const v = wb.alloc((end - from) * ENTRY_BYTES);
    v.set(slab.bytes.subarray(from * ENTRY_BYTES, end * ENTRY_BYTES));
    wb.put(k, v);
  }
}

// -----------------------------------------------------------------------------------------
// The state tree on two threads.

/** Trees of at least this many accounts are built with a helper thread. */
export const PARALLEL_TREE_MIN = 1 << 16;
/**
 * The helper's leaves are a multiple of 2^SPLIT_LEVELS: it builds that many levels above
 * them alone.
 */
const SPLIT_LEVELS = 10;
/**
 * The helper's share of the leaves (this thread also copies its chunks and builds the id
 * indexes; measured at 10,000,000 accounts: half is even).
 */
const HELPER_SHARE = 0.5;
/**
 * Leaves per chunk handed to the helper (copied: the slab is not shared), and chunks in
 * flight at most.
 */
const HELPER_CHUNK = 16384;
const HELPER_WINDOW = 4;
/** Leaves the main thread hashes between looks at the helper's progress. */
const OWN_STEP = 8192;
/**
 * No progress from the helper for this long: it is given up on, and the tree built on one
 * thread.
 */
const HELPER_STALL_MS = 10_000;

/** Atomics.waitAsync (Node ≥ 16; not in TypeScript's ES2022 lib). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

/**
 * A worker thread that hashes the first half of the state tree's leaves, and the levels
 * above them, while the main thread hashes the second half (restore-worker.ts). Started
 * when a restore begins, so it has loaded by the time the tree is built.
 */
class TreeHelper {
  readonly #worker: Worker;
  readonly ready: Promise<boolean>;
  #failed = false;

  constructor() {
    this.#worker = new Worker(new URL('./restore-worker.js', import.meta.url), {
      execArgv: workerExecArgv(), workerData: { [TREE_HELPER_FLAG]: true },
    });
    // Referenced (not unref'd) for its short life: a wait on its progress (Atomics.waitAsync)
    // does not keep the event loop alive by itself. close() ends it.
    this.ready = new Promise<boolean>((resolve) => {
      this.#worker.once('message', () => resolve(true));
      this.#worker.once('error', () => { this.#failed = true; resolve(false); });
      this.#worker.once('exit', () => { this.#failed = true; resolve(false); });
    });
    // A helper that fails to start costs nothing but the single-threaded build.
    this.#worker.on('error', () => { this.#failed = true; });
  }

  post(m: TreeHelperRequest, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  /**
   * Waits until control word `word` is no longer `value` (or the helper failed or stalled);
   * false if it failed.
   */
  async until(control: Int32Array, word: number, value: number): Promise<boolean> {
    const started = performance.now();
    while (Atomics.load(control, word) === value) {
      if (this.#failed || Atomics.load(control, CTL_FAILED) !== 0 || performance.now() - started > HELPER_STALL_MS) {
        return false;
      }
      const w = waitAsync(control, word, value, 100);
      if (w.async) await w.value;
    }
    return !this.#failed && Atomics.load(control, CTL_FAILED) === 0;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * Builds `tree` over leaves [0, size) of the account slab `words`, on two threads when
 * `helper` has started (else, or if it fails, on this one), and runs `meanwhile` (once,
 * with a tick to call now and then that keeps the helper fed) while the helper works. The
 * helper gets leaves [0, split) — copied in chunks, a few in flight — and builds levels
 * 1..SPLIT_LEVELS above them; this thread hashes [split, size) and its levels meanwhile,
 * then the levels above. Returns true if the helper did its part.
 */
async function buildTree(
  tree: StateTree, alg: HashAlgorithm, size: number, words: Uint32Array, helper: TreeHelper | undefined,
  meanwhile: (tick?: () => void) => void, stats: RestoreStats,
): Promise<boolean> {
  if (!helper || size < PARALLEL_TREE_MIN || !(await helper.ready)) {
    meanwhile();
    tree.rebuild(size, words);
    return false;
  }
  const unit = 1 << SPLIT_LEVELS;
  const split = Math.floor(size * HELPER_SHARE / unit) * unit;
  const refs = tree.resetLevels(size);
  const levels = refs.levels.map((b) => new Uint8Array(b));
  const counts = refs.counts;
  const bytes = new Uint8Array(words.buffer, words.byteOffset, size * ENTRY_BYTES);
  const control = new Int32Array(new SharedArrayBuffer(16));
  helper.post({
    begin: { alg, leafBytes: ENTRY_BYTES, levels: refs.levels, counts, control: control.buffer as SharedArrayBuffer },
  });
  let sent = 0;
  const feed = (): void => {
    while (sent < split && sent - Atomics.load(control, CTL_HASHED) < HELPER_CHUNK * HELPER_WINDOW) {
      const end = Math.min(split, sent + HELPER_CHUNK);
      const chunk = bytes.slice(sent * ENTRY_BYTES, end * ENTRY_BYTES);
      helper.post({ leaves: chunk.buffer, at: sent }, [chunk.buffer]);
      sent = end;
    }
  };
  let ok = true;
  for (let own = split; own < size; own += OWN_STEP) {
    feed();
    const leaves = bytes.subarray(own * ENTRY_BYTES, Math.min(size, own + OWN_STEP) * ENTRY_BYTES);
    hashLeafRange(alg, ENTRY_BYTES, leaves, levels[0], own);
  }
  meanwhile(feed);
  let waited = performance.now();
  for (;;) {
    feed();
    const done = Atomics.load(control, CTL_HASHED);
    if (done >= split) break;
    if (!(ok = await helper.until(control, CTL_HASHED, done))) break;
  }
  stats.treeWaitMs = performance.now() - waited;
  if (ok) {
    helper.post({ levels: { split, upTo: SPLIT_LEVELS } });
    for (let k = 0; k < SPLIT_LEVELS && counts[k] > 1; k++) {
      hashNodeRange(alg, levels[k], counts[k], levels[k + 1], split >> (k + 1), counts[k + 1]);
    }
    waited = performance.now();
    ok = await helper.until(control, CTL_LEVELS, 0);
    stats.treeWaitMs += performance.now() - waited;
  }
  if (!ok) { tree.rebuild(size, words); return false; }
  for (let k = SPLIT_LEVELS; counts[k] > 1; k++) {
    hashNodeRange(alg, levels[k], counts[k], levels[k + 1], 0, counts[k + 1]);
  }
  return true;
}

// -----------------------------------------------------------------------------------------
// Restore.

const range = (prefix: number): { gte: Uint8Array; lt: Uint8Array } => ({
  gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]),
});
const bulk = (prefix: number) => ({ ...range(prefix), batchBytes: BULK_READ_BYTES, fillCache: false });

async function isEmpty(db: RocksDb, prefix: number): Promise<boolean> {
  for await (const _ of db.rangeBatches({ ...range(prefix), limit: 1 })) return false;
  return true;
}

/**
 * Reads the stored accounts into `slab` (empty) and `log`: the image and the log (format
 * 2, `ck`), or one key per account (format 1 or no marker). Checks that they are complete.
 */
async function readAccounts(
  db: RocksDb, slab: Slab, log: AccountLog, ck: Checkpoint | undefined, stats: RestoreStats,
): Promise<void> {
  if (!ck || ck.format === 1) {
    await readAccountKeys(db, slab, log, ck);
    return;
  }
  const n = ck.accounts;
  slab.reserve(n);
  const image = await readAccountImage(db, slab, ck, stats);
  log.imageAccounts = image;
  await readAccountLog(db, slab, log, ck, stats);
  stats.logEntries = log.entries;
  if (log.entries !== ck.logEntries) {
    throw new Error(`the account log holds ${log.entries} entries, the checkpoint says ${ck.logEntries}`);
  }
  for (let i = image; i < n; i++) if (!log.has(i)) throw new Error(`account ${i} is in neither the image nor the log`);
  slab.setCount(n);
}

/** Format 1 (or no marker): 'A' ‖ index → one entry. */
async function readAccountKeys(db: RocksDb, slab: Slab, log: AccountLog, ck: Checkpoint | undefined): Promise<void> {
  for await (const b of db.rangeBatches(bulk(P_ACCOUNT))) {
    for (let i = 0; i < b.keys.length; i++) {
      const idx = readBe32(b.keys[i], 1);
      if (idx !== slab.count || b.values[i].length !== ENTRY_BYTES) {
        throw new Error(`account entry ${idx} is out of place`);
      }
      if (slab.count === slab.capacity) slab.reserve(Math.max(1024, Math.ceil(slab.capacity * 1.5)));
      slab.bytes.set(b.values[i], slab.count * ENTRY_BYTES);
      slab.setCount(slab.count + 1);
    }
  }
  if (!ck && !(await isEmpty(db, P_ACCOUNT_IMAGE) && await isEmpty(db, P_ACCOUNT_LOG))) {
    throw new Error('account entries without a checkpoint');
  }
  log.wholeImage = ck !== undefined;
}

/** The 'I' chunks into `slab` (reserved): the accounts in the image, which must be ck.imageAccounts. */
async function readAccountImage(db: RocksDb, slab: Slab, ck: Checkpoint, stats: RestoreStats): Promise<number> {
  const n = ck.accounts;
  let image = 0;
  for await (const b of db.rangeBatches(bulk(P_ACCOUNT_IMAGE))) {
    for (let i = 0; i < b.keys.length; i++) {
      const v = b.values[i];
      const m = v.length / ENTRY_BYTES;
      if (readBe32(b.keys[i], 1) !== image || !Number.isInteger(m) || image + m > ck.imageAccounts) {
        throw new Error(`account image chunk at ${readBe32(b.keys[i], 1)} is out of place`);
      }
      slab.bytes.set(v, image * ENTRY_BYTES);
      image += m;
      stats.imageValues++;
    }
  }
  if (image !== ck.imageAccounts || image > n) {
    throw new Error(`the account image holds ${image} accounts, the checkpoint says ${ck.imageAccounts}`);
  }
  return image;
}

/** The 'D' values over the image in `slab`, marking their accounts in `log`. */
async function readAccountLog(
  db: RocksDb, slab: Slab, log: AccountLog, ck: Checkpoint, stats: RestoreStats,
): Promise<void> {
  const n = ck.accounts;
  for await (const b of db.rangeBatches(bulk(P_ACCOUNT_LOG))) {
    for (let i = 0; i < b.keys.length; i++) {
      const k = b.keys[i], v = b.values[i];
      const m = v.length / LOG_ENTRY_BYTES;
      if (k.length !== 13 || readBe64(k, 1) > ck.height || !Number.isInteger(m) || m === 0) {
        throw new Error('account log value out of place');
      }
      if (readBe32(k, 9) === 0) log.values++;
      // Word by word: no view per entry. (The addon's values are their own allocations, so
      // aligned; a copy otherwise.)
      const vw = (v.byteOffset & 3) === 0
        ? new Uint32Array(v.buffer, v.byteOffset, v.length >> 2)
        : new Uint32Array(v.slice().buffer);
      const sw = slab.words;
      for (let j = 0, from = m; j < m; j++, from += ENTRY_WORDS) {
        const idx = vw[j];
        if (idx >= n) throw new Error(`account log entry ${idx} is past the ${n} accounts`);
        const to = idx * ENTRY_WORDS;
        for (let w = 0; w < ENTRY_WORDS; w++) sw[to + w] = vw[from + w];
        log.mark(idx);
      }
      log.keys.push(k);
      log.entries += m;
      stats.logValues++;
    }
  }
}

/** Reads the 'P' chunks and the 'Q' updates into `slab` (empty). */
async function readTransfers(
  db: RocksDb, slab: Slab, ck: Checkpoint | undefined, stats: RestoreStats,
): Promise<void> {
  const expect = ck?.format === 2 ? ck.transfers : -1;
  if (expect >= 0) slab.reserve(expect);
  let count = 0;
  for await (const b of db.rangeBatches(bulk(P_TRANSFER))) {
    for (let i = 0; i < b.keys.length; i++) {
      const v = b.values[i];
      const m = v.length / ENTRY_BYTES;
      if (readBe32(b.keys[i], 1) !== count || !Number.isInteger(m) || (expect >= 0 && count + m > expect)) {
        throw new Error('transfer entries are not contiguous');
      }
      if (count + m > slab.capacity) slab.reserve(Math.max(count + m, Math.ceil(slab.capacity * 1.5)));
      slab.bytes.set(v, count * ENTRY_BYTES);
      count += m;
    }
  }
  if (expect >= 0 && count !== expect) {
    throw new Error(`the store holds ${count} transfers, the checkpoint says ${expect}`);
  }
  slab.setCount(count);
  for await (const b of db.rangeBatches({ ...bulk(P_TRANSFER_UPDATE), batchBytes: 1 << 20 })) {
    for (let i = 0; i < b.keys.length; i++) {
      const idx = readBe32(b.keys[i], 1);
      if (idx >= count || b.values[i].length !== ENTRY_BYTES) throw new Error(`transfer update ${idx} has no entry`);
      slab.bytes.set(b.values[i], idx * ENTRY_BYTES);
      stats.transferUpdates++;
    }
  }
}

/**
 * Loads the state as of the checkpoint into `state` (new, empty): keys, accounts,
 * transfers, ops and halts; then the id indexes, the expiry queue and the state tree,
 * whose root must be the checkpoint block's state root. A format 1 store is rewritten in
 * format 2 (the account image, one synced batch) before this returns. `tipHeight`: the
 * store's tip (the checkpoint may not be past it).
 */
export async function restoreState(
  db: RocksDb, state: LedgerState, alg: HashAlgorithm, tipHeight: number,
): Promise<Restored> {
  const t0 = performance.now();
  const stats: RestoreStats = {
    accounts: 0, transfers: 0, format: 0, metaMs: 0, accountsMs: 0, imageValues: 0, logValues: 0, logEntries: 0,
    transfersMs: 0, transferUpdates: 0, indexMs: 0, treeMs: 0, treeThreads: 0, treeWaitMs: 0, migrateMs: 0, totalMs: 0,
  };
  lastRestoreStats = undefined;
  const ckRaw = await db.get(META_CHECKPOINT);
  const ck = ckRaw ? decodeCheckpoint(ckRaw) : undefined;
  if (ck && ck.height > tipHeight) throw new Error(`checkpoint ${ck.height} is past the tip ${tipHeight}`);
  stats.format = ck?.format ?? 0;
  // The tree's helper thread loads while the entries are read.
  let helper: TreeHelper | undefined;
  try {
    if (ck && (ck.format === 1 || ck.accounts >= PARALLEL_TREE_MIN)) helper = new TreeHelper();
  } catch {
    helper = undefined;
  }
  try {
    return await restoreWith(db, state, alg, ck, stats, t0, helper);
  } finally {
    await helper?.close();
  }
}

/** Keys, ops and halts: few, one key each. */
async function readMeta(
  db: RocksDb, state: LedgerState, alg: HashAlgorithm, ck: Checkpoint | undefined,
): Promise<void> {
  const keyRows: [number, Uint8Array][] = [];
  for await (const b of db.rangeBatches(range(P_KEY))) {
    for (let i = 0; i < b.keys.length; i++) keyRows.push([readBe32(b.keys[i], 1), b.values[i]]);
  }
  const keyIds = hashBatch(keyRows.map(([, v]) => v.subarray(0, 65)), alg);
  for (let i = 0; i < keyRows.length; i++) state.restoreKey(decodeKey(keyRows[i][0], keyRows[i][1], keyIds[i]));
  if (ck?.format === 2 && state.keys.length !== ck.keys) {
    throw new Error(`the store holds ${state.keys.length} keys, the checkpoint says ${ck.keys}`);
  }
  for await (const b of db.rangeBatches(range(P_OP))) {
    for (let i = 0; i < b.keys.length; i++) state.ops.set(opKeyOf(b.keys[i], 1), decodeOp(b.values[i]));
  }
  for await (const b of db.rangeBatches(range(P_HALT))) for (const k of b.keys) state.halted.add(readBe32(k, 1));
  // The applications' entries (few): taken in at finishRestore, once the accounts are.
  for await (const b of db.rangeBatches(range(P_APP))) {
    for (let i = 0; i < b.keys.length; i++) state.restoreApp(b.keys[i].slice(), b.values[i].slice());
  }
}

async function restoreWith(
  db: RocksDb, state: LedgerState, alg: HashAlgorithm, ck: Checkpoint | undefined, stats: RestoreStats,
  t0: number, helper: TreeHelper | undefined,
): Promise<Restored> {
  await readMeta(db, state, alg, ck);
  const t1 = performance.now();
  stats.metaMs = t1 - t0;
  // Accounts and transfers, the two large tables, read side by side: while this thread
  // copies a batch of one, libuv threads read the next batches of both.
  const log = logOf(state);
  await Promise.all([
    readAccounts(db, state.accounts, log, ck, stats).then(() => { stats.accountsMs = performance.now() - t1; }),
    readTransfers(db, state.transfers, ck, stats).then(() => { stats.transfersMs = performance.now() - t1; }),
  ]);
  const t2 = performance.now();
  stats.accounts = state.accounts.count;
  stats.transfers = state.transfers.count;
  // The id indexes and the expiry queue: built by this thread while the tree's helper
  // hashes its share (IdIndex.rebuild: one pass, in slot order).
  const index = (tick?: () => void): void => {
    const t = performance.now();
    state.restoreEntries(tick);
    stats.indexMs = performance.now() - t;
  };
  const out: Restored = {
    height: -1, prevHash: new Uint8Array(DIGEST_BYTES), prevTime: 0, lastHeader: undefined, lastSignatures: undefined,
  };
  if (ck) {
    Object.assign(out, await restoreTree(db, state, alg, ck, helper, index, stats, t2));
    await clearAccountKeys(db, state, ck, stats);
  } else if (state.accounts.count + state.transfers.count + state.keys.length > 0) {
    throw new Error('state entries without a checkpoint');
  } else {
    index();
  }
  stats.totalMs = performance.now() - t0;
  lastRestoreStats = stats;
  return out;
}

/**
 * Builds the state tree (running `index` meanwhile) and checks its root against the
 * checkpoint block's header; returns what the ledger goes on from.
 */
async function restoreTree(
  db: RocksDb, state: LedgerState, alg: HashAlgorithm, ck: Checkpoint, helper: TreeHelper | undefined,
  index: (tick?: () => void) => void, stats: RestoreStats, t2: number,
): Promise<Restored> {
  const v = await db.get(blockKey(ck.height));
  if (!v) throw new Error(`checkpoint block ${ck.height} is missing`);
  const { header, signatures } = decodeBlock(v);
  const h = decodeHeader(header);
  const accounts = state.accounts;
  const parallel = await buildTree(state.tree, alg, accounts.count, accounts.words, helper, index, stats);
  stats.treeThreads = parallel ? 2 : 1;
  state.finishRestore(ck.height, h.timeMs, true);
  if (!equalBytes(h.stateRoot, state.tree.root())) {
    throw new Error(`state loaded from the store does not match block ${ck.height}'s state root`);
  }
  stats.treeMs = performance.now() - t2 - stats.indexMs;
  return {
    height: ck.height, prevHash: headerHash(header), prevTime: h.timeMs, lastHeader: header.slice(),
    lastSignatures: signatures.slice(),
  };
}

/** Drops the format 1 account keys, first writing the image a format 1 store lacks. */
async function clearAccountKeys(db: RocksDb, state: LedgerState, ck: Checkpoint, stats: RestoreStats): Promise<void> {
  if (ck.format === 1) {
    // Format 1 → 2: the account image and a format 2 marker, at the same height, in one
    // synced batch; then the old account keys go (a format 2 start clears any left).
    const t5 = performance.now();
    const wb = new WriteBatch();
    checkpointAccountsInto(wb, state, [], ck.height);
    await db.write(wb, true);
    await db.clear(range(P_ACCOUNT));
    stats.migrateMs = performance.now() - t5;
  } else if (!(await isEmpty(db, P_ACCOUNT))) {
    await db.clear(range(P_ACCOUNT));
  }
}

/**
 * The stored accounts as of the checkpoint, `count` entries end to end (gmledger verify
 * compares them with the replayed state). Format 1 or 2; read only.
 */
export async function readStoredAccounts(db: RocksDb): Promise<{ count: number; bytes: Uint8Array }> {
  const ckRaw = await db.get(META_CHECKPOINT);
  const ck = ckRaw ? decodeCheckpoint(ckRaw) : undefined;
  const slab = new Slab(0);
  const stats = { imageValues: 0, logValues: 0, logEntries: 0 } as RestoreStats;
  await readAccounts(db, slab, new AccountLog(), ck, stats);
  return { count: slab.count, bytes: slab.bytes.subarray(0, slab.count * ENTRY_BYTES) };
}
