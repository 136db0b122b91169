// The client SDK: connect, authenticate, submit, subscribe. It speaks the binary protocol
// (src/protocol/wire.ts; docs/protocol.md §9) and keeps within the server's limits
// on its own — batches are split at BATCH_RECORDS_MAX and at most `maxInFlight` batches are
// outstanding, further submits wait — so a well-behaved client never sees
// too_many_in_flight or batch_too_large. Works with any WebSocket constructor that has the
// browser API (globalThis.WebSocket, or NodeWebSocket on Node 20).

import { LIMITS } from '../protocol/limits.js';
import {
  Frame, HEADER_BYTES, KEY_ID_BYTES, RECORD_BYTES, SUBMIT_TRUSTED, authMessage, errorName, makeFrame, parseError,
  readBlockEvent, readRecordEvents, readResults, type WireBlockEvent, type WireRecordEvent,
} from '../protocol/wire.js';
import type { HashAlgorithm } from '../crypto/hash.js';
import { resultName } from '../codec/results.js';
import { FLAG_LINKED, OFF_FLAGS, checkRecordArray } from '../codec/record.js';
import { describeValue } from '../crypto/bytes.js';
import { bytesArg, checkSigner } from '../crypto/signer.js';

export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Signs the authentication challenge: SM2 over the message, default ID; returns r‖s (64 bytes). */
export interface AuthSigner {
  keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface ClientOptions {
  /** Default: globalThis.WebSocket, else NodeWebSocket (Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Authenticate right after connecting. */
  signer?: AuthSigner;
  /** Batches outstanding at once (≤ the server's IN_FLIGHT_BATCHES_MAX). */
  maxInFlight?: number;
  /** Records per frame (≤ the server's BATCH_RECORDS_MAX). */
  batchRecords?: number;
  connectTimeoutMs?: number;
  /**
   * Times a frame refused with `overloaded` is resent (after 25 ms, doubling, at most
   * 1.6 s apart) before the promise rejects. Safe: an overloaded frame admitted nothing.
   * Default 8; 0 = reject at once.
   */
  overloadRetries?: number;
}

/** First backoff after `overloaded`, and the most it grows to. */
const OVERLOAD_BACKOFF_MS = 25;
const OVERLOAD_BACKOFF_MAX_MS = 1600;

export interface Result {
  code: number;
  /** Result name (src/ledger/results.ts), e.g. 'ok', 'exists', 'bad_signature'. */
  result: string;
  ok: boolean;
  /** Block height (-1: never entered a block). */
  height: number;
  /** Index within the block (-1: never entered a block). */
  index: number;
}

/** A frame-level refusal (the server's ERROR frame) or a lost connection (code 0). */
export class ClientError extends Error {
  constructor(readonly code: number, readonly name: string, message: string) {
    super(`${name}: ${message}`);
  }
}

export type BlockEvent = WireBlockEvent;
export interface RecordEvent extends WireRecordEvent { result: string; topic: string }
export type EventHandler = (event: BlockEvent | RecordEvent) => void;

interface Pending {
  resolve(frame: Uint8Array): void;
  reject(e: Error): void;
}

export class Client {
  readonly url: string;
  chainId = 0;
  /** Roles of the authenticated key (0 until authenticated). */
  roles = 0;
  readonly #ws: WebSocketLike;
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #maxInFlight: number;
  readonly #batchRecords: number;
  readonly #overloadRetries: number;
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];
  #nextId = 1;
  #nonce: Uint8Array | undefined;
  #challengeWaiters: ((nonce: Uint8Array) => void)[] = [];
  #closed: { code: number; reason: string } | undefined;
  #closeListeners: ((code: number, reason: string) => void)[] = [];
  // Per-record submit(): records queued this tick, sent as one batch on a microtask.
  #single: { record: Uint8Array; resolve(r: Result): void; reject(e: Error): void }[] = [];

  private constructor(url: string, ws: WebSocketLike, options: ClientOptions) {
    this.url = url;
    this.#ws = ws;
    // Checked in connect(); values above the server's limits are lowered to them (documented).
    this.#maxInFlight = Math.min(options.maxInFlight ?? 16, LIMITS.IN_FLIGHT_BATCHES_MAX);
    this.#batchRecords = Math.min(options.batchRecords ?? LIMITS.BATCH_RECORDS_MAX, LIMITS.BATCH_RECORDS_MAX);
    this.#overloadRetries = options.overloadRetries ?? 8;
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onclose = (ev) => this.#onClose(ev.code, ev.reason);
  }

