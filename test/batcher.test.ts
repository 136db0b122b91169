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

  it('serves sources in turn: a flood fills its own queue and share, another source waits one submit', async () => {
    const submits: number[][] = [];
    let release!: () => void;
    const backend = {
      submit: async (batch: Uint8Array, count: number) => {
        // Each record's first byte says its source (set below).
        submits.push(Array.from({ length: count }, (_, i) => batch[i * RECORD_BYTES]));
        if (submits.length === 1) await new Promise<void>((r) => { release = r; });
        return { codes: new Uint16Array(count), heights: new Float64Array(count), indexes: new Uint32Array(count) };
      },
    };
    const limits = { ...LIMITS, SUBMITS_IN_FLIGHT_MAX: 1, SUBMIT_RECORDS_MAX: 1024, QUEUE_RECORDS_PER_SOURCE_MAX: 4096 };
    const batcher = new Batcher(backend as never, limits);
    const done: Promise<void>[] = [];
    const job = (source: number, count: number): Job => {
      const b = new Uint8Array(count * RECORD_BYTES);
      for (let i = 0; i < count; i++) b[i * RECORD_BYTES] = source;
      let resolve!: () => void;
      done.push(new Promise((r) => { resolve = r; }));
      return { batch: b, count, trusted: false, source, done: () => resolve() };
    };
    // Source 1 floods 4 × 900 records; a fifth frame would pass its share (4,096): refused for it alone.
    for (let i = 0; i < 4; i++) expect(batcher.enqueue(job(1, 900))).toBe(true);
    const over: Job = { batch: new Uint8Array(600 * RECORD_BYTES), count: 600, trusted: false, source: 1, done: () => {} };
    expect(batcher.enqueue(over)).toBe('source_full');
    await new Promise((r) => setTimeout(r, 0)); // the first submit goes out (and is held)
    // Sources 2 and 3 arrive after the flood: they go in the very next submit, beside one frame of source 1.
    expect(batcher.enqueue(job(2, 10))).toBe(true);
    expect(batcher.enqueue(job(3, 10))).toBe(true);
    release();
    await Promise.all(done);
    expect(submits.map((x) => [...new Set(x)])).toEqual([[1], [1, 2, 3], [1], [1]]);
  });
});

