// Turns a durable block into the frames published on each topic. Work is done only for
// topics that have subscribers: a node with no regulator attached never builds the firehose.

import {
  Kind, OFF_KIND, RECORD_BYTES, TR_CREDIT, TR_DEBIT, TR_LEDGER, TR_PENDING_ID, u128, u32,
} from '../codec/record.js';
import type { BlockEvent } from '../pipeline/backend.js';
import {
  EVENT_BLOCK_BYTES, EVENT_RECORD_BYTES, Frame, HEADER_BYTES, TOPIC_ACCOUNT_PREFIX, TOPIC_BLOCKS, TOPIC_FIREHOSE,
  TOPIC_LEDGER_PREFIX, makeFrame,
} from '../protocol/wire.js';

/** Records per event frame; a bigger block is published as several frames, in order. */
export const EVENT_RECORDS_PER_FRAME_MAX = 4096;

export function blockFrame(b: BlockEvent): Uint8Array {
  const f = makeFrame(Frame.event_block, 0, 1, EVENT_BLOCK_BYTES);
  const v = new DataView(f.buffer);
  v.setBigUint64(HEADER_BYTES, BigInt(b.height), true);
  v.setBigUint64(HEADER_BYTES + 8, BigInt(b.timeMs), true);
  v.setUint32(HEADER_BYTES + 16, b.count, true);
  f.set(b.hash.subarray(0, 32), HEADER_BYTES + 24);
  return f;
}

/** EVENT_RECORDS frames for `topic` carrying block records at positions `at` (block order). */
export function recordFrames(topic: string, b: BlockEvent, at: ArrayLike<number>): Uint8Array[] {
  const records = b.records!;
  const codes = b.codes!;
  const name = new TextEncoder().encode(topic);
  const height = BigInt(b.height); // the same for every record of the block
  const frames: Uint8Array[] = [];
  for (let start = 0; start < at.length; start += EVENT_RECORDS_PER_FRAME_MAX) {
    const n = Math.min(EVENT_RECORDS_PER_FRAME_MAX, at.length - start);
    const f = makeFrame(Frame.event_records, 0, n, name.length + n * EVENT_RECORD_BYTES);
    const v = new DataView(f.buffer);
    // In event frames the header's last u32 is the topic's byte length (the topic follows the header).
    v.setUint32(12, name.length, true);
    f.set(name, HEADER_BYTES);
    let o = HEADER_BYTES + name.length;
    for (let k = 0; k < n; k++) {
      const i = at[start + k];
      v.setBigUint64(o, height, true);
      v.setUint32(o + 8, i, true);
      v.setUint16(o + 12, codes[i], true);
      f.set(records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES), o + 16);
      o += EVENT_RECORD_BYTES;
    }
    frames.push(f);
  }
  return frames;
}

/**
 * Every (topic, frame) to publish for block `b`, in the order to publish them. An account
 * topic carries the block's applied transfers (postings) debiting or crediting it; a ledger
 * topic every transfer record naming that ledger, with its result.
 */
export function blockTopics(
  b: BlockEvent, hasSubscribers: (topic: string) => boolean,
  transferAccounts?: (id: bigint) => [bigint, bigint] | undefined,
): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  if (hasSubscribers(TOPIC_BLOCKS)) out.push([TOPIC_BLOCKS, blockFrame(b)]);
  if (b.records === undefined || b.codes === undefined) return out;
  const records = b.records;
  if (hasSubscribers(TOPIC_FIREHOSE)) {
    const all = new Uint32Array(b.count);
    for (let i = 0; i < b.count; i++) all[i] = i;
    for (const f of recordFrames(TOPIC_FIREHOSE, b, all)) out.push([TOPIC_FIREHOSE, f]);
  }
  // null caches "no subscribers", so each topic is looked up once per block.
  const byTopic = new Map<string, number[] | null>();
  const add = (topic: string, i: number) => {
    let list = byTopic.get(topic);
    if (list === undefined) {
      list = hasSubscribers(topic) ? [] : null;
      byTopic.set(topic, list);
    }
    if (list !== null && list[list.length - 1] !== i) list.push(i);
  };
  for (let i = 0; i < b.count; i++) {
    const o = i * RECORD_BYTES;
    if (records[o + OFF_KIND] !== Kind.transfer) continue;
    // Account topics carry postings: transfers that were applied (ok). Ledger topics carry
    // every transfer record on the chain with its result, refused ones included.
    if (b.codes[i] === 0) {
      let debit = u128(records, o + TR_DEBIT), credit = u128(records, o + TR_CREDIT);
      // A post or void may leave the accounts zero and name them through its pending
      // transfer: route it to the accounts it actually moves.
      if ((debit === 0n || credit === 0n) && transferAccounts !== undefined) {
        const pending = transferAccounts(u128(records, o + TR_PENDING_ID));
        if (pending !== undefined) [debit, credit] = pending;
      }
      add(TOPIC_ACCOUNT_PREFIX + debit.toString(), i);
      add(TOPIC_ACCOUNT_PREFIX + credit.toString(), i);
    }
    add(TOPIC_LEDGER_PREFIX + u32(records, o + TR_LEDGER).toString(), i);
  }
  for (const [topic, at] of byTopic) if (at !== null) for (const f of recordFrames(topic, b, at)) out.push([topic, f]);
  return out;
}