  /** Connects to `url` (ws://host:port/ws), waits for the challenge, and authenticates if a signer is given. */
  static async connect(url: string, options: ClientOptions = {}): Promise<Client> {
    if (typeof url !== 'string') throw new TypeError(`url must be a string (ws://host:port/ws), got ${describeValue(url)}`);
    checkOptions(options);
    let Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) {
      Ctor = (await import('./node-websocket.js')).NodeWebSocket as unknown as WebSocketConstructor;
    }
    const ws = new Ctor(url);
    const client = new Client(url, ws, options);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new ClientError(0, 'timeout', `no challenge from ${url}`));
      }, options.connectTimeoutMs ?? 10_000);
      client.#challengeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      client.#closeListeners.push((code, reason) => {
        clearTimeout(timer);
        reject(new ClientError(0, 'closed', `connection closed (${code} ${reason})`));
      });
    });
    client.#closeListeners.length = 0;
    if (options.signer !== undefined) await client.authenticate(options.signer);
    return client;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  onClose(listener: (code: number, reason: string) => void): void {
    fnArg(listener, 'listener');
    if (this.#closed) listener(this.#closed.code, this.#closed.reason);
    else this.#closeListeners.push(listener);
  }

  /** SM2 challenge-response with a registered key. Resolves with the key's roles. */
  async authenticate(signer: AuthSigner): Promise<{ roles: number; ledger: number; gateway: boolean }> {
    checkAuthSigner(signer, 'signer');
    const nonce = this.#nonce!;
    const sig: unknown = await signer.sign(authMessage(this.chainId, nonce));
    if (!(sig instanceof Uint8Array)) {
      throw new TypeError(`signer.sign must return a Uint8Array (r‖s), got ${describeValue(sig)}`);
    }
    if (sig.length !== 64 && sig.length !== 65) {
      throw new RangeError(`signer.sign must return r‖s: 64 bytes (or 65 with a hint), got ${sig.length}`);
    }
    const f = makeFrame(Frame.auth, 0, 0, KEY_ID_BYTES + 64);
    f.set(signer.keyId, HEADER_BYTES);
    f.set(sig.subarray(0, 64), HEADER_BYTES + KEY_ID_BYTES);
    const reply = await this.#request(f);
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    this.roles = v.getUint32(HEADER_BYTES, true);
    return { roles: this.roles, ledger: v.getUint32(HEADER_BYTES + 4, true), gateway: reply[2] === 1 };
  }

  /**
   * Submits records (an array of 256-byte records, or one buffer of n × 256 bytes) and
   * resolves with one result per record, in order, once every block holding them is
   * durable. Large inputs are split into several frames.
   */
  async submitBatch(records: Uint8Array[] | Uint8Array, options: { trusted?: boolean } = {}): Promise<Result[]> {
    const batch = recordsArg(records);
    optionsArg(options, 'options');
    if (options.trusted !== undefined && typeof options.trusted !== 'boolean') {
      throw new TypeError(`options.trusted must be a boolean, got ${describeValue(options.trusted)}`);
    }
    const n = batch.length / RECORD_BYTES;
    const lengths = frameLengths(batch, n, this.#batchRecords); // before anything is sent
    const parts: Promise<Result[]>[] = [];
    let at = 0;
    for (const k of lengths) {
      const frame = batch.subarray(at * RECORD_BYTES, (at + k) * RECORD_BYTES);
      parts.push(this.#submitFrame(frame, k, options.trusted === true));
      at += k;
    }
    return (await Promise.all(parts)).flat();
  }

  /**
   * Trusted-gateway mode (docs/protocol.md §8): submits `records` unsigned, vouched for by
   * `gateway` — the key this connection authenticated with, which must be a configured
   * gateway on the node and hold the operator role on the chain. Each frame carries one
   * vouch record (one SM2 signature by the gateway) and up to `batchRecords − 1` records
   * copied into vouched form (signer = gateway key id, r‖s zero, hint 0xFE); the input is
   * not modified. Resolves with one result per input record, in order (the vouch's own
   * result is dropped: when a vouch is refused, every record it covers carries the code).
   * `alg`: the chain's hash (default 'sm3', what `gmledger init` creates).
   */
  async submitTrusted(
    records: Uint8Array[] | Uint8Array,
    gateway: { keyId: Uint8Array; privateKey: Uint8Array; publicKey: Uint8Array },
    options: { alg?: HashAlgorithm } = {},
  ): Promise<Result[]> {
    const batch = recordsArg(records);
    checkSigner(gateway, 'gateway');
    optionsArg(options, 'options');
    if (options.alg !== undefined && options.alg !== 'sm3' && options.alg !== 'sha256') {
      throw new TypeError(`options.alg must be 'sm3' or 'sha256', got ${describeValue(options.alg)}`);
    }
    const n = batch.length / RECORD_BYTES;
    const per = this.#batchRecords - 1; // one slot per frame for the vouch
    if (per < 1) throw new RangeError('trusted frames need batchRecords ≥ 2');
    const { vouchBatch } = await import('../codec/vouch.js');
    const parts: Promise<Result[]>[] = [];
    const lengths = frameLengths(batch, n, per); // before anything is sent
    let at = 0;
    for (const k of lengths) {
      const framed = vouchBatch(batch.subarray(at * RECORD_BYTES, (at + k) * RECORD_BYTES), k, gateway,
        { chainId: this.chainId, id: this.#nextVouchId(), alg: options.alg });
      parts.push(this.#submitFrame(framed, k + 1, true).then((rs) => rs.slice(1)));
      at += k;
    }
    return (await Promise.all(parts)).flat();
  }

  #vouchIds = 0n;
  /** Vouch ids: a random 64-bit connection base ‖ a counter; informational (audit), not idempotency keys. */
  #nextVouchId(): bigint {
    if (this.#vouchIds === 0n) {
      const r = new Uint32Array(2);
      globalThis.crypto.getRandomValues(r);
      this.#vouchIds = ((BigInt(r[0]) << 32n) | BigInt(r[1]) | 1n) << 64n;
    }
    return ++this.#vouchIds;
  }

  /** Submits one record; records submitted in the same tick travel in one frame. */
  submit(record: Uint8Array): Promise<Result> {
    if (!(record instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`record must be a Uint8Array of ${RECORD_BYTES} bytes, got ${describeValue(record)}`),
      );
    }
    if (record.length !== RECORD_BYTES) {
      return Promise.reject(new RangeError(`record must be ${RECORD_BYTES} bytes, got ${record.length}`));
    }
    return new Promise((resolve, reject) => {
      if (this.#single.push({ record, resolve, reject }) === 1) {
        queueMicrotask(() => {
          const items = this.#single.splice(0);
          this.submitBatch(items.map((x) => x.record)).then(
            (rs) => rs.forEach((r, i) => items[i].resolve(r)),
            (e) => items.forEach((x) => x.reject(e)));
        });
      }
    });
  }

  async #submitFrame(batch: Uint8Array, count: number, trusted: boolean): Promise<Result[]> {
    while (this.#inFlight >= this.#maxInFlight) {
      if (this.#closed) throw this.#closedError();
      await new Promise<void>((r) => this.#slotWaiters.push(r));
    }
    this.#inFlight++;
    try {
      let backoff = OVERLOAD_BACKOFF_MS;
      for (let attempt = 0; ; attempt++) {
        const f = makeFrame(Frame.submit, 0, count, batch.length, trusted ? SUBMIT_TRUSTED : 0);
        f.set(batch, HEADER_BYTES);
        try {
          const reply = await this.#request(f);
          // Completed in place: one object per record, not a decoded one and then a copy.
          const rs = readResults(reply) as Result[];
          for (const r of rs) {
            r.result = resultName(r.code);
            r.ok = r.code === 0;
          }
          return rs;
        } catch (e) {
          if (!(e instanceof ClientError) || e.name !== 'overloaded' || attempt >= this.#overloadRetries) throw e;
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, OVERLOAD_BACKOFF_MAX_MS);
        }
      }
    } finally {
      this.#inFlight--;
      this.#slotWaiters.shift()?.();
    }
  }

  /**
   * Subscribes to a topic ('blocks', 'firehose', 'account/<id>', 'ledger/<n>'). Resolves with
   * an unsubscribe function.
   */
  async subscribe(topic: string, handler: EventHandler): Promise<() => Promise<void>> {
    if (typeof topic !== 'string') throw new TypeError(`topic must be a string, got ${describeValue(topic)}`);
    fnArg(handler, 'handler');
    let set = this.#handlers.get(topic);
    const first = set === undefined;
    if (first) this.#handlers.set(topic, (set = new Set()));
    set!.add(handler);
    if (first) {
      try {
        await this.#request(topicFrame(Frame.subscribe, topic));
      } catch (e) {
        this.#handlers.delete(topic);
        throw e;
      }
    }
    return async () => {
      const s = this.#handlers.get(topic);
      if (s === undefined || !s.delete(handler) || s.size > 0) return;
      this.#handlers.delete(topic);
      if (!this.#closed) await this.#request(topicFrame(Frame.unsubscribe, topic));
    };
  }

  async ping(): Promise<void> {
    await this.#request(makeFrame(Frame.ping, 0, 0, 0));
  }

  /** Sends raw bytes (tests and tools); replies to them arrive as errors/results on their request id. */
  sendRaw(data: Uint8Array | string): void {
    if (!(data instanceof Uint8Array) && typeof data !== 'string') {
      throw new TypeError(`data must be a Uint8Array or a string, got ${describeValue(data)}`);
    }
    this.#ws.send(data);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#closeListeners.push(() => resolve());
      this.#ws.close(1000, 'bye');
    });
  }

  #request(frame: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(this.#closedError());
    let id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    while (this.#pending.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    new DataView(frame.buffer, frame.byteOffset).setUint32(4, id, true);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(frame);
    });
  }

  #closedError(): ClientError {
    return new ClientError(0, 'closed', `connection closed (${this.#closed?.code} ${this.#closed?.reason})`);
  }

  #onMessage(data: unknown): void {
    if (typeof data === 'string') return; // this client speaks binary; JSON replies are not expected
    const f = new Uint8Array(data as ArrayBuffer);
    if (f.length < HEADER_BYTES) return;
    const type = f[1];
    const id = new DataView(f.buffer, f.byteOffset).getUint32(4, true);
    switch (type) {
      case Frame.challenge: {
        const v = new DataView(f.buffer, f.byteOffset);
        this.chainId = v.getUint32(HEADER_BYTES, true);
        this.#nonce = f.slice(HEADER_BYTES + 4, HEADER_BYTES + 36);
        for (const w of this.#challengeWaiters.splice(0)) w(this.#nonce);
        return;
      }
      case Frame.event_block: {
        const e = readBlockEvent(f);
        for (const h of this.#handlers.get('blocks') ?? []) h(e);
        return;
      }
      case Frame.event_records: {
        const { topic, events } = readRecordEvents(f);
        const hs = this.#handlers.get(topic);
        if (hs === undefined) return;
        for (const e of events) {
          // Completed in place: one object per event, not a decoded one and then a copy.
          const ev = e as RecordEvent;
          ev.result = resultName(e.code);
          ev.topic = topic;
          for (const h of hs) h(ev);
        }
        return;
      }
      case Frame.error: {
        const err = parseError(f);
        const p = this.#pending.get(id);
        if (p !== undefined) {
          this.#pending.delete(id);
          p.reject(new ClientError(err.code, errorName(err.code), err.message));
        }
        return;
      }
      default: {
        const p = this.#pending.get(id);
        if (p !== undefined) {
          this.#pending.delete(id);
          p.resolve(f);
        }
      }
    }
  }

  #onClose(code: number, reason: string): void {
    this.#closed = { code, reason };
    const e = this.#closedError();
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const w of this.#slotWaiters.splice(0)) w();
    for (const l of this.#closeListeners.splice(0)) l(code, reason);
  }
}

function topicFrame(type: number, topic: string): Uint8Array {
  const t = new TextEncoder().encode(topic);
  const f = makeFrame(type, 0, 0, t.length);
  f.set(t, HEADER_BYTES);
  return f;
}

// ---------------------------------------------------------------------------------------
// Argument checks: a wrong type is a TypeError, a wrong size or range a RangeError, and the
// message names the argument (docs/api.md, "Client SDK").

/** `records`: one Uint8Array of n × 256 bytes, or an Array of 256-byte Uint8Arrays → one batch buffer. */
function recordsArg(records: unknown): Uint8Array {
  if (records instanceof Uint8Array) {
    if (records.length % RECORD_BYTES !== 0) {
      throw new RangeError(`records: batch length ${records.length} is not a multiple of ${RECORD_BYTES}`);
    }
    return records;
  }
  if (!Array.isArray(records)) {
    throw new TypeError(`records must be a Uint8Array of n × ${RECORD_BYTES} bytes or an Array of ` +
      `${RECORD_BYTES}-byte Uint8Arrays, got ${describeValue(records)}`);
  }
  checkRecordArray(records, 'records');
  const out = new Uint8Array(records.length * RECORD_BYTES);
  for (let i = 0; i < records.length; i++) out.set(records[i], i * RECORD_BYTES);
  return out;
}

function optionsArg(o: unknown, name: string): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new TypeError(`${name} must be an object, got ${describeValue(o)}`);
  }
}

