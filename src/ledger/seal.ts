// Sealing a block off the sequencer's thread: its tx root, its result root, and the state
// tree update that gives its state root. Hashing a block's records, building its two trees
// and rehashing the touched state-tree paths is most of the sequencer's hashing work per
// durable transfer, and none of it is needed to apply the next block: the sequencer applies
// block N+1 while the seal worker hashes block N.
//
// The state tree's levels are SharedArrayBuffers. Until the worker starts, seals run inline
// on the caller's tree. The first large block starts the worker and hands it the tree
// (StateTree.refs); from then on every seal runs there, in order, and each answer hands the
// (possibly regrown) levels back, so the caller's tree is a current read-only view whenever
// no seal is in flight. The caller must not read its tree while one is.

import { Worker } from 'node:worker_threads';
import { RECORD_BYTES } from '../codec/record.js';
import { DIGEST_BYTES, type HashAlgorithm } from '../crypto/hash.js';
import { resultRoot, txHashesPacked, txRoot } from '../codec/block.js';
import type { StateTree, StateTreeRefs } from './statetree.js';
import type { StateTreeUpdate } from './state.js';
import { workerExecArgv } from '../pool/exec-argv.js';

/** The first block of at least this many records starts the worker; before it, seals run inline. */
export const SEAL_WORKER_MIN_RECORDS = 256;

/** Part of a block: its records, or their tx hashes (n × 32 bytes) when already known. */
export type SealChunk = { records: Uint8Array } | { hashes: Uint8Array };

export interface SealJob {
  alg: HashAlgorithm;
  chunks: SealChunk[];
  codes: Uint16Array;
  /** Return the tx hashes (n × 32 bytes). */
  wantHashes: boolean;
  /** The block's state-tree update, if the tree is to be updated. */
  tree?: StateTreeUpdate;
}

export interface Seal {
  txRoot: Uint8Array;
  resultRoot: Uint8Array;
  /** After the job's tree update (present when the job had one). */
  stateRoot?: Uint8Array;
  hashes?: Uint8Array;
}

/** Seals `job` with `tree` (updated in place). Pure apart from the tree; any thread. */
export function computeSeal(job: SealJob, tree: StateTree): Seal {
  // All tx hashes end to end in one buffer: each record chunk hashed in one call.
  let count = 0;
  for (const c of job.chunks) {
    if ('records' in c) {
      if (c.records.length % RECORD_BYTES !== 0) throw new RangeError('a chunk is whole records');
      count += c.records.length / RECORD_BYTES;
    } else {
      if (c.hashes.length % DIGEST_BYTES !== 0) throw new RangeError('a hash chunk is whole digests');
      count += c.hashes.length / DIGEST_BYTES;
    }
  }
  if (count !== job.codes.length) throw new RangeError(`${count} records for ${job.codes.length} result codes`);
  const hashes = new Uint8Array(count * DIGEST_BYTES);
  let at = 0;
  for (const c of job.chunks) {
    const h = 'records' in c ? txHashesPacked(c.records, c.records.length / RECORD_BYTES, job.alg) : c.hashes;
    hashes.set(h, at);
    at += h.length;
  }
  const out: Seal = { txRoot: txRoot(hashes, job.alg), resultRoot: resultRoot(hashes, job.codes, job.alg) };
  if (job.tree) {
    tree.updatePacked(job.tree.size, job.tree.dirty, job.tree.leaves);
    out.stateRoot = tree.root();
  }
  if (job.wantHashes) out.hashes = hashes;
  return out;
}

/** `b` itself if it spans its whole buffer, else a copy: cloning a view clones its whole buffer. */
function own<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(b: T): T {
  return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()) as T;
}

interface Pending { resolve: (s: Seal) => void; reject: (e: Error) => void }

/** The id of the worker's one unsolicited message: loaded, ready for seals. */
export const READY_ID = -1;

/** Messages to the worker: a job, with the tree handed over on the first one. */
export interface SealRequest {
  id: number; job: SealJob; init?: { alg: HashAlgorithm; leafBytes: number; refs: StateTreeRefs };
}
export interface SealResponse { id: number; seal?: Seal; refs?: StateTreeRefs; error?: string }

