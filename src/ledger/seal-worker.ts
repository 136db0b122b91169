// Worker thread of SealWorker (seal.ts): owns the state tree once handed over, seals blocks in order.

import { parentPort } from 'node:worker_threads';
import { StateTree } from './statetree.js';
import { computeSeal, READY_ID, type SealRequest, type SealResponse } from './seal.js';

let tree: StateTree | undefined;

parentPort!.on('message', (m: SealRequest) => {
  try {
    if (m.init) {
      tree = new StateTree(m.init.leafBytes, m.init.alg);
      tree.adopt(m.init.refs);
    }
    if (!tree) throw new Error('no state tree handed over');
    const seal = computeSeal(m.job, tree);
    const transfer = seal.hashes ? [seal.hashes.buffer as ArrayBuffer] : [];
    parentPort!.postMessage({ id: m.id, seal, refs: tree.refs() } satisfies SealResponse, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message } satisfies SealResponse);
  }
});

// Loaded (imports resolved, WASM instantiated): SealWorker.start() waits for this.
parentPort!.postMessage({ id: READY_ID } satisfies SealResponse);