function fnArg(f: unknown, name: string): void {
  if (typeof f !== 'function') throw new TypeError(`${name} must be a function, got ${describeValue(f)}`);
}

function checkAuthSigner(s: unknown, name: string): void {
  if (typeof s !== 'object' || s === null) {
    throw new TypeError(`${name} must be an AuthSigner { keyId, sign }, got ${describeValue(s)}`);
  }
  bytesArg((s as AuthSigner).keyId, KEY_ID_BYTES, `${name}.keyId`);
  fnArg((s as AuthSigner).sign, `${name}.sign`);
}

/** An integer option: ≥ `min` (TypeError if not an integer, RangeError below `min`). */
function intOption(v: unknown, min: number, name: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`options.${name} must be an integer ≥ ${min}, got ${describeValue(v)}`);
  }
  if (v < min) throw new RangeError(`options.${name} must be an integer ≥ ${min}, got ${v}`);
}

const OPTION_NAMES = new Set([
  'WebSocket', 'signer', 'maxInFlight', 'batchRecords', 'connectTimeoutMs', 'overloadRetries',
]);

function checkOptions(options: unknown): asserts options is ClientOptions {
  optionsArg(options, 'options');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_NAMES.has(k) && o[k] !== undefined) {
      throw new TypeError(`unknown option ${JSON.stringify(k)} (options: ${[...OPTION_NAMES].join(', ')})`);
    }
  }
  if (o.WebSocket !== undefined) fnArg(o.WebSocket, 'options.WebSocket');
  if (o.signer !== undefined) checkAuthSigner(o.signer, 'options.signer');
  intOption(o.maxInFlight, 1, 'maxInFlight');
  intOption(o.batchRecords, 1, 'batchRecords');
  intOption(o.overloadRetries, 0, 'overloadRetries');
  const t = o.connectTimeoutMs;
  if (t !== undefined) {
    if (typeof t !== 'number' || Number.isNaN(t)) {
      throw new TypeError(`options.connectTimeoutMs must be a number of ms, got ${describeValue(t)}`);
    }
    if (!(t > 0 && t <= 0x7fffffff)) {
      throw new RangeError(`options.connectTimeoutMs must be in (0, 2147483647] ms, got ${t}`);
    }
  }
}

/**
 * How to cut `n` records into frames: at most `max` each, and never inside a linked chain
 * — a chain split across frames would be refused in one and applied in the next. Only the
 * input's own last record may leave a chain open (the node then refuses that chain).
 */
function frameLengths(batch: Uint8Array, n: number, max: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < n;) {
    let k = Math.min(max, n - at);
    if (at + k < n) {
      while (k > 0 && (batch[(at + k - 1) * RECORD_BYTES + OFF_FLAGS] & FLAG_LINKED) !== 0) k--;
      if (k === 0) {
        throw new RangeError(`a linked chain starting at record ${at} is longer than one frame (${max} records)`);
      }
    }
    out.push(k);
    at += k;
  }
  return out;
}
