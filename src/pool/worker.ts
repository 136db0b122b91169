// Piscina worker: instantiates the WASM core once (on import of the SM2 module) and
// verifies packed batches. Input and output cross threads as transferred ArrayBuffers.

import { move } from 'piscina';
import { verifyBatchPacked } from '../crypto/sm2.js';

export interface VerifyTask {
  /** A packBatch buffer (transferred, so owned by this thread now). */
  buffer: ArrayBuffer;
  count: number;
}

export default function verifyTask(task: VerifyTask): ArrayBuffer {
  const res = verifyBatchPacked(new Uint8Array(task.buffer), task.count);
  return move(res.buffer as ArrayBuffer) as ArrayBuffer; // transferred back, not cloned
}
