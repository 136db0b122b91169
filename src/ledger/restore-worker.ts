// Helper thread of a restore (restore.ts, TreeHelper): hashes the state tree's first leaves
// and the levels above them into the tree's shared level buffers, while the main thread
// hashes the rest. Started at the beginning of a restore, so it has loaded by the time the
// tree is built; ended right after.

import { parentPort, workerData } from 'node:worker_threads';
import type { HashAlgorithm } from '../crypto/hash.js';
import { hashLeafRange, hashNodeRange } from './statetree.js';

/**
 * Messages to the helper: the tree (its shared levels, and a shared control array the
 * helper reports progress in, so the main thread can poll it without yielding); leaf
 * chunks, in order; then the levels above its leaves.
 */
export type TreeHelperRequest =
  | {
      begin: {
        alg: HashAlgorithm; leafBytes: number; levels: SharedArrayBuffer[]; counts: number[];
        control: SharedArrayBuffer;
      };
    }
  | { leaves: ArrayBuffer; at: number }
  | { levels: { split: number; upTo: number } };
/** Control words: leaves hashed so far (the end of the last chunk done), levels done (1), failed (1). */
export const CTL_HASHED = 0;
export const CTL_LEVELS = 1;
export const CTL_FAILED = 2;

let job:
  | { alg: HashAlgorithm; leafBytes: number; levels: Uint8Array[]; counts: number[]; control: Int32Array }
  | undefined;

function report(word: number, value: number): void {
  Atomics.store(job!.control, word, value);
  Atomics.notify(job!.control, word);
}

/**
 * Set in the helper's workerData: this module runs the helper only in such a thread
 * (restore.ts imports its constants).
 */
export const TREE_HELPER_FLAG = 'gmledgerTreeHelper';

if (parentPort && (workerData as Record<string, unknown> | null)?.[TREE_HELPER_FLAG] === true) {
  const port = parentPort;
  port.on('message', (m: TreeHelperRequest) => {
    try {
      if ('begin' in m) {
        job = {
          ...m.begin, levels: m.begin.levels.map((b) => new Uint8Array(b)), control: new Int32Array(m.begin.control),
        };
        return;
      }
      if (!job) throw new Error('no tree handed over');
      if ('leaves' in m) {
        const leaves = new Uint8Array(m.leaves);
        hashLeafRange(job.alg, job.leafBytes, leaves, job.levels[0], m.at);
        report(CTL_HASHED, m.at + leaves.length / job.leafBytes);
        return;
      }
      // Levels 1..upTo over leaves [0, split): node j of level k+1 needs nodes 2j, 2j+1 of level k.
      const { split, upTo } = m.levels;
      for (let k = 0; k < upTo && job.counts[k] > 1; k++) {
        hashNodeRange(job.alg, job.levels[k], job.counts[k], job.levels[k + 1], 0, split >> (k + 1));
      }
      report(CTL_LEVELS, 1);
    } catch (err) {
      if (!job) throw err;
      report(CTL_FAILED, 1);
      Atomics.notify(job.control, CTL_HASHED);
      Atomics.notify(job.control, CTL_LEVELS);
    }
  });

  // Loaded (WASM instantiated): the restore may hand work over.
  port.postMessage('ready');
}
