// Ordering on NATS JetStream behind the `Sequencer` seam (docs/consortium.md). A node
// publishes each admitted batch to one stream per chain; every node reads the stream in
// order and cuts blocks from the stream ALONE, so nodes that read the same stream from the
// same tip cut the same blocks with the same times.
//
// The cut rule. Messages are taken in stream order, from the stream sequence after the tip.
// t = the message's stored timestamp (the stream's, set by the server when it stored it)
// in whole ms (floor of the nanoseconds / 1e6). A message is:
//   - a tick: header `Gmledger-Tick` present and an empty body;
//   - a batch: no tick header, a body of n × 256 bytes, 1 ≤ n ≤ min(8,190, blockMaxRecords),
//     its last record not linked;
//   - anything else: skipped, by every node alike (it changes nothing).
// A tick cuts the open block if there is one and open.timeMs + blockMaxMs ≤ t; else nothing.
// A batch, while a block is open, first cuts it if open.count + n > blockMaxRecords or
// t ≥ open.timeMs + blockMaxMs. Then, with no block open, it opens block (height + 1) at
// time max(previous block time, t). It is applied to the open block; if the block now
// holds blockMaxRecords records, the block is cut at once.
// A node publishes a tick when a block it has open is still open blockMaxMs after it opened
// (by its own clock) and it has read the whole stream; the tick's msgID is
// `tick.<height>.<slot>` with slot = floor(local ms / max(blockMaxMs, 1)), so ticks of
// several nodes for one block in one time slot are de-duplicated by the stream. Whether a
// tick cuts is decided by its stored timestamp, never by who sent it or when.
// A batch's msgID is the hex SM3 of its bytes: a retried publish is de-duplicated within
// the stream's duplicate window (the ack names the first copy's sequence).
//
// Resuming. The stream's description records its base (the tip it was created at) and the
// block parameters. Without startSeq, start() reads from sequence 1 and re-runs the cut rule
// without the sink from the base up to the chain's tip (whose time must match), then reads
// live from there: nothing is stored per block, and every start costs one pass over the
// stream up to the tip (docs/consortium.md, "Resuming after a restart").

import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream, jetstreamManager, StorageType, type JetStreamClient, type JsMsg, type PubAck, type StreamInfo,
} from '@nats-io/jetstream';
import { StreamReader } from './stream-reader.js';
import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES, u16 } from '../codec/record.js';
import { sm3 } from '../crypto/hash.js';
import { toHex } from '../crypto/bytes.js';
import {
  type AppendResult, BATCH_RECORDS_MAX, BLOCK_MS_DEFAULT, BLOCK_RECORDS_DEFAULT,
  type BlockSink, type EntryChunk, checkAppend, checkBlockLimits, concat,
} from '../ledger/sequencer.js';
import type { LedgerSequencer } from '../ledger/ledger.js';

export const TICK_HEADER = 'Gmledger-Tick';
/** On a batch of vouch groups (trusted-gateway mode): re-admission checks it as one. */
export const TRUSTED_HEADER = 'Gmledger-Trusted';
/** Largest stream message: an 8,190-record batch (2,096,640 bytes) plus room for headers. */
export const STREAM_MAX_MSG_BYTES = BATCH_RECORDS_MAX * RECORD_BYTES + 16_384;
const DUPLICATE_WINDOW_MS_DEFAULT = 120_000;
const ACK_TIMEOUT_MS_DEFAULT = 30_000;
/** One publish attempt's ack wait, and the backoff between attempts (a leader election takes seconds). */
const PUBLISH_ATTEMPT_MS = 5_000;
const PUBLISH_RETRY_MS_MIN = 50;
const PUBLISH_RETRY_MS_MAX = 1_000;
/** Results of blocks already cut, kept for acks that arrive late (duplicates, races). */
const RESULTS_KEPT = 16_384;

