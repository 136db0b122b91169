// The client SDK: connect, authenticate, submit, subscribe. It speaks the binary protocol
// (src/protocol/wire.ts; docs/protocol.md §9) and keeps within the server's limits
// on its own — batches are split at BATCH_RECORDS_MAX and at most `maxInFlight` batches are
// outstanding, further submits wait — so a well-behaved client never sees
// too_many_in_flight or batch_too_large. Works with any WebSocket constructor that has the
// browser API (globalThis.WebSocket, or NodeWebSocket on Node 20).
//
// Given a list of node URLs (a consortium: any node accepts submits) it fails over: a lost
// connection is replaced by one to the next URL, the session (key, topics) is restored, and
// every submit frame still without results is sent again. That is safe only because records
// are idempotent by id — a record already applied comes back `exists`, never applied twice.

import { LIMITS } from '../protocol/limits.js';
import {
  CloseCode, ErrorCode, Frame, HEADER_BYTES, KEY_ID_BYTES, RECORD_BYTES, SUBMIT_FINAL, SUBMIT_TRUSTED, authMessage,
  errorName, makeFrame, parseError, readAlarmEvent, readBlockEvent, readRecordEvents, readResults, TOPIC_ALARMS,
  type WireBlockEvent, type WireRecordEvent,
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
  /**
   * Node only, for wss:// URLs: the CA certificate(s), PEM text or its bytes (a Buffer), that
   * the node's certificate must chain to — a self-signed certificate, or a private CA's.
   * Default: the system's CAs. With it the SDK uses its own NodeWebSocket (also on Node 22+);
   * not with options.WebSocket. In browsers it is ignored: the browser decides which
   * certificates it trusts.
   */
  ca?: string | Uint8Array;
  /** Authenticate right after connecting (and again after every failover). */
  signer?: AuthSigner;
  /** Batches outstanding at once (≤ the server's IN_FLIGHT_BATCHES_MAX). */
  maxInFlight?: number;
  /** Records per frame (≤ the server's BATCH_RECORDS_MAX). */
  batchRecords?: number;
  /** Per connection attempt: the server's challenge must arrive within this. Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * Times a frame refused with `overloaded` is resent (after 25 ms, doubling, at most
   * 1.6 s apart) before the promise rejects. Safe: an overloaded frame admitted nothing.
   * Default 8; 0 = reject at once.
   */
  overloadRetries?: number;
  /**
   * With a list of URLs: how long no URL may answer (from the moment the connection is
   * lost, or from connect) before pending calls reject with `unreachable`. Default 30 000.
   */
  failoverTimeoutMs?: number;
  /** With a list of URLs: the longest wait between connection attempts (100 ms doubling up to it). Default 2 000. */
  reconnectMaxMs?: number;
  /** With a list of URLs: ping the node this often, to notice a connection that died silently. Default 5 000. */
  heartbeatMs?: number;
  /** With a list of URLs: drop (and fail over) a connection silent for this long. Default 10 000. */
  pongTimeoutMs?: number;
}

/** Options of submitBatch, submit and submitTrusted. */
export interface SubmitOptions {
  /** Send the frame with SUBMIT_TRUSTED: `records` are prepared vouch groups (submitBatch only). */
  trusted?: boolean;
  /**
   * 'durable' (default): results once the block is durable at the node. 'final': once it is
   * final — co-signed by a quorum of the consortium's nodes (SUBMIT_FINAL).
   */
  wait?: 'durable' | 'final';
}

/** First backoff after `overloaded`, and the most it grows to. */
const OVERLOAD_BACKOFF_MS = 25;
const OVERLOAD_BACKOFF_MAX_MS = 1600;
/** First wait between failover connection attempts (doubling up to reconnectMaxMs). */
const RECONNECT_BACKOFF_MS = 100;
/** URLs connect accepts, and the longest one. */
const URLS_MAX = 16;
const URL_CHARS_MAX = 2048;

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

/**
 * A frame-level refusal (the server's ERROR frame; `name` its error name), or, with code 0:
 * `closed` / `timeout` (connecting), `unreachable` (no URL answered within failoverTimeoutMs).
 */
