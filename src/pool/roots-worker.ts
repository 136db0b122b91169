// Worker thread of RootsWorker: block roots off the sequencer's thread (roots.ts).

import { parentPort } from 'node:worker_threads';
import { computeRoots, type RootsChunk } from './roots.js';

interface RootsRequest { id: number; alg: 'sm3' | 'sha256'; wantHashes: boolean; codes: Uint16Array; chunks: RootsChunk[] }

parentPort!.on('message', (m: RootsRequest) => {
  try {
    const roots = computeRoots(m.chunks, m.codes, m.alg, m.wantHashes);
    parentPort!.postMessage({ id: m.id, roots }, roots.hashes ? [roots.hashes.buffer as ArrayBuffer] : []);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