export interface JetStreamSequencerOptions {
  /** A connection (left open by close()), or servers to connect to (closed by close()). */
  nc?: NatsConnection;
  servers?: string | string[];
  /** One stream per chain, e.g. `gmledger-<chainId>`, holding one subject. */
  stream: string;
  subject: string;
  /** The chain's tip (last block and its time), and where blocks go. */
  height: number;
  timeMs: number;
  sink: BlockSink;
  /**
   * The stream sequence the block after the tip starts at, if known (trusted, nothing replayed).
   * Default: found by replaying the stream from its base (see #replaying below).
   */
  startSeq?: number;
  blockMaxRecords?: number;
  blockMaxMs?: number;
  /** Stream settings, used when the stream is created here. */
  replicas?: number;
  duplicateWindowMs?: number;
  /** How long an append keeps retrying its publish until the stream acks it (ms; default 30,000). */
  ackTimeoutMs?: number;
  /**
   * Re-admission of every batch read (a consortium: no node trusts another's admission),
   * against the state as applied so far. Resolves with undefined to apply the batch, or
   * with why it is refused: the batch is then left out of its block by every node alike
   * (it still counts for the cut rule, which reads the stream alone) and reported to
   * onEvidence. Headers are the message's (the appender's identity).
   */
  admit?: (records: Uint8Array, count: number, headers: MsgHeaders | undefined) => Promise<string | undefined>;
  /** Headers this node adds to each batch it publishes (its identity), from the batch's SM3. */
  appenderHeaders?: (batchHash: Uint8Array) => Record<string, string>;
  /** A batch refused by `admit`: its stream sequence, its headers and why. */
  onEvidence?: (e: { seq: number; headers: MsgHeaders | undefined; reason: string }) => void;
}

type MsgHeaders = JsMsg['headers'];

interface Result {
  height: number; first: number; codes: Uint16Array; committed: Promise<void> | undefined;
  /** Why every node left this batch out (consortium re-admission). */
  refused?: string;
}
interface Waiter { resolve: (r: AppendResult) => void; reject: (err: Error) => void }
/** The cut rule's state while replaying without applying (open: the open block's time and records). */
interface Replay { height: number; timeMs: number; open: { timeMs: number; slots: number } | undefined; last: number }
/** What this sequencer writes in a stream's description: the tip it started from and the block parameters. */
interface StreamBase { height: number; timeMs: number; blockMaxRecords: number; blockMaxMs: number }
interface OpenBlock {
  // count: records applied; slots: records the cut rule counts (refused batches included).
  height: number; timeMs: number; batches: Uint8Array[]; chunks: EntryChunk[]; count: number; slots: number;
  seqs: number[]; done: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
}

/** Orders batches on a JetStream stream and cuts blocks from the stream alone (rule above). */
export class JetStreamSequencer implements LedgerSequencer {
  readonly #o: JetStreamSequencerOptions;
  readonly #sink: BlockSink;
  readonly #blockMaxRecords: number;
  readonly #blockMaxMs: number;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #reader: StreamReader | undefined;
  #height: number;
  #timeMs: number;
  #open: OpenBlock | undefined;
  #failed: Error | undefined;
  #closed = false;
  #caughtUp = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #lastSeq = 0;
  /** Set while re-running the cut rule (no sink) from the stream's base up to the tip. */
  #replaying: Replay | undefined;
  readonly #results = new Map<number, Result>();
  readonly #waiting = new Map<number, Waiter[]>();
  readonly #hashes = new Map<string, Uint8Array[]>();
  // Publishes not yet acked, the highest sequence acked, and waits on what has been read.
  readonly #publishing = new Set<Promise<unknown>>();
  #maxAcked = 0;
  #watchers: { ok: () => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(o: JetStreamSequencerOptions) {
    this.#o = o;
    this.#sink = o.sink;
    this.#blockMaxRecords = o.blockMaxRecords ?? BLOCK_RECORDS_DEFAULT;
    this.#blockMaxMs = o.blockMaxMs ?? BLOCK_MS_DEFAULT;
    checkBlockLimits(this.#blockMaxRecords, this.#blockMaxMs);
    if (!o.nc && !o.servers) throw new TypeError('JetStreamSequencer: give nc or servers');
    this.#height = o.height;
    this.#timeMs = o.timeMs;
  }