export class ClientError extends Error {
  constructor(readonly code: number, readonly name: string, message: string) {
    super(`${name}: ${message}`);
  }
}

/** A request whose connection dropped while failover is on: retried on the next connection, never surfaced. */
class ConnectionLost extends ClientError {}

/** The connection a `not_final` came from: the one to leave (another frame may have moved on already). */
const notFinalFrom = new WeakMap<ClientError, WebSocketLike>();

export type BlockEvent = WireBlockEvent;
export interface RecordEvent extends WireRecordEvent { result: string; topic: string }
/** An alarm of a consortium node (topic `alarms`; docs/consortium.md): kind, node, height?, seq?, detail, timeMs. */
export interface AlarmEvent {
  kind: string; node: string; height?: number; seq?: number; detail: string; timeMs: number; topic: string;
}
/**
 * An application notice (docs/clearing.md, "Events"): `queue_settled` / `queue_expired` on
 * `ledger/<n>`, `rule_alert` on `alerts`; ids and amounts are decimal strings.
 */
export interface NoticeEvent { topic: string; kind: string; height: number; [field: string]: string | number | null }
export type EventHandler = (event: BlockEvent | RecordEvent | AlarmEvent | NoticeEvent) => void;

interface Pending {
  resolve(frame: Uint8Array): void;
  reject(e: Error): void;
}

interface Timing {
  connectTimeoutMs: number;
  failoverTimeoutMs: number;
  reconnectMaxMs: number;
  heartbeatMs: number;
  pongTimeoutMs: number;
}

