// The local sequencer alone, over a recording sink: blocks cut on size and on time, heights
// consecutive, block time from the clock but never backwards, appends refused before they
// change anything, and a sink whose apply breaks an invariant stops the ordering.
import { describe, expect, it } from 'vitest';
import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES } from '../dist/src/codec/record.js';
import { LocalSequencer, type BlockSink, type EntryChunk } from '../dist/src/ledger/sequencer.js';
import type { LogEntry } from '../dist/src/ledger/apply.js';
import { InvariantError, assert } from '../dist/src/ledger/assert.js';

function recorder(): { sink: BlockSink; entries: { entry: LogEntry; chunks: EntryChunk[] }[]; begun: number[] } {
  const entries: { entry: LogEntry; chunks: EntryChunk[] }[] = [];
  const begun: number[] = [];
  return {
    entries,
    begun,
    sink: {
      begin(height) { begun.push(height); },
      // Code = the record's first byte, so each waiter's slice can be checked.
      apply(records, count) {
        const codes = new Uint16Array(count);
        for (let i = 0; i < count; i++) codes[i] = records[i * RECORD_BYTES];
        return codes;
      },
      commit(entry, chunks) {
        entries.push({ entry, chunks });
        return Promise.resolve();
      },
    },
  };
}

function batch(n: number, mark: number, lastLinked = false): Uint8Array {
  const b = new Uint8Array(n * RECORD_BYTES);
  for (let i = 0; i < n; i++) b[i * RECORD_BYTES] = mark + i;
  if (lastLinked) b[(n - 1) * RECORD_BYTES + OFF_FLAGS] = FLAG_LINKED;
  return b;
}

describe('LocalSequencer', () => {
  it('cuts on size, gives consecutive heights, and hands each append its slice', async () => {
    const { sink, entries } = recorder();
    let now = 5_000;
    const seq = new LocalSequencer({ height: 9, timeMs: 6_000, sink, blockMaxRecords: 4, blockMaxMs: 60_000, clock: () => now });
    const a = seq.append(batch(3, 10), 3);
    const b = seq.append(batch(2, 20), 2); // does not fit: block 10 is cut with a alone
    now = 7_000;
    const c = seq.append(batch(2, 30), 2); // fills block 11 to 4: cut at once
    expect((await a)).toMatchObject({ height: 10, first: 0 });
    expect(Array.from((await a).codes)).toEqual([10, 11, 12]);
    expect(await b).toMatchObject({ height: 11, first: 0 });
    expect(await c).toMatchObject({ height: 11, first: 2 });
    expect(Array.from((await c).codes)).toEqual([30, 31]);
    expect(entries.map((e) => [e.entry.height, e.entry.count, e.entry.timeMs])).toEqual([[10, 3, 6_000], [11, 4, 6_000]]);
    expect(entries[1].chunks.map((c) => c.count)).toEqual([2, 2]);
    expect(seq.height).toBe(11);
  });

  it('cuts on time, and block time never goes backwards', async () => {
    const { sink, entries } = recorder();
    let now = 1_000;
    const seq = new LocalSequencer({ height: -1, timeMs: 0, sink, blockMaxMs: 5, clock: () => now });
    await seq.append(batch(1, 1), 1);
    now = 500; // the clock steps back
    await seq.append(batch(1, 2), 1);
    expect(entries.map((e) => [e.entry.height, e.entry.timeMs])).toEqual([[0, 1_000], [1, 1_000]]);
  });

  it('refuses bad appends before anything happens', async () => {
    const { sink, entries } = recorder();
    const seq = new LocalSequencer({ height: 0, timeMs: 0, sink, blockMaxRecords: 8 });
    await expect(seq.append(batch(2, 1, true), 2)).rejects.toThrow(/linked chain/);
    await expect(seq.append(batch(2, 1), 0)).rejects.toThrow(RangeError);
    await expect(seq.append(batch(2, 1), 3)).rejects.toThrow(RangeError);
    await expect(seq.append(batch(9, 1), 9)).rejects.toThrow(/\[1, 8\]/);
    await expect(seq.append('x' as never, 1)).rejects.toThrow(TypeError);
    await expect(seq.append(batch(2, 1), 2, [new Uint8Array(32)])).rejects.toThrow(/hashes/);
    seq.cut();
    expect(entries).toHaveLength(0);
    expect(seq.height).toBe(0);
    expect(() => new LocalSequencer({ height: 0, timeMs: 0, sink, blockMaxRecords: 0 })).toThrow(RangeError);
    expect(() => new LocalSequencer({ height: 0, timeMs: 0, sink, blockMaxMs: -1 })).toThrow(RangeError);
  });

  it('stops ordering once the sink breaks an invariant', async () => {
    const sink: BlockSink = {
      begin: () => undefined,
      apply: () => { assert(false, 'test'); return new Uint16Array(0); },
      commit: () => Promise.resolve(),
    };
    const seq = new LocalSequencer({ height: 0, timeMs: 0, sink });
    const a = seq.append(batch(1, 1), 1);
    await expect(a).rejects.toBeInstanceOf(InvariantError);
    await expect(seq.append(batch(1, 1), 1)).rejects.toThrow(/invariant broken/);
    expect(seq.failed).toBeInstanceOf(InvariantError);
  });
});
