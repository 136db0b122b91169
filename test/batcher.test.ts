// The batcher merges frames from many connections into one ledger submit. A frame that
// ends inside a linked chain must end its submit: otherwise another connection's records
// would continue (and be failed with) a chain they are no part of.

import { describe, expect, it } from 'vitest';
import { Batcher, type Job } from '../dist/src/pipeline/batcher.js';
import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES } from '../dist/src/codec/record.js';
import { LIMITS } from '../dist/src/protocol/limits.js';

function frame(count: number, lastLinked: boolean): Uint8Array {
  const b = new Uint8Array(count * RECORD_BYTES);
  for (let i = 0; i < count; i++) b[i * RECORD_BYTES] = i + 1;
  if (lastLinked) b[(count - 1) * RECORD_BYTES + OFF_FLAGS] |= FLAG_LINKED;
  return b;
}

describe('batcher', () => {
  it('never lets a frame that ends inside a linked chain share a submit with a later frame', async () => {
    const submits: number[] = [];
    const backend = {
      submit: async (_batch: Uint8Array, count: number) => {
        submits.push(count);
        return { codes: new Uint16Array(count), heights: new Float64Array(count), indexes: new Uint32Array(count) };
      },
    };
    const batcher = new Batcher(backend as never, { ...LIMITS, SUBMITS_IN_FLIGHT_MAX: 1 });
    const done: Promise<void>[] = [];
    const job = (batch: Uint8Array, count: number): Job => {
      let resolve!: () => void;
      done.push(new Promise((r) => { resolve = r; }));
      return { batch, count, trusted: false, done: () => resolve() };
    };
    // Same tick: all four would join one submit, but frame 2 ends with an open chain.
    expect(batcher.enqueue(job(frame(3, false), 3))).toBe(true);
    expect(batcher.enqueue(job(frame(2, true), 2))).toBe(true);
    expect(batcher.enqueue(job(frame(4, false), 4))).toBe(true);
    expect(batcher.enqueue(job(frame(1, false), 1))).toBe(true);
    await Promise.all(done);
    expect(submits).toEqual([5, 5]);
  });
});