export class SealWorker {
  readonly #tree: StateTree;
  readonly #leafBytes: number;
  readonly #script: URL;
  #worker: Worker | undefined;
  #started = false;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #failed: Error | undefined;
  #closed = false;
  #ready: Promise<void> | undefined;

  /**
   * `tree`: the caller's state tree (entries of `leafBytes` bytes), handed to the worker
   * with its first seal. `script`: the worker's module (tests substitute one).
   */
  constructor(tree: StateTree, leafBytes: number, script: URL = new URL('./seal-worker.js', import.meta.url)) {
    this.#tree = tree;
    this.#leafBytes = leafBytes;
    this.#script = script;
  }

  /**
   * Starts the worker thread and resolves once it has loaded (its first seal still hands
   * it the tree). A worker that cannot start fails here — at Ledger.open — not at a later
   * block. Idempotent.
   */
  start(): Promise<void> {
    this.#ready ??= new Promise<void>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.#spawn();
      } catch (err) {
        reject(err as Error);
        return;
      }
      const fail = (err: Error): void => {
        worker.off('message', onReady);
        reject(new Error(`seal worker could not start: ${err.message}`));
      };
      const onExit = (code: number): void => fail(new Error(`exited with code ${code}`));
      const onReady = (m: SealResponse): void => {
        if (m.id !== READY_ID) return;
        worker.off('error', fail);
        worker.off('exit', onExit);
        worker.off('message', onReady);
        this.#worker = worker;
        this.#listen(worker);
        resolve();
      };
      worker.on('message', onReady);
      worker.once('error', fail);
      worker.once('exit', onExit);
    });
    return this.#ready;
  }

  /** Seals run in submission order; each resolves after the ones before it. */
  seal(job: SealJob): Promise<Seal> {
    if (this.#closed) return Promise.reject(new Error('seal worker is closed'));
    if (this.#failed) return Promise.reject(this.#failed);
    if (!this.#started && job.codes.length < SEAL_WORKER_MIN_RECORDS) {
      try {
        return Promise.resolve(computeSeal(job, this.#tree));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    // The worker is started by start() (Ledger.open awaits it): sealing never spawns it.
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error('seal worker not started (call start() first)'));
    let init: SealRequest['init'];
    if (!this.#started) {
      this.#started = true;
      init = { alg: this.#tree.algorithm, leafBytes: this.#leafBytes, refs: this.#tree.refs() };
    }
    const id = this.#nextId++;
    const sent: SealJob = {
      alg: job.alg, wantHashes: job.wantHashes, codes: own(job.codes),
      chunks: job.chunks.map((c) => ('records' in c ? { records: own(c.records) } : { hashes: own(c.hashes) })),
      tree: job.tree && { size: job.tree.size, dirty: own(job.tree.dirty), leaves: own(job.tree.leaves) },
    };
    return new Promise<Seal>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Referenced only while it has work: an idle worker must not keep the process alive,
      // a busy one must (its caller is waiting on it).
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, job: sent, init } satisfies SealRequest);
    });
  }

  #spawn(): Worker {
    // Not the parent's execArgv: flags such as --input-type or --eval only make sense for
    // the main thread, and a worker given them fails to start.
    const worker = new Worker(this.#script, { execArgv: workerExecArgv() });
    worker.unref();
    return worker;
  }

  #listen(worker: Worker): void {
    worker.on('message', (m: SealResponse) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) worker.unref();
      if (!m.seal || !m.refs) {
        this.#fail(new Error(`seal worker: ${m.error ?? 'no answer'}`));
        p.reject(this.#failed!);
        return;
      }
      this.#tree.adopt(m.refs);
      p.resolve(m.seal);
    });
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => { if (!this.#closed) this.#fail(new Error(`seal worker exited with code ${code}`)); });
  }

  /**
   * After a failed seal the tree may be half updated: every later seal is refused, and the
   * worker is stopped (a stuck reference would keep the process alive).
   */
  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.values()) p.reject(this.#failed);
    this.#pending.clear();
    const w = this.#worker;
    this.#worker = undefined;
    if (w) { w.unref(); void w.terminate(); }
  }

  /** Stops the worker; seals still in flight are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const w = this.#worker;
    this.#worker = undefined;
    for (const p of this.#pending.values()) p.reject(new Error('seal worker is closed'));
    this.#pending.clear();
    if (w) await w.terminate();
  }
}