export class Client {
  /** The URLs given to connect, in order (one for the single-URL form). */
  readonly urls: readonly string[];
  chainId = 0;
  /** Roles of the authenticated key (0 until authenticated). */
  roles = 0;
  readonly #failover: boolean;
  readonly #Ctor: WebSocketConstructor;
  readonly #timing: Timing;
  #at = 0;
  #ws: WebSocketLike | undefined;
  // Session set up (challenge, auth, topics): user requests wait for it after a failover.
  #ready = false;
  #readyWaiters: { resolve(): void; reject(e: Error): void }[] = [];
  #dropWaiters: ((code: number, reason: string) => void)[] = [];
  #signer: AuthSigner | undefined;
  /** Topics the node confirmed: re-subscribed after a failover. */
  readonly #topics = new Set<string>();
  #closing = false;
  #closeError: ClientError | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #heard = false;
  #wake: (() => void) | undefined;
  #failoverListeners: ((fromUrl: string, toUrl: string) => void)[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #maxInFlight: number;
  readonly #batchRecords: number;
  readonly #overloadRetries: number;
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];
  #nextId = 1;
  #nonce: { chainId: number; nonce: Uint8Array } | undefined;
  #challengeWaiters: (() => void)[] = [];
  #closed: { code: number; reason: string } | undefined;
  #closeListeners: ((code: number, reason: string) => void)[] = [];
  // Per-record submit(): records queued this tick, by submit flags, sent as one batch on a microtask.
  #single = new Map<number, { record: Uint8Array; resolve(r: Result): void; reject(e: Error): void }[]>();

  private constructor(urls: string[], failover: boolean, Ctor: WebSocketConstructor, options: ClientOptions) {
    this.urls = Object.freeze(urls);
    this.#failover = failover;
    this.#Ctor = Ctor;
    this.#signer = options.signer;
    this.#timing = {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000, failoverTimeoutMs: options.failoverTimeoutMs ?? 30_000,
      reconnectMaxMs: options.reconnectMaxMs ?? 2_000, heartbeatMs: options.heartbeatMs ?? 5_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
    };
    // Checked in connect(); values above the server's limits are lowered to them (documented).
    this.#maxInFlight = Math.min(options.maxInFlight ?? 16, LIMITS.IN_FLIGHT_BATCHES_MAX);
    this.#batchRecords = Math.min(options.batchRecords ?? LIMITS.BATCH_RECORDS_MAX, LIMITS.BATCH_RECORDS_MAX);
    this.#overloadRetries = options.overloadRetries ?? 8;
  }

  /**
   * Connects to `url` (ws://host:port/ws), waits for the challenge, and authenticates if a
   * signer is given. With an array of URLs (1 to 16) it tries them in turn until one
   * answers, and fails over to the next one whenever the connection is lost.
   */
  static async connect(url: string | readonly string[], options: ClientOptions = {}): Promise<Client> {
    const urls = urlsArg(url);
    const failover = Array.isArray(url);
    checkOptions(options, failover);
    let Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined || (options.ca !== undefined && onNode())) Ctor = await nodeWebSocket(options.ca);
    const client = new Client(urls, failover, Ctor, options);
    if (failover) await client.#connectLoop(-1, true);
    else await client.#attempt(0, client.#timing.connectTimeoutMs);
    return client;
  }

  /** The URL of the current connection (the last one while failing over). */
  get url(): string {
    return this.urls[this.#at];
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  onClose(listener: (code: number, reason: string) => void): void {
    fnArg(listener, 'listener');
    if (this.#closed) listener(this.#closed.code, this.#closed.reason);
    else this.#closeListeners.push(listener);
  }

  /** Called after each failover, once the new connection's session is restored (URLs may be equal). */
  onFailover(listener: (fromUrl: string, toUrl: string) => void): void {
    fnArg(listener, 'listener');
    this.#failoverListeners.push(listener);
  }

  /** SM2 challenge-response with a registered key. Resolves with the key's roles. */
  async authenticate(signer: AuthSigner): Promise<{ roles: number; ledger: number; gateway: boolean }> {
    checkAuthSigner(signer, 'signer');
    for (;;) {
      await this.#whenReady();
      try {
        const r = await this.#auth(signer);
        this.#signer = signer; // kept: a failover authenticates the new connection with it
        return r;
      } catch (e) {
        if (!(e instanceof ConnectionLost)) throw e;
      }
    }
  }

  async #auth(signer: AuthSigner): Promise<{ roles: number; ledger: number; gateway: boolean }> {
    const ws = this.#ws;
    const nonce = this.#nonce!;
    const sig: unknown = await signer.sign(authMessage(nonce.chainId, nonce.nonce));
    if (!(sig instanceof Uint8Array)) {
      throw new TypeError(`signer.sign must return a Uint8Array (r‖s), got ${describeValue(sig)}`);
    }
    if (sig.length !== 64 && sig.length !== 65) {
      throw new RangeError(`signer.sign must return r‖s: 64 bytes (or 65 with a hint), got ${sig.length}`);
    }
    // The signature covers this connection's nonce: useless on another one.
    if (this.#closed) throw this.#closedError();
    if (this.#ws !== ws) throw new ConnectionLost(0, 'closed', 'connection lost while signing');
    const f = makeFrame(Frame.auth, 0, 0, KEY_ID_BYTES + 64);
    f.set(signer.keyId, HEADER_BYTES);
    f.set(sig.subarray(0, 64), HEADER_BYTES + KEY_ID_BYTES);
    const reply = await this.#request(f, true);
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    this.roles = v.getUint32(HEADER_BYTES, true);
    return { roles: this.roles, ledger: v.getUint32(HEADER_BYTES + 4, true), gateway: reply[2] === 1 };
  }

  /**
   * Submits records (an array of 256-byte records, or one buffer of n × 256 bytes) and
   * resolves with one result per record, in order, once every block holding them is
   * durable (`wait: 'final'`: final). Large inputs are split into several frames.
   */
  async submitBatch(records: Uint8Array[] | Uint8Array, options: SubmitOptions = {}): Promise<Result[]> {
    const batch = recordsArg(records);
    const flags = submitFlags(options, true);
    const n = batch.length / RECORD_BYTES;
    const lengths = frameLengths(batch, n, this.#batchRecords); // before anything is sent
    const parts: Promise<Result[]>[] = [];
    let at = 0;
    for (const k of lengths) {
      parts.push(this.#submitFrame(batch.subarray(at * RECORD_BYTES, (at + k) * RECORD_BYTES), k, flags));
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
    options: { alg?: HashAlgorithm; wait?: SubmitOptions['wait'] } = {},
  ): Promise<Result[]> {
    const batch = recordsArg(records);
    checkSigner(gateway, 'gateway');
    const flags = submitFlags(options, false) | SUBMIT_TRUSTED;
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
      parts.push(this.#submitFrame(framed, k + 1, flags).then((rs) => rs.slice(1)));
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

  /** Submits one record; records submitted in the same tick (with the same `wait`) travel in one frame. */
  submit(record: Uint8Array, options: { wait?: SubmitOptions['wait'] } = {}): Promise<Result> {
    if (!(record instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`record must be a Uint8Array of ${RECORD_BYTES} bytes, got ${describeValue(record)}`),
      );
    }
    if (record.length !== RECORD_BYTES) {
      return Promise.reject(new RangeError(`record must be ${RECORD_BYTES} bytes, got ${record.length}`));
    }
    let flags: number;
    try {
      flags = submitFlags(options, false);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      let queue = this.#single.get(flags);
      if (queue === undefined) {
        this.#single.set(flags, (queue = []));
        queueMicrotask(() => {
          const items = this.#single.get(flags)!;
          this.#single.delete(flags);
          this.submitBatch(items.map((x) => x.record), { wait: flags & SUBMIT_FINAL ? 'final' : 'durable' }).then(
            (rs) => rs.forEach((r, i) => items[i].resolve(r)),
            (e) => items.forEach((x) => x.reject(e)));
        });
      }
      queue.push({ record, resolve, reject });
    });
  }

  async #submitFrame(batch: Uint8Array, count: number, flags: number): Promise<Result[]> {
    while (this.#inFlight >= this.#maxInFlight) {
      if (this.#closed) throw this.#closedError();
      await new Promise<void>((r) => this.#slotWaiters.push(r));
    }
    this.#inFlight++;
    try {
      let backoff = OVERLOAD_BACKOFF_MS;
      for (let attempt = 0, notFinal = 0; ;) {
        const f = makeFrame(Frame.submit, 0, count, batch.length, flags);
        f.set(batch, HEADER_BYTES);
        try {
          return toResults(await this.#request(f));
        } catch (e) {
          // Results lost with the connection: the same records go out again once reconnected;
          // those the node had applied come back `exists` (idempotent by id), never twice.
          if (e instanceof ConnectionLost) continue;
          // This node will never certify the block (halted or stopping): another one will, and
          // answers the resend once final. Bounded: a list of halted nodes must not loop forever.
          const from = notFinalFrom.get(e as ClientError);
          if (from !== undefined && this.#failover && notFinal++ < this.urls.length) {
            this.#abandon(from, 0, 'not_final: this node will not see the block final');
            continue;
          }
          if (!(e instanceof ClientError) || e.name !== 'overloaded' || attempt++ >= this.#overloadRetries) throw e;
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
   * Subscribes to a topic ('blocks', 'firehose', 'account/<id>', 'ledger/<n>', 'alarms'). Resolves with
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
        await this.#call(topicFrame(Frame.subscribe, topic));
        this.#topics.add(topic);
      } catch (e) {
        this.#handlers.delete(topic);
        throw e;
      }
    }
    return async () => {
      const s = this.#handlers.get(topic);
      if (s === undefined || !s.delete(handler) || s.size > 0) return;
      this.#handlers.delete(topic);
      this.#topics.delete(topic);
      // While failing over there is nothing to undo: the next connection never subscribes it.
      if (this.#closed || !this.#ready) return;
      try {
        await this.#request(topicFrame(Frame.unsubscribe, topic));
      } catch (e) {
        if (!(e instanceof ConnectionLost)) throw e;
      }
    };
  }

  async ping(): Promise<void> {
    await this.#call(makeFrame(Frame.ping, 0, 0, 0));
  }

  /** Sends raw bytes (tests and tools); replies to them arrive as errors/results on their request id. */
  sendRaw(data: Uint8Array | string): void {
    if (!(data instanceof Uint8Array) && typeof data !== 'string') {
      throw new TypeError(`data must be a Uint8Array or a string, got ${describeValue(data)}`);
    }
    if (this.#ws === undefined) {
      throw this.#closed ? this.#closedError() : new ClientError(0, 'closed', 'not connected (failing over)');
    }
    this.#ws.send(data);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closing = true;
    const ws = this.#ws;
    if (ws === undefined) {
      this.#terminate(1000, 'bye');
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#closeListeners.push(() => resolve());
      ws.close(1000, 'bye');
    });
  }

  // -------------------------------------------------------------------------------------
  // Connections. One at a time in #ws; events of a replaced one are ignored.

  /** Opens urls[i], waits for the challenge, restores the session (key, topics). */
  async #attempt(i: number, timeoutMs: number): Promise<void> {
    const url = this.urls[i];
    const ws = new this.#Ctor(url);
    this.#at = i;
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (ev) => {
      if (this.#ws === ws) this.#onMessage(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.#ws === ws) this.#onClose(ev.code, ev.reason);
    };
    try {
      await this.#challenge(url, timeoutMs);
      const { chainId } = this.#nonce!;
      if (this.chainId !== 0 && chainId !== this.chainId) {
        throw new ClientError(0, 'wrong_chain', `${url} serves chain ${chainId}, not ${this.chainId}`);
      }
      this.chainId = chainId;
      if (this.#signer !== undefined) await this.#auth(this.#signer);
      await Promise.all([...this.#topics].map((t) => this.#request(topicFrame(Frame.subscribe, t), true)));
    } catch (e) {
      this.#abandon(ws, 0, (e as Error).message);
      throw e;
    }
    this.#ready = true;
    if (this.#failover) this.#startHeartbeat(ws);
    for (const w of this.#readyWaiters.splice(0)) w.resolve();
  }

  #challenge(url: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#challengeWaiters = this.#challengeWaiters.filter((w) => w !== onChallenge);
        this.#dropWaiters = this.#dropWaiters.filter((w) => w !== onDrop);
      };
      const timer = setTimeout(() => {
        done();
        reject(new ClientError(0, 'timeout', `no challenge from ${url}`));
      }, timeoutMs);
      const onChallenge = () => {
        done();
        resolve();
      };
      const onDrop = (code: number, reason: string) => {
        done();
        reject(new ClientError(0, 'closed', `connection closed (${code} ${reason})`));
      };
      this.#challengeWaiters.push(onChallenge);
      this.#dropWaiters.push(onDrop);
    });
  }

  /**
   * Tries the URLs round robin from the one after `from`, 100 ms doubling up to
   * reconnectMaxMs apart (the first connect starts at once), for at most failoverTimeoutMs.
   * On the first connect only a lost or silent connection moves on: anything else
   * (auth_failed, a bad signer) is final.
   */
  async #connectLoop(from: number, initial: boolean): Promise<void> {
    const { failoverTimeoutMs, connectTimeoutMs, reconnectMaxMs } = this.#timing;
    const started = Date.now();
    const tried = new Set<string>();
    let last = '';
    // Even the first reconnect waits: a node that accepts and then drops at once must not
    // be hammered in a tight loop.
    let wait = initial ? 0 : Math.min(RECONNECT_BACKOFF_MS, reconnectMaxMs);
    for (let k = 0; ; k++) {
      const left = failoverTimeoutMs - (Date.now() - started);
      if (left <= 0) {
        throw new ClientError(0, 'unreachable',
          `no node answered for ${failoverTimeoutMs} ms; tried ${[...tried].join(', ')} (last: ${last})`);
      }
      if (wait > 0) await this.#pause(Math.min(wait, left));
      wait = Math.min(Math.max(wait * 2, RECONNECT_BACKOFF_MS), reconnectMaxMs);
      if (this.#closed) throw this.#closedError();
      const i = (from + 1 + k) % this.urls.length;
      tried.add(this.urls[i]);
      try {
        await this.#attempt(i, Math.max(1, Math.min(connectTimeoutMs, left)));
        return;
      } catch (e) {
        if (this.#closed) throw this.#closedError();
        if (initial && !(e instanceof ClientError && e.code === 0)) throw e;
        last = (e as Error).message;
      }
    }
  }

  async #reconnect(fromUrl: string, from: number): Promise<void> {
    try {
      await this.#connectLoop(from, false);
    } catch (e) {
      if (!this.#closed) this.#terminate(1006, (e as Error).message, e as ClientError);
      return;
    }
    for (const l of this.#failoverListeners) {
      try {
        l(fromUrl, this.url);
      } catch (e) {
        queueMicrotask(() => { throw e; }); // the app's bug, reported as such; failover is done
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => this.#wake?.(), ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** A connection that died without a close event (silent, or a node stopping): drop it now. */
  #abandon(ws: WebSocketLike, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(1000, 'failover');
    } catch { /* closing already */ }
    this.#onClose(code, reason);
  }

  #startHeartbeat(ws: WebSocketLike): void {
    const { heartbeatMs, pongTimeoutMs } = this.#timing;
    let silentMs = 0;
    this.#heard = true;
    this.#heartbeat = setInterval(() => {
      silentMs = this.#heard ? 0 : silentMs + heartbeatMs;
      this.#heard = false;
      if (silentMs >= pongTimeoutMs) {
        this.#abandon(ws, 0, `no reply to ping within ${pongTimeoutMs} ms`);
        return;
      }
      this.#request(makeFrame(Frame.ping, 0, 0, 0), true).catch(() => undefined);
    }, heartbeatMs);
    // The socket keeps a Node process alive, not this timer.
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  #whenReady(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** A request that survives failover: sent again on the next connection. */
  async #call(frame: Uint8Array): Promise<Uint8Array> {
    for (;;) {
      try {
        return await this.#request(frame);
      } catch (e) {
        if (!(e instanceof ConnectionLost)) throw e;
      }
    }
  }

  /** `session`: a request of the session set-up, sent before the connection is ready. */
  #request(frame: Uint8Array, session = false): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (!session && !this.#ready) return this.#whenReady().then(() => this.#request(frame));
    const ws = this.#ws!;
    let id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    while (this.#pending.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    new DataView(frame.buffer, frame.byteOffset).setUint32(4, id, true);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        ws.send(frame);
      } catch (e) {
        // A socket already closing: its close event settles this request (lost or closed).
        if (ws.readyState === 1) {
          this.#pending.delete(id);
          reject(e);
        }
      }
    });
  }

  #closedError(): ClientError {
    return this.#closeError ??
      new ClientError(0, 'closed', `connection closed (${this.#closed?.code} ${this.#closed?.reason})`);
  }

  #onMessage(data: unknown): void {
    this.#heard = true;
    if (typeof data === 'string') return; // this client speaks binary; JSON replies are not expected
    const f = new Uint8Array(data as ArrayBuffer);
    if (f.length < HEADER_BYTES) return;
    const type = f[1];
    const id = new DataView(f.buffer, f.byteOffset).getUint32(4, true);
    switch (type) {
      case Frame.challenge: {
        const v = new DataView(f.buffer, f.byteOffset);
        this.#nonce = { chainId: v.getUint32(HEADER_BYTES, true), nonce: f.slice(HEADER_BYTES + 4, HEADER_BYTES + 36) };
        for (const w of this.#challengeWaiters.splice(0)) w();
        return;
      }
      case Frame.event_block: {
        const e = readBlockEvent(f);
        for (const h of this.#handlers.get('blocks') ?? []) h(e);
        return;
      }
      case Frame.event_records:
        this.#onRecordEvents(f);
        return;
      case Frame.event_alarm: {
        // A consortium alarm (topic alarms) or an application notice, whose JSON names its topic.
        const raw = readAlarmEvent(f);
        const topic = typeof raw.topic === 'string' ? raw.topic : TOPIC_ALARMS;
        const a = { ...raw, topic } as AlarmEvent | NoticeEvent;
        for (const h of this.#handlers.get(topic) ?? []) h(a);
        return;
      }
      case Frame.error:
        this.#onError(f, id);
        return;
      default: {
        const p = this.#pending.get(id);
        if (p !== undefined) {
          this.#pending.delete(id);
          p.resolve(f);
        }
      }
    }
  }

  #onRecordEvents(f: Uint8Array): void {
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
  }

  #onError(f: Uint8Array, id: number): void {
    const err = parseError(f);
    if (err.code === ErrorCode.shutting_down && this.#failover && this.#ws !== undefined) {
      // The frame admitted nothing and this node is going away: move on before it closes.
      this.#abandon(this.#ws, CloseCode.shutting_down, 'node stopping');
      return;
    }
    const p = this.#pending.get(id);
    if (p !== undefined) {
      this.#pending.delete(id);
      const e = new ClientError(err.code, errorName(err.code), err.message);
      if (err.code === ErrorCode.not_final && this.#ws !== undefined) notFinalFrom.set(e, this.#ws);
      p.reject(e);
    }
  }

  #onClose(code: number, reason: string): void {
    const wasReady = this.#ready;
    const from = this.url;
    this.#ws = undefined;
    this.#ready = false;
    this.#nonce = undefined;
    clearInterval(this.#heartbeat);
    for (const w of this.#dropWaiters.splice(0)) w(code, reason);
    // 4012: idle and anonymous; reconnecting would only be closed again the same way.
    if (!this.#failover || this.#closing || code === CloseCode.auth_timeout) {
      this.#terminate(code, reason);
      return;
    }
    this.#rejectPending(new ConnectionLost(0, 'closed', `connection to ${from} lost (${code} ${reason})`));
    if (wasReady) void this.#reconnect(from, this.#at);
  }

  #rejectPending(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  #terminate(code: number, reason: string, error?: ClientError): void {
    this.#closed = { code, reason };
    this.#closeError = error;
    this.#ready = false;
    clearInterval(this.#heartbeat);
    this.#wake?.();
    const e = this.#closedError();
    this.#rejectPending(e);
    for (const w of this.#readyWaiters.splice(0)) w.reject(e);
    for (const w of this.#slotWaiters.splice(0)) w();
    for (const l of this.#closeListeners.splice(0)) l(code, reason);
  }
}

/** A RESULTS frame → Result objects, completed in place (one object per record, not a copy). */
function toResults(reply: Uint8Array): Result[] {
  const rs = readResults(reply) as Result[];
  for (const r of rs) {
    r.result = resultName(r.code);
    r.ok = r.code === 0;
  }
  return rs;
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

/** A number of ms in (0, 2^31 − 1] (what setTimeout takes). */
function msOption(v: unknown, name: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new TypeError(`options.${name} must be a number of ms, got ${describeValue(v)}`);
  }
  if (!(v > 0 && v <= 0x7fffffff)) throw new RangeError(`options.${name} must be in (0, 2147483647] ms, got ${v}`);
}

/** Whether this is Node (not a browser): where options.ca means something. */
function onNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** The SDK's NodeWebSocket, trusting `ca` for wss:// when given. */
async function nodeWebSocket(ca: string | Uint8Array | undefined): Promise<WebSocketConstructor> {
  const { NodeWebSocket } = await import('./node-websocket.js');
  if (ca === undefined) return NodeWebSocket as unknown as WebSocketConstructor;
  const pem = typeof ca === 'string' ? ca : Buffer.from(ca.buffer, ca.byteOffset, ca.byteLength);
  return class extends NodeWebSocket {
    constructor(url: string) {
      super(url, undefined, { ca: pem });
    }
  } as unknown as WebSocketConstructor;
}

/** options.ca: PEM text, or its bytes. */
function caOption(v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new TypeError(`options.ca must be a PEM string or a Buffer, got ${describeValue(v)}`);
  }
  const text = typeof v === 'string' ? v : new TextDecoder('latin1').decode(v);
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TypeError('options.ca must hold a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
}

/** Options that only mean something with a list of URLs. */
const FAILOVER_OPTIONS = ['failoverTimeoutMs', 'reconnectMaxMs', 'heartbeatMs', 'pongTimeoutMs'];
const OPTION_NAMES = new Set([
  'WebSocket', 'ca', 'signer', 'maxInFlight', 'batchRecords', 'connectTimeoutMs', 'overloadRetries',
  ...FAILOVER_OPTIONS,
]);

function checkOptions(options: unknown, failover: boolean): asserts options is ClientOptions {
  optionsArg(options, 'options');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_NAMES.has(k) && o[k] !== undefined) {
      throw new TypeError(`unknown option ${JSON.stringify(k)} (options: ${[...OPTION_NAMES].join(', ')})`);
    }
  }
  if (o.WebSocket !== undefined) fnArg(o.WebSocket, 'options.WebSocket');
  caOption(o.ca);
  if (o.ca !== undefined && o.WebSocket !== undefined) {
    throw new TypeError('options.ca applies to the SDK\'s own Node WebSocket: not with options.WebSocket');
  }
  if (o.signer !== undefined) checkAuthSigner(o.signer, 'options.signer');
  intOption(o.maxInFlight, 1, 'maxInFlight');
  intOption(o.batchRecords, 1, 'batchRecords');
  intOption(o.overloadRetries, 0, 'overloadRetries');
  msOption(o.connectTimeoutMs, 'connectTimeoutMs');
  for (const k of FAILOVER_OPTIONS) {
    msOption(o[k], k);
    // A string URL never fails over: a failover setting with one is a mistake worth naming.
    if (!failover && o[k] !== undefined) {
      throw new TypeError(`options.${k} needs an array of URLs (a single URL string never fails over)`);
    }
  }
  const heartbeat = (o.heartbeatMs as number | undefined) ?? 5_000;
  const pongTimeout = (o.pongTimeoutMs as number | undefined) ?? 10_000;
  if (heartbeat >= pongTimeout) {
    throw new RangeError(`options.heartbeatMs (${heartbeat}) must be less than options.pongTimeoutMs (${pongTimeout})`);
  }
}

/** `url` of connect: a ws:// or wss:// URL, or an array of 1 to URLS_MAX of them. */
function urlsArg(url: unknown): string[] {
  if (typeof url === 'string') {
    urlArg(url, 'url');
    return [url];
  }
  if (!Array.isArray(url)) {
    throw new TypeError(
      `url must be a string (ws://host:port/ws) or an array of such strings, got ${describeValue(url)}`);
  }
  if (url.length < 1 || url.length > URLS_MAX) {
    throw new RangeError(`url: an array of 1 to ${URLS_MAX} URLs, got ${url.length}`);
  }
  url.forEach((u, i) => urlArg(u, `url[${i}]`));
  return [...url] as string[];
}

function urlArg(u: unknown, name: string): void {
  if (typeof u !== 'string') throw new TypeError(`${name} must be a string (ws://host:port/ws), got ${describeValue(u)}`);
  if (u.length > URL_CHARS_MAX) {
    throw new RangeError(`${name} must be at most ${URL_CHARS_MAX} characters, got ${u.length}`);
  }
  let protocol = '';
  try {
    protocol = new URL(u).protocol;
  } catch { /* not a URL: named below */ }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new TypeError(`${name} must be a ws:// or wss:// URL, got ${JSON.stringify(u.slice(0, 64))}`);
  }
}

/** Submit options → header flags. `trusted` is submitBatch's alone (submitTrusted sets it itself). */
function submitFlags(options: unknown, trustedAllowed: boolean): number {
  optionsArg(options, 'options');
  const o = options as SubmitOptions;
  let flags = 0;
  if (trustedAllowed && o.trusted !== undefined) {
    if (typeof o.trusted !== 'boolean') {
      throw new TypeError(`options.trusted must be a boolean, got ${describeValue(o.trusted)}`);
    }
    if (o.trusted) flags |= SUBMIT_TRUSTED;
  }
  if (o.wait !== undefined && o.wait !== 'durable' && o.wait !== 'final') {
    throw new TypeError(`options.wait must be 'durable' or 'final', got ${describeValue(o.wait)}`);
  }
  if (o.wait === 'final') flags |= SUBMIT_FINAL;
  return flags;
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