  get height(): number { return this.#height; }
  get blockMaxRecords(): number { return this.#blockMaxRecords; }
  get failed(): Error | undefined { return this.#failed; }
  get openRecords(): number { return this.#open?.count ?? 0; }
  /** The last stream sequence read (0: none). */
  get lastSeq(): number { return this.#lastSeq; }

  /**
   * Connects, creates the stream if it does not exist (else checks it fits), and starts
   * reading it after the tip; resolves once the reader is at the tip.
   */
  async start(): Promise<void> {
    const o = this.#o;
    this.#nc = o.nc ?? await connect({ servers: o.servers });
    try {
      await this.#subscribe(this.#nc);
    } catch (err) {
      if (!o.nc) await this.#nc.close().catch(() => undefined);
      throw err;
    }
  }

  async #subscribe(nc: NatsConnection): Promise<void> {
    const o = this.#o;
    const info = await this.#stream(nc);
    this.#js = jetstream(nc);
    const startSeq = o.startSeq ?? this.#planReplay(info);
    const { first_seq: first, last_seq: last } = info.state;
    if (o.startSeq !== undefined && (startSeq > last + 1 || (startSeq <= last && startSeq < first))) {
      throw new Error(`JetStreamSequencer: stream ${o.stream} holds messages ${first}..${last}; ` +
        `this chain resumes at ${startSeq}: not this chain's stream, or trimmed past this node`);
    }
    this.#reader = new StreamReader({
      nc, stream: o.stream, startSeq,
      onMessage: (m) => {
        if (this.#closed || this.#failed) return undefined;
        const pending = this.#read(m);
        if (!pending) { this.#readDone(m); return undefined; }
        return pending.then(() => this.#readDone(m));
      },
    });
    await this.#reader.start();
    // start() resolves once the replay has reached the tip (or fails with the reason it cannot).
    await this.#until(() => this.#replaying === undefined);
  }

  /** Only now is the message read: its result (or its refusal) is known. */
  #readDone(m: JsMsg): void {
    this.#lastSeq = m.seq;
    this.#poke();
  }

  /** Consumers re-created after a server failure (the reader's renewals). */
  get consumerRenewals(): number {
    return this.#reader?.renewals ?? 0;
  }

  /** The stream's info: created here with this sequencer's settings, or checked if it exists. */
  async #stream(nc: NatsConnection): Promise<StreamInfo> {
    const o = this.#o;
    const jsm = await jetstreamManager(nc);
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(o.stream);
    } catch (err) {
      if (!(err instanceof Error) || !/not found/i.test(err.message)) throw err;
      const base: StreamBase = {
        height: o.height, timeMs: o.timeMs, blockMaxRecords: this.#blockMaxRecords, blockMaxMs: this.#blockMaxMs,
      };
      const config = {
        name: o.stream, subjects: [o.subject], storage: StorageType.File, num_replicas: o.replicas ?? 1,
        duplicate_window: nanos(o.duplicateWindowMs ?? DUPLICATE_WINDOW_MS_DEFAULT),
        max_msg_size: STREAM_MAX_MSG_BYTES, description: describeBase(base),
      };
      // Two nodes may race to create it: the loser reads (and checks) the winner's stream.
      info = await jsm.streams.add(config).catch((e: unknown) => jsm.streams.info(o.stream).catch(() => {
        throw e;
      }));
    }
    this.#checkStream(info);
    return info;
  }

  /** Refuses a stream this sequencer cannot use (its settings, or other block parameters). */
  #checkStream(info: StreamInfo): void {
    const o = this.#o;
    const c = info.config;
    const bad: string[] = [];
    if (c.storage !== StorageType.File) bad.push(`storage ${String(c.storage)} (needs file)`);
    if (c.subjects?.length !== 1 || c.subjects[0] !== o.subject) {
      bad.push(`subjects ${JSON.stringify(c.subjects ?? [])} (needs exactly ["${o.subject}"])`);
    }
    if (c.max_msg_size !== -1 && c.max_msg_size < STREAM_MAX_MSG_BYTES) {
      bad.push(`max_msg_size ${c.max_msg_size} (needs ≥ ${STREAM_MAX_MSG_BYTES} or -1)`);
    }
    const base = parseBase(c.description);
    if (base && (base.blockMaxRecords !== this.#blockMaxRecords || base.blockMaxMs !== this.#blockMaxMs)) {
      bad.push(`blocks cut with blockMaxRecords ${base.blockMaxRecords}, blockMaxMs ${base.blockMaxMs} ` +
        `(this node: ${this.#blockMaxRecords}, ${this.#blockMaxMs})`);
    }
    if (!base && o.startSeq === undefined) {
      bad.push(`no gmledger base in its description ${JSON.stringify(c.description ?? '')} (give startSeq)`);
    }
    if (bad.length > 0) {
      throw new Error(`JetStreamSequencer: the existing stream ${o.stream} does not fit: ${bad.join('; ')}`);
    }
  }

  /**
   * Where to start reading when no startSeq is given: at sequence 1, replaying the cut rule
   * without the sink from the stream's base (the tip it was created at) up to this chain's tip.
   */
  #planReplay(info: StreamInfo): number {
    const o = this.#o;
    const base = parseBase(info.config.description)!;
    const where = `stream ${o.stream} (base block ${base.height}, messages ${info.state.first_seq}..` +
      `${info.state.last_seq}) and chain tip ${o.height}`;
    if (o.height < base.height) throw new Error(`JetStreamSequencer: the chain is behind the ${where}`);
    if (o.height === base.height) {
      if (o.timeMs !== base.timeMs) throw new Error(`JetStreamSequencer: block time differs at the ${where}`);
      return 1;
    }
    if (info.state.last_seq === 0 || info.state.first_seq > 1) {
      throw new Error(`JetStreamSequencer: cannot replay the ${where}: messages are missing`);
    }
    this.#replaying = { height: base.height, timeMs: base.timeMs, open: undefined, last: info.state.last_seq };
    return 1;
  }

  /**
   * One message while replaying, by the cut rule but without the sink. Returns true when the
   * message belongs after the tip (a batch whose arrival cut the tip block): read it live.
   */
  #replay(m: JsMsg, r: Replay): boolean {
    const t = Number(m.timestampNanos / 1_000_000n);
    let live = false;
    if (isTick(m)) {
      if (this.#cutRule(r.open, 0, t).before) this.#replayCut(r);
    } else {
      const n = batchRecords(m);
      if (n > 0 && n <= this.#blockMaxRecords) {
        const rule = this.#cutRule(r.open, n, t);
        if (rule.before) live = this.#replayCut(r);
        if (!live) {
          r.open ??= { timeMs: Math.max(r.timeMs, t), slots: 0 };
          r.open.slots += n;
          if (rule.fills) this.#replayCut(r);
        }
      }
    }
    if (this.#replaying && m.seq >= r.last) {
      throw new Error(`JetStreamSequencer: stream ${this.#o.stream} ends (message ${r.last}, block ${r.height}) ` +
        `before the chain tip ${this.#o.height}`);
    }
    return live;
  }

  /** A cut while replaying; true when it reaches the tip (whose time must then match). */
  #replayCut(r: Replay): boolean {
    r.height += 1;
    r.timeMs = r.open!.timeMs;
    r.open = undefined;
    if (r.height < this.#o.height) return false;
    if (r.timeMs !== this.#timeMs) {
      throw new Error(`JetStreamSequencer: replaying stream ${this.#o.stream} gives block ${r.height} time ` +
        `${r.timeMs}, the chain has ${this.#timeMs}: not this chain's stream or block parameters`);
    }
    this.#replaying = undefined;
    return true;
  }

  append(batch: Uint8Array, count: number, hashes?: Uint8Array[]): Promise<AppendResult> {
    const refused = checkAppend(batch, count, hashes, this.#blockMaxRecords);
    if (refused) return Promise.reject(refused);
    if (this.#failed) return Promise.reject(this.#failed);
    if (!this.#js || !this.#nc || this.#closed) return Promise.reject(new Error('JetStreamSequencer: not started'));
    const payload = batch.subarray(0, count * RECORD_BYTES);
    const max = Math.min(this.#nc.info?.max_payload ?? Infinity, STREAM_MAX_MSG_BYTES);
    if (payload.length + 256 > max) {
      return Promise.reject(new RangeError(
        `append: a batch of ${count} records (${payload.length} bytes) exceeds what the NATS server takes ` +
        `(max_payload ${String(this.#nc.info?.max_payload)}, stream max ${STREAM_MAX_MSG_BYTES}); ` +
        'raise max_payload in the server config'));
    }
    const digest = sm3(payload);
    const msgID = toHex(digest);
    if (hashes) this.#hashes.set(msgID, hashes);
    let h: ReturnType<typeof headers> | undefined;
    if (this.#o.appenderHeaders || hashes) {
      h = headers();
      for (const [k, v] of Object.entries(this.#o.appenderHeaders?.(digest) ?? {})) h.set(k, v);
      // Only a trusted batch comes with admission's tx hashes (the vouch digests use them).
      if (hashes) h.set(TRUSTED_HEADER, '1');
    }
    const published = this.#publishRetrying(payload, msgID, h);
    this.#publishing.add(published);
    return published.then((ack) => {
      this.#publishing.delete(published);
      this.#maxAcked = Math.max(this.#maxAcked, ack.seq);
      return this.#await(ack.seq);
    }, (err: Error) => {
      this.#publishing.delete(published);
      this.#hashes.delete(msgID);
      throw new Error(`append: publish to stream ${this.#o.stream} failed: ${err.message}`, { cause: err });
    });
  }

  /**
   * Publishes until acked or ackTimeoutMs have passed: while a stream leader is elected (a
   * server died) publishes time out or find no responder. Retrying with the same msgID is
   * safe: the stream keeps one copy and acks the retry with the first copy's sequence.
   */
  async #publishRetrying(
    payload: Uint8Array, msgID: string, h: ReturnType<typeof headers> | undefined,
  ): Promise<PubAck> {
    const deadline = Date.now() + (this.#o.ackTimeoutMs ?? ACK_TIMEOUT_MS_DEFAULT);
    for (let wait = PUBLISH_RETRY_MS_MIN; ; wait = Math.min(wait * 2, PUBLISH_RETRY_MS_MAX)) {
      const left = deadline - Date.now();
      try {
        return await this.#js!.publish(this.#o.subject, payload, {
          msgID, timeout: Math.max(1, Math.min(left, PUBLISH_ATTEMPT_MS)), ...(h ? { headers: h } : {}),
        });
      } catch (err) {
        if (this.#closed || this.#failed || Date.now() + wait >= deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * For Ledger.flush: waits until every batch published here has been read, then, if a block
   * is open, publishes a tick and waits until that block is cut (by the stream: up to about
   * two blockMaxMs when the first tick comes too early).
   */
  async cutAndWait(): Promise<void> {
    await Promise.allSettled([...this.#publishing]);
    const target = this.#maxAcked;
    await this.#until(() => this.#lastSeq >= target);
    const block = this.#open;
    if (!block) return;
    this.#publishTick(block.height);
    await this.#until(() => this.#height >= block.height);
  }

  #until(ok: () => boolean): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('JetStreamSequencer: closed'));
    if (ok()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#watchers.push({ ok, resolve, reject }));
  }

  #poke(): void {
    if (this.#watchers.length === 0) return;
    const still = [];
    for (const w of this.#watchers) if (w.ok()) w.resolve(); else still.push(w);
    this.#watchers = still;
  }

  #refuseAll(err: Error): void {
    for (const list of this.#waiting.values()) for (const w of list) w.reject(err);
    this.#waiting.clear();
    for (const w of this.#watchers) w.reject(err);
    this.#watchers = [];
  }

  /** The result of the message at stream sequence `seq`, once its block is durable. */
  #await(seq: number): Promise<AppendResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    const r = this.#results.get(seq);
    if (r?.refused !== undefined) return Promise.reject(refusedError(seq, r.refused));
    if (r?.committed) return r.committed.then(() => ({ codes: r.codes, height: r.height, first: r.first }));
    if (!r && seq <= this.#lastSeq) {
      return Promise.reject(new Error(`append: stream message ${seq} was read long ago (or skipped as malformed)`));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      const list = this.#waiting.get(seq) ?? [];
      list.push({ resolve, reject });
      this.#waiting.set(seq, list);
    });
  }

  /** Cuts the open block on a tick: publishes one now (the cut comes when the stream delivers it). */
  cut(): void {
    if (this.#open) this.#publishTick(this.#open.height);
  }

  /**
   * One stream message, by the cut rule at the top of this file. Returns a promise only
   * when the batch awaits re-admission (the reading loop waits for it: messages are
   * applied strictly in stream order).
   */
  #read(m: JsMsg): Promise<void> | undefined {
    this.#caughtUp = m.info.pending === 0;
    if (this.#replaying) {
      let live: boolean;
      try {
        live = this.#replay(m, this.#replaying);
      } catch (err) {
        this.#stop(err as Error);
        return undefined;
      }
      if (!live) return undefined;
    }
    const t = Number(m.timestampNanos / 1_000_000n);
    if (isTick(m)) {
      if (this.#cutRule(this.#open, 0, t).before) this.#cut(m.seq + 1);
      else this.#armTick();
      return undefined;
    }
    const n = batchRecords(m);
    if (n === 0 || n > this.#blockMaxRecords) {
      this.#settle(m.seq, undefined);
      return undefined;
    }
    const rule = this.#cutRule(this.#open, n, t);
    if (rule.before) this.#cut(m.seq);
    if (!this.#o.admit) {
      this.#join(m, n, t, rule.fills, undefined);
      return undefined;
    }
    return this.#o.admit(m.data, n, m.headers).then(
      (refused) => { if (!this.#closed && !this.#failed) this.#join(m, n, t, rule.fills, refused); },
      (err: unknown) => this.#stop(err as Error),
    );
  }

  /** A batch joins the open block (or opens one): applied, or counted only if refused. */
  #join(m: JsMsg, n: number, t: number, fills: boolean, refused: string | undefined): void {
    try {
      const block = this.#open ?? this.#begin(t);
      block.slots += n;
      block.seqs.push(m.seq);
      if (refused !== undefined) {
        this.#results.set(m.seq, { height: block.height, first: -1, codes: new Uint16Array(0), committed: undefined,
          refused });
        this.#o.onEvidence?.({ seq: m.seq, headers: m.headers, reason: refused });
      } else {
        const codes = this.#sink.apply(m.data, n).slice();
        const msgID = m.headers?.get('Nats-Msg-Id') ?? '';
        const hashes = this.#hashes.get(msgID);
        this.#hashes.delete(msgID);
        this.#results.set(m.seq, { height: block.height, first: block.count, codes, committed: undefined });
        block.batches.push(m.data.slice());
        block.chunks.push({ count: n, hashes });
        block.count += n;
      }
    } catch (err) {
      this.#stop(err as Error);
      return;
    }
    if (fills) this.#cut(m.seq + 1);
  }

  /**
   * The cut rule (top of this file) for one message at stored time `t`: a tick (`n` = 0)
   * cuts the open block once blockMaxMs have passed since its time; a batch of `n` records
   * cuts it first if it would overflow it or comes blockMaxMs or more after its time, and
   * then fills the block it joins if that reaches blockMaxRecords. Live reading and replay
   * both decide with this, so they cannot cut differently.
   */
  #cutRule(
    open: { timeMs: number; slots: number } | undefined, n: number, t: number,
  ): { before: boolean; fills: boolean } {
    const max = this.#blockMaxRecords;
    if (n === 0) return { before: open !== undefined && open.timeMs + this.#blockMaxMs <= t, fills: false };
    const before = open !== undefined && (open.slots + n > max || t >= open.timeMs + this.#blockMaxMs);
    return { before, fills: (before || open === undefined ? 0 : open.slots) + n >= max };
  }

  #begin(t: number): OpenBlock {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => undefined);
    const block: OpenBlock = {
      height: this.#height + 1, timeMs: Math.max(this.#timeMs, t), batches: [], chunks: [], count: 0, slots: 0,
      seqs: [],
      done: { promise, resolve, reject },
    };
    this.#sink.begin(block.height, block.timeMs);
    this.#open = block;
    this.#armTick();
    return block;
  }

  #armTick(): void {
    clearTimeout(this.#tickTimer);
    const block = this.#open;
    if (!block || this.#closed) return;
    this.#tickTimer = setTimeout(() => {
      if (this.#open === block && !this.#closed) {
        if (this.#caughtUp) this.#publishTick(block.height);
        else this.#armTick();
      }
    }, this.#blockMaxMs);
    this.#tickTimer.unref();
  }

  #publishTick(height: number): void {
    if (!this.#js || this.#closed) return;
    const h = headers();
    h.set(TICK_HEADER, '1');
    const slot = Math.floor(Date.now() / Math.max(this.#blockMaxMs, 1));
    this.#js.publish(this.#o.subject, new Uint8Array(0), { msgID: `tick.${height}.${slot}`, headers: h })
      .catch(() => { if (!this.#closed) this.#armTick(); });
  }

  /** Cuts the open block: commits it to the sink, then settles its appends once durable. */
  /** `next`: the stream sequence the block after this one starts at (stored with the block). */
  #cut(next: number): void {
    const block = this.#open;
    if (!block) return;
    this.#open = undefined;
    clearTimeout(this.#tickTimer);
    this.#height = block.height;
    this.#timeMs = block.timeMs;
    // A block whose every batch was refused is cut all the same (empty): the stream decided it.
    const records = block.batches.length === 1 ? block.batches[0] :
      block.batches.length === 0 ? new Uint8Array(0) : concat(block.batches, block.count);
    try {
      const entry = { height: block.height, timeMs: block.timeMs, records, count: block.count, position: next };
      this.#sink.commit(entry, block.chunks)
        .then(block.done.resolve, block.done.reject);
    } catch (err) {
      block.done.reject(err as Error);
    }
    block.done.promise.catch((err: unknown) => this.#stop(err as Error));
    for (const seq of block.seqs) {
      const r = this.#results.get(seq);
      if (r) r.committed = block.done.promise;
      this.#settle(seq, r);
    }
    while (this.#results.size > RESULTS_KEPT) this.#results.delete(this.#results.keys().next().value as number);
  }

  #settle(seq: number, r: Result | undefined): void {
    const list = this.#waiting.get(seq);
    if (!list) return;
    this.#waiting.delete(seq);
    for (const w of list) {
      if (r?.refused !== undefined) w.reject(refusedError(seq, r.refused));
      else if (!r?.committed) w.reject(new Error(`append: stream message ${seq} was skipped as malformed`));
      else r.committed.then(() => w.resolve({ codes: r.codes, height: r.height, first: r.first }), w.reject);
    }
  }

  /** A broken invariant or a failed sink: nothing more is ordered; every waiter is refused. */
  #stop(err: Error): void {
    this.#failed ??= err;
    const block = this.#open;
    this.#open = undefined;
    clearTimeout(this.#tickTimer);
    block?.done.reject(this.#failed);
    this.#refuseAll(this.#failed);
    void this.#reader?.close();
  }

  /** Stops reading (the open block stays uncut: the stream still holds it), closes an owned connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#tickTimer);
    const err = new Error('JetStreamSequencer: closed');
    this.#refuseAll(err);
    this.#open?.done.reject(err);
    await this.#reader?.close();
    if (!this.#o.nc && this.#nc) await this.#nc.drain();
  }
}

function refusedError(seq: number, reason: string): Error {
  return new Error(`append: stream message ${seq} was refused by re-admission at every node: ${reason}`);
}

/** A tick: an empty message with the tick header. */
function isTick(m: JsMsg): boolean {
  return m.headers?.has(TICK_HEADER) === true && m.data.length === 0;
}

/** Records in a batch message by the rule above, or 0 when it is not a well-formed batch. */
function batchRecords(m: JsMsg): number {
  if (m.headers?.has(TICK_HEADER)) return 0;
  const len = m.data.length;
  const n = len / RECORD_BYTES;
  if (len === 0 || !Number.isInteger(n) || n > BATCH_RECORDS_MAX) return 0;
  if ((u16(m.data, (n - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) return 0;
  return n;
}

const BASE_PREFIX = 'gmledger-sequencer v1';

/** The stream description this sequencer writes: its base tip and block parameters. */
function describeBase(b: StreamBase): string {
  return `${BASE_PREFIX} base=${b.height},${b.timeMs} blockMaxRecords=${b.blockMaxRecords} blockMaxMs=${b.blockMaxMs}`;
}

function parseBase(description: string | undefined): StreamBase | undefined {
  const m = /^gmledger-sequencer v1 base=(\d+),(\d+) blockMaxRecords=(\d+) blockMaxMs=(\d+)$/.exec(description ?? '');
  if (!m) return undefined;
  return { height: Number(m[1]), timeMs: Number(m[2]), blockMaxRecords: Number(m[3]), blockMaxMs: Number(m[4]) };
}

