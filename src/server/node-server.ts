// The network node: uWS ingress → admission → Batcher → NodeBackend (verify, sequence,
// block, sync) → results and pub/sub events. This file is the thin layer: it parses frames,
// enforces the limits in limits.ts, and routes; outcomes are decided behind NodeBackend.
//
// Memory bound: per connection, at most IN_FLIGHT_BATCHES_MAX frames of at most
// FRAME_BYTES_MAX are held, and node-wide at most QUEUE_RECORDS_MAX records; sends beyond
// SEND_BUFFER_BYTES_MAX are never buffered (the connection is cut instead).

import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import {
  COMPRESSION_DISABLED, SEND_DROPPED, copyBytes, createApp, listen, type Listening, type UwsApp, type UwsRequest,
  type UwsResponse, type UwsSocket, type UwsTls,
} from '../../native/uws.js';
import { HINT_VOUCHED, OFF_HINT, RECORD_BYTES, U128_MAX, encode, type RecordFields } from '../codec/record.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import { RESULT_APPLY_MIN, ResultCode, resultName } from '../codec/results.js';
import type { BlockEvent, Json, NodeBackend, SubmitOutcome } from '../pipeline/backend.js';
import { Batcher, SOURCE_GONE } from '../pipeline/batcher.js';
import { type Identity, topicAccess } from './access.js';
import type { AuditEvent } from './audit.js';
import { blockTopics } from './events.js';
import { PACKAGE_VERSION } from '../protocol/version.js';
import { type Limits, resolveLimits } from '../protocol/limits.js';
import { Metrics, metricLines } from './metrics.js';
import { type ConsoleFile, loadConsole, writeConsoleFile } from './console-static.js';
import {
  CloseCode, ErrorCode, Frame, HEADER_BYTES, KEY_ID_BYTES, NONCE_BYTES, NOT_IN_BLOCK, PROTOCOL_VERSION, RESULT_BYTES,
  SIGNATURE_BYTES, SUBMIT_FINAL, SUBMIT_TRUSTED, authMessage, errorFrame, errorName, makeFrame, parseTopic,
  readBlockEvent, readRecordEvents, TOPIC_ALARMS, type Topic, alarmFrame, HTTP_AUTH_SCHEME, HTTP_AUTH_SKEW_MS,
  httpAuthMessage, parseHttpAuth,
} from '../protocol/wire.js';
import { ROLE_ADMIN, ROLE_REGULATOR } from '../codec/record.js';
import { equalBytes } from '../crypto/bytes.js';

/** Failed authentication attempts a connection gets before it is closed. */
export const AUTH_ATTEMPTS_MAX = 3;
/** Prefix of the uWS topic that carries a topic's events as JSON text. */
const JSON_TOPIC_PREFIX = 'json:';

export type VerifySignature = (msg: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => boolean;

export interface NodeServerOptions {
  backend: NodeBackend;
  /** Default 127.0.0.1: a node is reachable from elsewhere only when the operator says so. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  limits?: Partial<Limits>;
  /** Key ids (32 bytes) allowed to submit SUBMIT_TRUSTED (gateway) batches. */
  gatewayKeys?: Uint8Array[];
  /** SM2 verification for authentication; default: the ledger's SM2 backend. */
  verifySignature?: VerifySignature;
  /** Where the node's own log lines go: errors by default; failed logins as 'warn' with fields. */
  log?: (line: string, level?: 'warn' | 'error', fields?: Record<string, unknown>) => void;
  /**
   * Web origins (e.g. `https://console.example`) whose pages may read the HTTP API
   * cross-origin; default none: no access-control-allow-origin header at all.
   */
  corsOrigins?: string[];
  /** Serve TLS (wss://, https://) with this PEM certificate chain and key; default plain ws:// and http://. */
  tls?: UwsTls;
  /**
   * Every HTTP route but /status, /metrics and the console needs a signed request
   * (docs/protocol.md, "HTTP authentication"), and an account is readable by its controller,
   * admins and regulators only; default false (then only /alerts needs one).
   */
  httpAuth?: boolean;
  /** The audit trail every authenticated access is recorded in (audit.ts); default none. */
  audit?: { record(e: AuditEvent): void };
  /** Serve the web console at `GET /` (docs/console.md); default true. */
  console?: boolean;
}

interface Conn {
  id: number;
  ws: UwsSocket<Conn> | undefined;
  open: boolean;
  nonce: Uint8Array;
  who: Identity | undefined;
  gateway: boolean;
  authFailures: number;
  /** Records with bad signatures this connection sent in the current window, and when the window began. */
  badSignatures: number;
  badWindowStart: number;
  /** Past a quarter of BAD_SIGNATURES_PER_WINDOW_MAX: one frame in flight at a time. */
  slowed: boolean;
  inFlight: Set<number>;
  subscriptions: number;
  /** Subscriptions to topics other than `blocks` (they need each block's records). */
  recordSubscriptions: number;
  // Token buckets (tokens, last refill ms).
  frameTokens: number;
  recordTokens: number;
  refillMs: number;
  errors: number;
  errorWindowStart: number;
  openedMs: number;
  /** Unsolicited frames (the challenge) as JSON: the upgrade URL had ?format=json. */
  json: boolean;
}

type Reply = { binary: Uint8Array } | { json: Record<string, unknown> };

/** Writes one HTTP response, unless the client has gone. */
type HttpReply = (status: string, body: string, type?: string, retryAfterS?: number) => void;

function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? toHex(x) : x));
}

function parseU128(s: string): bigint | undefined {
  if (!/^(0x[0-9a-fA-F]{1,32}|[0-9]{1,39})$/.test(s)) return undefined;
  const v = BigInt(s);
  return v <= U128_MAX ? v : undefined;
}

function parseHeight(s: string): number | undefined {
  if (!/^[0-9]{1,15}$/.test(s)) return undefined;
  return Number(s);
}

/** Record fields that a JSON record gives as decimal strings (u64/u128), and as hex (bytes). */
const JSON_BIGINT_FIELDS = [
  'id', 'timestamp', 'debitAccountId', 'creditAccountId', 'amount', 'pendingId', 'userData', 'accountId',
  // clearing (docs/clearing.md)
  'clearingAccountId', 'cycleId', 'untilMs', 'maxAmount', 'maxWindowAmount',
];
const JSON_BYTES_FIELDS = ['signer', 'publicKey', 'controller', 'digest', 'metadata'];

const BAD_SIGNATURE = ResultCode.bad_signature;
const BAD_VOUCH = ResultCode.bad_vouch;

/** The event-loop delay metrics cover windows of this length. */
const LOOP_WINDOW_MS = 10_000;

export class NodeServer {
  readonly backend: NodeBackend;
  readonly limits: Limits;
  readonly metrics = new Metrics();
  readonly #batcher: Batcher;
  readonly #app: UwsApp;
  readonly #tls: boolean;
  readonly #gateways: Set<string>;
  readonly #conns = new Set<Conn>();
  #httpInFlight = 0;
  #httpBusy = 0;
  /** close() waiting for the HTTP queries in flight to finish (the backend closes after). */
  #httpIdle: (() => void)[] = [];
  /** Closes connections idle and anonymous past UNAUTHENTICATED_IDLE_MS. */
  #idleSweep: ReturnType<typeof setInterval> | undefined;
  readonly #log: (line: string, level?: 'warn' | 'error', fields?: Record<string, unknown>) => void;
  #verify: VerifySignature | undefined;
  #listening: Listening | undefined;
  #unsubscribeBlocks: () => void;
  #unsubscribeAlarms: () => void;
  #nextConnId = 1;
  #recordSubscriptions = 0;
  #closing = false;
  // Event-loop delay: the main thread runs uWS, admission and the sequencer, so a stall
  // here shows up as tail latency for everyone.
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  #loopWindow = { p99: 0, max: 0 };
  #loopWindowTimer: NodeJS.Timeout | undefined;
  readonly #startedMs = Date.now();
  readonly #corsOrigins: Set<string>;
  readonly #httpAuth: boolean;
  /** Bad-signature windows per key id (hex), over all the key's connections. */
  readonly #badByKey = new Map<string, { start: number; count: number; bannedUntil: number }>();
  readonly #audit: { record(e: AuditEvent): void } | undefined;
  /** The web console's files by URL path, read at start (console-static.ts). */
  readonly #console: Map<string, ConsoleFile>;
  readonly host: string;

  private constructor(options: NodeServerOptions, verify: VerifySignature) {
    this.backend = options.backend;
    const max = options.backend.submitRecordsMax;
    const limits = resolveLimits(options.limits);
    // Never hand the backend more per submit than it takes; batches must still fit one submit.
    if (max !== undefined && max < limits.SUBMIT_RECORDS_MAX) {
      if (max < limits.BATCH_RECORDS_MAX) {
        throw new RangeError(`backend takes ${max} records per submit, below BATCH_RECORDS_MAX`);
      }
      limits.SUBMIT_RECORDS_MAX = max;
    }
    this.limits = limits;
    this.host = options.host ?? '127.0.0.1';
    this.#gateways = new Set((options.gatewayKeys ?? []).map((k) => toHex(k)));
    this.#verify = verify;
    this.#log = options.log ?? (() => undefined);
    this.#corsOrigins = new Set(options.corsOrigins ?? []);
    this.#httpAuth = options.httpAuth === true;
    this.#audit = options.audit;
    this.#console = options.console === false ? new Map() : loadConsole();
    this.#batcher = new Batcher(this.backend, this.limits);
    this.#tls = options.tls !== undefined;
    this.#app = createApp(options.tls);
    this.#routes();
    this.#unsubscribeBlocks = this.backend.onBlock((b) => this.#onBlock(b), () => this.#recordSubscriptions > 0);
    this.#unsubscribeAlarms = this.backend.onAlarm?.((a) => this.#onAlarm(a)) ?? (() => undefined);
    this.#loopDelay.enable();
    // Event-loop delay over windows of LOOP_WINDOW_MS: a figure "since start" never falls,
    // so it could not drive an alert. The last complete window is what /metrics shows.
    this.#loopWindowTimer = setInterval(() => {
      this.#loopWindow = { p99: this.#loopDelay.percentile(99), max: this.#loopDelay.max };
      this.#loopDelay.reset();
    }, LOOP_WINDOW_MS);
    this.#loopWindowTimer.unref();
    const sweepMs = Math.max(10, Math.min(1_000, this.limits.UNAUTHENTICATED_IDLE_MS >> 2));
    this.#idleSweep = setInterval(() => this.#closeIdleAnonymous(), sweepMs);
    this.#idleSweep.unref();
  }

  #closeIdleAnonymous(): void {
    const cutoff = performance.now() - this.limits.UNAUTHENTICATED_IDLE_MS;
    for (const c of this.#conns) {
      if (c.who === undefined && c.subscriptions === 0 && c.openedMs < cutoff) {
        this.#end(c, CloseCode.auth_timeout, 'authenticate or subscribe after connecting');
      }
    }
  }

  static async start(options: NodeServerOptions): Promise<NodeServer> {
    let verify = options.verifySignature;
    if (verify === undefined) {
      const { sm2Backend } = await import('../crypto/sm2-backend.js');
      verify = (msg, signature, publicKey) => sm2Backend.verifyBatch([{ msg, signature, publicKey }])[0] === true;
    }
    const server = new NodeServer(options, verify);
    try {
      server.#listening = await listen(server.#app, server.host, options.port ?? 0);
    } catch (e) {
      server.#unsubscribeBlocks();
      server.#unsubscribeAlarms();
      throw e;
    }
    return server;
  }

  get port(): number {
    return this.#listening?.port ?? 0;
  }

  /** Whether the node serves TLS (wss:// and https://). */
  get tls(): boolean {
    return this.#tls;
  }

  get url(): string {
    return `${this.#tls ? 'wss' : 'ws'}://${this.host}:${this.port}/ws`;
  }

  get httpUrl(): string {
    return `${this.#tls ? 'https' : 'http'}://${this.host}:${this.port}`;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Stops accepting, answers everything already admitted (results only once durable), then
   * closes every connection with 4011. Does not close the backend: its owner does.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#idleSweep);
    this.#listening?.close();
    await this.#batcher.drain();
    if (this.#httpInFlight > 0) await new Promise<void>((resolve) => this.#httpIdle.push(resolve));
    this.#unsubscribeBlocks();
    this.#unsubscribeAlarms();
    this.#loopDelay.disable();
    clearInterval(this.#loopWindowTimer);
    for (const c of [...this.#conns]) {
      if (c.open && c.ws !== undefined) c.ws.end(CloseCode.shutting_down, 'node stopping');
    }
    this.#conns.clear();
  }

  // ------------------------------------------------------------------------------------
  // WebSocket.

  #routes(): void {
    const L = this.limits;
    this.#app.ws<Conn>('/ws', {
      maxPayloadLength: L.TRANSPORT_FRAME_BYTES_MAX,
      maxBackpressure: L.SEND_BUFFER_BYTES_MAX,
      closeOnBackpressureLimit: false,
      idleTimeout: L.IDLE_TIMEOUT_S,
      sendPingsAutomatically: true,
      compression: COMPRESSION_DISABLED,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => {
        const c = ws.getUserData();
        try {
          this.#message(c, message, isBinary);
        } catch (e) {
          this.#log(`connection ${c.id}: internal error ${(e as Error).stack ?? e}`);
          this.#sendError(c, 0, ErrorCode.internal, 'internal error', !isBinary);
        }
      },
      drain: () => undefined,
      close: (ws) => {
        const c = ws.getUserData();
        c.open = false;
        c.ws = undefined;
        this.#batcher.dropSource(c.id);
        this.#recordSubscriptions -= c.recordSubscriptions;
        c.recordSubscriptions = 0;
        this.#conns.delete(c);
      },
    });
    this.#app.get('/*', (res, req) => this.#http(res, req, false));
    this.#app.head('/*', (res, req) => this.#http(res, req, true));
    this.#app.any('/*', (res) => {
      res.writeStatus('405 Method Not Allowed').writeHeader('allow', 'GET, HEAD')
        .writeHeader('content-type', 'application/json').end(jsonText({ error: 'method_not_allowed' }));
    });
  }

  #upgrade(res: UwsResponse, req: UwsRequest, context: unknown): void {
    if (this.#closing || this.#conns.size >= this.limits.CONNECTIONS_MAX) {
      res.writeStatus('503 Service Unavailable').end(this.#closing ? 'shutting down' : 'too many connections');
      return;
    }
    const now = performance.now();
    const conn: Conn = {
      id: this.#nextConnId++, ws: undefined, open: false, nonce: randomBytes(NONCE_BYTES), who: undefined,
      gateway: false, authFailures: 0, badSignatures: 0, badWindowStart: now, slowed: false,
      inFlight: new Set(), subscriptions: 0, recordSubscriptions: 0,
      frameTokens: this.limits.FRAMES_PER_SECOND_MAX, recordTokens: this.limits.RECORDS_PER_SECOND_MAX, refillMs: now,
      errors: 0, errorWindowStart: now, openedMs: now, json: req.getQuery('format') === 'json',
    };
    res.upgrade(conn, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), context);
  }

  #open(ws: UwsSocket<Conn>): void {
    const c = ws.getUserData();
    c.ws = ws;
    c.open = true;
    this.#conns.add(c);
    this.metrics.connectionsOpened++;
    this.#sendChallenge(c, c.json);
  }

  #sendChallenge(c: Conn, json: boolean): void {
    if (json) {
      this.#send(c, { json: { op: 'challenge', chainId: this.backend.chainId, nonce: toHex(c.nonce) } });
    } else {
      const f = makeFrame(Frame.challenge, 0, 0, 4 + NONCE_BYTES);
      new DataView(f.buffer).setUint32(HEADER_BYTES, this.backend.chainId >>> 0, true);
      f.set(c.nonce, HEADER_BYTES + 4);
      this.#send(c, { binary: f });
    }
  }

  #send(c: Conn, reply: Reply): void {
    if (!c.open || c.ws === undefined) return;
    const r = 'binary' in reply ? c.ws.send(reply.binary, true) : c.ws.send(jsonText(reply.json), false);
    if (r === SEND_DROPPED) {
      // The peer is not reading: never buffer beyond SEND_BUFFER_BYTES_MAX, cut it off.
      this.metrics.slowSubscribersCut++;
      this.#end(c, CloseCode.slow_subscriber, 'send buffer full');
    }
  }

  #end(c: Conn, code: number, reason: string): void {
    if (!c.open || c.ws === undefined) return;
    const ws = c.ws;
    c.open = false;
    ws.end(code, reason);
  }

  #sendError(c: Conn, requestId: number, code: number, message: string, json: boolean): void {
    this.metrics.error(errorName(code));
    if (json) this.#send(c, { json: { op: 'error', id: requestId, code, error: errorName(code), message } });
    else this.#send(c, { binary: errorFrame(requestId, code, message) });
    // A connection that keeps erring is closed: answering a flood costs more than it.
    const now = performance.now();
    if (now - c.errorWindowStart > this.limits.ERROR_WINDOW_MS) {
      c.errorWindowStart = now;
      c.errors = 0;
    }
    if (++c.errors > this.limits.ERRORS_PER_WINDOW_MAX) this.#end(c, CloseCode.too_many_errors, 'too many errors');
  }

  #refill(c: Conn): void {
    const now = performance.now();
    const dt = (now - c.refillMs) / 1000;
    c.refillMs = now;
    const { FRAMES_PER_SECOND_MAX, RECORDS_PER_SECOND_MAX } = this.limits;
    c.frameTokens = Math.min(FRAMES_PER_SECOND_MAX, c.frameTokens + dt * FRAMES_PER_SECOND_MAX);
    c.recordTokens = Math.min(RECORDS_PER_SECOND_MAX, c.recordTokens + dt * RECORDS_PER_SECOND_MAX);
  }

  #message(c: Conn, message: ArrayBuffer, isBinary: boolean): void {
    if (!c.open) return;
    this.metrics.frames++;
    this.metrics.bytesIn += message.byteLength;
    this.#refill(c);
    if (c.frameTokens < 1) {
      this.#sendError(c, 0, ErrorCode.rate_limited, `over ${this.limits.FRAMES_PER_SECOND_MAX} frames/s`, !isBinary);
      return;
    }
    c.frameTokens -= 1;
    if (message.byteLength > this.limits.FRAME_BYTES_MAX) {
      this.#sendError(c, 0, ErrorCode.frame_too_large,
        `frame of ${message.byteLength} bytes over FRAME_BYTES_MAX ${this.limits.FRAME_BYTES_MAX}`, !isBinary);
      return;
    }
    if (!isBinary) {
      this.#json(c, Buffer.from(message).toString('utf8'));
      return;
    }
    this.#binary(c, message);
  }

  #binary(c: Conn, message: ArrayBuffer): void {
    const b = new Uint8Array(message);
    if (b.length < HEADER_BYTES) {
      this.#sendError(c, 0, ErrorCode.bad_frame,
        `frame of ${b.length} bytes is shorter than the ${HEADER_BYTES}-byte header`, false);
      return;
    }
    const v = new DataView(message);
    const type = b[1];
    const flags = v.getUint16(2, true);
    const requestId = v.getUint32(4, true);
    const count = v.getUint32(8, true);
    if (b[0] !== PROTOCOL_VERSION) {
      this.#sendError(c, requestId, ErrorCode.bad_protocol_version,
        `protocol version ${b[0]}, expected ${PROTOCOL_VERSION}`, false);
      return;
    }
    if (v.getUint32(12, true) !== 0 || (type !== Frame.submit && flags !== 0)) {
      this.#sendError(c, requestId, ErrorCode.bad_frame, 'reserved header bits must be zero', false);
      return;
    }
    switch (type) {
      case Frame.submit:
        this.#submitFrame(c, message, requestId, flags, count);
        return;
      case Frame.auth:
        this.#authFrame(c, b, requestId);
        return;
      case Frame.subscribe:
      case Frame.unsubscribe: {
        const topic = Buffer.from(b.buffer, b.byteOffset + HEADER_BYTES, b.length - HEADER_BYTES).toString('utf8');
        this.#subscribe(c, requestId, topic, type === Frame.subscribe, false);
        return;
      }
      case Frame.ping:
        this.#send(c, { binary: makeFrame(Frame.pong, requestId, 0, 0) });
        return;
      default:
        this.#sendError(c, requestId, ErrorCode.unknown_frame_type, `unknown frame type 0x${type.toString(16)}`, false);
    }
  }

  #submitFrame(c: Conn, message: ArrayBuffer, requestId: number, flags: number, count: number): void {
    if ((flags & ~(SUBMIT_TRUSTED | SUBMIT_FINAL)) !== 0) {
      this.#sendError(c, requestId, ErrorCode.bad_frame, 'unknown submit flags', false);
      return;
    }
    const payloadBytes = message.byteLength - HEADER_BYTES;
    if (payloadBytes !== count * RECORD_BYTES) {
      this.#sendError(c, requestId, ErrorCode.batch_truncated,
        `payload of ${payloadBytes} bytes is not ${count} × ${RECORD_BYTES}`, false);
      return;
    }
    // Copy out of uWS's buffer (valid only during this callback).
    const batch = count === 0 ? new Uint8Array(0) : copyBytes(message, HEADER_BYTES);
    this.#submit(c, requestId, batch, count, (flags & SUBMIT_TRUSTED) !== 0, false, (flags & SUBMIT_FINAL) !== 0);
  }

  #authFrame(c: Conn, b: Uint8Array, requestId: number): void {
    const body = b.subarray(HEADER_BYTES);
    if (body.length !== KEY_ID_BYTES + SIGNATURE_BYTES && body.length !== KEY_ID_BYTES + SIGNATURE_BYTES + 1) {
      this.#sendError(c, requestId, ErrorCode.bad_frame, 'auth payload must be key id (32) ‖ r‖s (64) [‖ hint]', false);
      return;
    }
    this.#auth(c, requestId, body.slice(0, KEY_ID_BYTES), body.slice(KEY_ID_BYTES), false);
  }

  /** The per-frame checks before a submit is queued; false (the error sent, or the connection closed) if refused. */
  #submitAllowed(c: Conn, requestId: number, count: number, trusted: boolean, json: boolean): boolean {
    const L = this.limits;
    const fail = (code: number, message: string): false => {
      this.#sendError(c, requestId, code, message, json);
      return false;
    };
    if (this.#closing) return fail(ErrorCode.shutting_down, 'node stopping');
    if (c.who === undefined) return fail(ErrorCode.not_authenticated, 'authenticate before submitting');
    if (count === 0) return fail(ErrorCode.batch_empty, 'a batch needs at least one record');
    const max = json ? L.JSON_BATCH_RECORDS_MAX : L.BATCH_RECORDS_MAX;
    if (count > max) return fail(ErrorCode.batch_too_large, `${count} records over the batch limit ${max}`);
    if (trusted && (!c.gateway || !this.backend.supportsTrusted)) {
      return fail(ErrorCode.trusted_not_allowed,
        c.gateway ? 'this node cannot accept trusted batches' : 'this key is not a configured gateway');
    }
    if (c.inFlight.has(requestId)) {
      return fail(ErrorCode.duplicate_request_id, `request ${requestId} is still in flight`);
    }
    const inFlightMax = c.slowed ? 1 : L.IN_FLIGHT_BATCHES_MAX;
    if (c.inFlight.size >= inFlightMax) {
      return fail(ErrorCode.too_many_in_flight, `${inFlightMax} batches already in flight on this connection` +
        (c.slowed ? ' (slowed: too many bad signatures)' : ''));
    }
    if (c.recordTokens < count) return fail(ErrorCode.rate_limited, `over ${L.RECORDS_PER_SECOND_MAX} records/s`);
    if (this.#overBadSignatures(c)) {
      // Its key is past the bad-signature limit on another connection: close before verifying anything.
      this.metrics.badSignatureCloses++;
      this.#end(c, CloseCode.bad_signatures, 'too many bad signatures');
      return false;
    }
    return true;
  }

  #submit(
    c: Conn, requestId: number, batch: Uint8Array, count: number, trusted: boolean, json: boolean, final = false,
  ): void {
    const L = this.limits;
    if (c.who !== undefined) {
      this.#audit?.record({
        who: toHex(c.who.keyId), via: 'ws', what: `submit ${count} records${trusted ? ' (trusted)' : ''}`,
        outcome: 'received',
      });
    }
    if (!this.#submitAllowed(c, requestId, count, trusted, json)) return;
    const fail = (code: number, message: string) => this.#sendError(c, requestId, code, message, json);
    const started = performance.now();
    const admitted = this.#batcher.enqueue({
      batch, count, trusted, source: c.id,
      done: (outcome, error) => {
        c.inFlight.delete(requestId);
        if (error === SOURCE_GONE) return;
        if (outcome === undefined) {
          this.#log(`submit failed: ${(error as Error)?.stack ?? error}`);
          this.#sendError(c, requestId, ErrorCode.internal, 'the ledger failed; outcome unknown', json);
          return;
        }
        this.#countOutcome(outcome);
        this.#noteBadSignatures(c, outcome.codes);
        this.metrics.submitLatency.observe((performance.now() - started) / 1000);
        const reply = () => this.#send(c, json
          ? { json: this.#resultsJson(requestId, outcome) }
          : { binary: this.#resultsFrame(requestId, outcome) });
        const height = final && this.backend.waitFinal ? Math.max(-1, ...outcome.heights) : -1;
        if (height < 0) { reply(); return; }
        // The frame stays in flight (and counts against the connection's window) until final.
        c.inFlight.add(requestId);
        this.backend.waitFinal!(height).then(() => {
          c.inFlight.delete(requestId);
          this.metrics.finalLatency.observe((performance.now() - started) / 1000);
          reply();
        }, (err: Error) => {
          c.inFlight.delete(requestId);
          const why = `durable at this node, but not final: ${err.message}`;
          this.#sendError(c, requestId, ErrorCode.not_final, why, json);
        });
      },
    });
    if (admitted !== true) {
      return fail(ErrorCode.overloaded, admitted === 'source_full'
        ? `this connection's share of the queue is full (${L.QUEUE_RECORDS_PER_SOURCE_MAX} records); retry later`
        : `node queue full (${L.QUEUE_RECORDS_MAX} records); retry later`);
    }
    c.recordTokens -= count;
    c.inFlight.add(requestId);
  }

  /**
   * Bad signatures cost a verification each: a connection (or a key, over all its
   * connections) that sends more than a quarter of BAD_SIGNATURES_PER_WINDOW_MAX in a window
   * is slowed to one frame in flight, and past the limit closed (4013).
   */
  #noteBadSignatures(c: Conn, codes: Uint16Array): void {
    let n = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] === BAD_SIGNATURE || codes[i] === BAD_VOUCH) n++;
    if (n === 0) return;
    const L = this.limits;
    const now = performance.now();
    if (now - c.badWindowStart > L.ERROR_WINDOW_MS) { c.badWindowStart = now; c.badSignatures = 0; }
    c.badSignatures += n;
    let worst = c.badSignatures;
    if (c.who !== undefined) {
      const k = toHex(c.who.keyId);
      let e = this.#badByKey.get(k);
      if (e === undefined || now - e.start > L.ERROR_WINDOW_MS) {
        if (this.#badByKey.size >= L.CONNECTIONS_MAX) {
          // Bounded: windows and bars that ended go first; if all are live, all go.
          for (const [key, x] of this.#badByKey) {
            if (now - x.start > L.ERROR_WINDOW_MS && now >= x.bannedUntil) this.#badByKey.delete(key);
          }
          if (this.#badByKey.size >= L.CONNECTIONS_MAX) this.#badByKey.clear();
        }
        e = { start: now, count: 0, bannedUntil: e?.bannedUntil ?? 0 };
        this.#badByKey.set(k, e);
      }
      e.count += n;
      worst = Math.max(worst, e.count);
    }
    if (worst > L.BAD_SIGNATURES_PER_WINDOW_MAX) {
      if (c.who !== undefined) this.#badByKey.get(toHex(c.who.keyId))!.bannedUntil = now + L.BAD_SIGNATURES_BAN_MS;
      this.metrics.badSignatureCloses++;
      this.#log(`connection ${c.id}: closed after ${worst} bad signatures in ${L.ERROR_WINDOW_MS} ms`, 'warn',
        { event: 'bad_signatures', connection: c.id, keyId: c.who ? toHex(c.who.keyId) : null });
      this.#end(c, CloseCode.bad_signatures, 'too many bad signatures');
    } else if (worst * 4 > L.BAD_SIGNATURES_PER_WINDOW_MAX) {
      c.slowed = true;
    }
  }

  /** This connection's key is barred for bad signatures (BAD_SIGNATURES_BAN_MS after it passed the limit). */
  #overBadSignatures(c: Conn): boolean {
    if (c.who === undefined || this.#badByKey.size === 0) return false;
    const e = this.#badByKey.get(toHex(c.who.keyId));
    return e !== undefined && performance.now() < e.bannedUntil;
  }

  #countOutcome(o: SubmitOutcome): void {
    let ok = 0;
    for (let i = 0; i < o.codes.length; i++) {
      const code = o.codes[i];
      if (code === 0) ok++;
      else if (code < RESULT_APPLY_MIN) this.metrics.refusedAtAdmission[code]++;
    }
    this.metrics.committed(ok, o.codes.length - ok, Date.now());
  }

  #resultsFrame(requestId: number, o: SubmitOutcome): Uint8Array {
    const n = o.codes.length;
    const f = makeFrame(Frame.results, requestId, n, n * RESULT_BYTES);
    const v = new DataView(f.buffer);
    for (let i = 0; i < n; i++) {
      const p = HEADER_BYTES + i * RESULT_BYTES;
      const height = o.heights[i];
      v.setUint16(p, o.codes[i], true);
      // The u64 height as two u32 halves: no BigInt per record.
      if (height < 0) {
        v.setUint32(p + 4, NOT_IN_BLOCK, true);
        v.setUint32(p + 8, 0xffffffff, true);
        v.setUint32(p + 12, 0xffffffff, true);
      } else {
        v.setUint32(p + 4, o.indexes[i], true);
        v.setUint32(p + 8, height >>> 0, true);
        v.setUint32(p + 12, Math.floor(height / 0x100000000), true);
      }
    }
    return f;
  }

  #resultsJson(requestId: number, o: SubmitOutcome): Record<string, unknown> {
    const results = [];
    for (let i = 0; i < o.codes.length; i++) {
      const inBlock = o.heights[i] >= 0;
      results.push({
        code: o.codes[i], result: resultName(o.codes[i]),
        height: inBlock ? o.heights[i] : -1, index: inBlock ? o.indexes[i] : -1,
      });
    }
    return { op: 'results', id: requestId, results };
  }

  #auth(c: Conn, requestId: number, keyId: Uint8Array, signature: Uint8Array, json: boolean): void {
    if (c.who !== undefined) {
      this.#sendError(c, requestId, ErrorCode.already_authenticated, 'already authenticated', json);
      return;
    }
    const key = this.backend.key(keyId);
    const msg = authMessage(this.backend.chainId, c.nonce);
    let ok = false;
    if (key !== undefined) {
      try {
        ok = this.#verify!(msg, signature, key.publicKey);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      // Same answer for unknown key and bad signature: do not reveal which keys exist.
      this.#sendError(c, requestId, ErrorCode.auth_failed, 'unknown key or bad signature', json);
      this.#audit?.record({ who: toHex(keyId), via: 'ws', what: 'login_failed', outcome: 'auth_failed' });
      this.#log(`authentication failed on connection ${c.id}`, 'warn', {
        event: 'auth_failed', connection: c.id, keyId: toHex(keyId), attempt: c.authFailures + 1,
      });
      if (++c.authFailures >= AUTH_ATTEMPTS_MAX) {
        this.#end(c, CloseCode.too_many_errors, 'too many failed authentications');
        return;
      }
      // A fresh nonce per attempt: a captured response can never be replayed.
      c.nonce = randomBytes(NONCE_BYTES);
      this.#sendChallenge(c, json);
      return;
    }
    c.who = { keyId, roles: key!.roles, ledger: key!.ledger };
    if (this.#overBadSignatures(c)) {
      this.#audit?.record({ who: toHex(keyId), via: 'ws', what: 'login', outcome: 'bad_signatures' });
      this.#end(c, CloseCode.bad_signatures, 'this key is barred for bad signatures; retry later');
      return;
    }
    this.#audit?.record({ who: toHex(keyId), via: 'ws', what: 'login', outcome: 'ok' });
    c.gateway = this.#gateways.has(toHex(keyId));
    if (json) {
      this.#send(c, {
        json: { op: 'auth_ok', id: requestId, roles: key!.roles, ledger: key!.ledger, gateway: c.gateway },
      });
    } else {
      const f = makeFrame(Frame.auth_ok, requestId, 0, 8);
      const v = new DataView(f.buffer);
      v.setUint32(HEADER_BYTES, key!.roles, true);
      v.setUint32(HEADER_BYTES + 4, key!.ledger, true);
      f[2] = c.gateway ? 1 : 0;
      this.#send(c, { binary: f });
    }
  }

  #subscribe(c: Conn, requestId: number, name: string, on: boolean, json: boolean): void {
    const topic = parseTopic(name);
    if (topic === undefined) {
      this.#sendError(c, requestId, ErrorCode.unknown_topic,
        `unknown topic ${JSON.stringify(name.slice(0, 64))}`, json);
      return;
    }
    const uwsTopic = json ? JSON_TOPIC_PREFIX + name : name;
    const ws = c.ws!;
    if (on) {
      const denied = topicAccess(topic, c.who, this.backend);
      if (c.who !== undefined) {
        this.#audit?.record({ who: toHex(c.who.keyId), via: 'ws', what: `subscribe ${name}`,
          outcome: denied === 0 ? 'ok' : errorName(denied) });
      }
      if (denied !== 0) {
        this.#sendError(c, requestId, denied, `not allowed to subscribe to ${name}`, json);
        return;
      }
      if (!ws.isSubscribed(uwsTopic)) {
        if (c.subscriptions >= this.limits.SUBSCRIPTIONS_MAX) {
          this.#sendError(c, requestId, ErrorCode.too_many_subscriptions,
            `at most ${this.limits.SUBSCRIPTIONS_MAX}`, json);
          return;
        }
        ws.subscribe(uwsTopic);
        c.subscriptions++;
        if (carriesRecords(topic)) { c.recordSubscriptions++; this.#recordSubscriptions++; }
      }
    } else if (ws.isSubscribed(uwsTopic)) {
      ws.unsubscribe(uwsTopic);
      c.subscriptions--;
      if (carriesRecords(topic)) { c.recordSubscriptions--; this.#recordSubscriptions--; }
    }
    if (json) {
      this.#send(c, { json: { op: on ? 'subscribed' : 'unsubscribed', id: requestId, topic: name } });
    } else {
      const t = new TextEncoder().encode(name);
      const f = makeFrame(on ? Frame.subscribed : Frame.unsubscribed, requestId, 0, t.length);
      f.set(t, HEADER_BYTES);
      this.#send(c, { binary: f });
    }
  }

  // JSON frames: converted at the edge into the same calls binary frames make.
  #json(c: Conn, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
    } catch (e) {
      this.#sendError(c, 0, ErrorCode.bad_json, `not a JSON object: ${(e as Error).message}`, true);
      return;
    }
    // An id that is present must be a u32: answering a bad one with id 0 would tie the
    // reply to no request (or to another one).
    const validId = typeof m.id === 'number' && Number.isInteger(m.id) && m.id >= 0 && m.id <= 0xffffffff;
    if (m.id !== undefined && !validId) {
      this.#sendError(c, 0, ErrorCode.bad_json,
        `id must be an integer in [0, 4294967295], got ${JSON.stringify(m.id)?.slice(0, 32)}`, true);
      return;
    }
    const id = (m.id as number | undefined) ?? 0;
    const bad = (why: string) => this.#sendError(c, id, ErrorCode.bad_json, why, true);
    switch (m.op) {
      case 'auth':
        this.#jsonAuth(c, id, m, bad);
        return;
      case 'submit':
        this.#jsonSubmit(c, id, m, bad);
        return;
      case 'subscribe':
      case 'unsubscribe':
        if (typeof m.topic !== 'string') return bad(`${m.op} needs topic: a string`);
        this.#subscribe(c, id, m.topic, m.op === 'subscribe', true);
        return;
      case 'ping':
        this.#send(c, { json: { op: 'pong', id } });
        return;
      default:
        this.#sendError(c, id, ErrorCode.unknown_frame_type,
          `unknown op ${JSON.stringify(String(m.op).slice(0, 32))}`, true);
    }
  }

  #jsonAuth(c: Conn, id: number, m: Record<string, unknown>, bad: (why: string) => void): void {
    if (typeof m.keyId !== 'string' || typeof m.signature !== 'string') {
      return bad('auth needs keyId and signature (hex)');
    }
    let keyId: Uint8Array, sig: Uint8Array;
    try {
      keyId = fromHex(m.keyId);
      sig = fromHex(m.signature);
    } catch {
      return bad('keyId and signature must be hex');
    }
    if (keyId.length !== KEY_ID_BYTES || (sig.length !== 64 && sig.length !== 65)) {
      return bad('keyId 32 bytes, signature 64');
    }
    this.#auth(c, id, keyId, sig, true);
  }

  #jsonSubmit(c: Conn, id: number, m: Record<string, unknown>, bad: (why: string) => void): void {
    if (!Array.isArray(m.records)) return bad('submit needs records: an array');
    const n = m.records.length;
    if (n > this.limits.JSON_BATCH_RECORDS_MAX) {
      this.#sendError(c, id, ErrorCode.batch_too_large,
        `${n} records over ${this.limits.JSON_BATCH_RECORDS_MAX}`, true);
      return;
    }
    const batch = new Uint8Array(n * RECORD_BYTES);
    for (let i = 0; i < n; i++) {
      const r = m.records[i] as unknown;
      try {
        batch.set(this.#jsonRecord(r, c, m.trusted === true), i * RECORD_BYTES);
      } catch (e) {
        return bad(`records[${i}]: ${(e as Error).message}`);
      }
    }
    this.#submit(c, id, batch, n, m.trusted === true, true, m.final === true);
  }

  /**
   * A JSON record: a 512-hex-digit record, or fields. Fields encode an unsigned record; in
   * a trusted batch it is put in vouched form (hint 0xFE), so a vouch can cover it.
   */
  #jsonRecord(r: unknown, c: Conn, trusted: boolean): Uint8Array {
    if (typeof r === 'string') {
      const b = fromHex(r);
      if (b.length !== RECORD_BYTES) throw new RangeError(`a hex record must be ${RECORD_BYTES} bytes`);
      return b;
    }
    if (typeof r !== 'object' || r === null) throw new TypeError('a record is a hex string or an object');
    const f = { ...(r as Record<string, unknown>) };
    // Integers of 128 bits arrive as decimal strings; byte fields as hex.
    for (const k of JSON_BIGINT_FIELDS) {
      if (f[k] !== undefined) f[k] = BigInt(f[k] as string);
    }
    for (const k of JSON_BYTES_FIELDS) {
      if (typeof f[k] === 'string') f[k] = fromHex(f[k] as string);
    }
    f.chainId ??= this.backend.chainId;
    f.signer ??= c.who?.keyId ?? new Uint8Array(KEY_ID_BYTES);
    const rec = encode(f as unknown as RecordFields);
    if (trusted) rec[OFF_HINT] = HINT_VOUCHED;
    return rec;
  }

  // ------------------------------------------------------------------------------------
  // Events.

  #onBlock(b: BlockEvent): void {
    const now = Date.now();
    this.metrics.block(b.count, now);
    // Cut off subscribers that fell behind before adding to their buffers: a lagging peer
    // gets a close notice (4008), never an unbounded queue and never a silent gap.
    for (const c of this.#conns) {
      if (c.subscriptions > 0 && c.open && c.ws !== undefined &&
          c.ws.getBufferedAmount() > this.limits.SUBSCRIBER_LAG_BYTES_MAX) {
        this.metrics.slowSubscribersCut++;
        this.#end(c, CloseCode.slow_subscriber, 'subscriber too slow');
      }
    }
    const app = this.#app;
    const has = (t: string) => app.numSubscribers(t) + app.numSubscribers(JSON_TOPIC_PREFIX + t) > 0;
    const accountsOf = this.backend.transferAccounts?.bind(this.backend);
    for (const [topic, frame] of blockTopics(b, has, accountsOf)) {
      if (app.numSubscribers(topic) > 0) app.publish(topic, frame, true);
      const jt = JSON_TOPIC_PREFIX + topic;
      if (app.numSubscribers(jt) > 0) app.publish(jt, jsonText(eventJson(frame)), false);
    }
    // Application events (clearing: queue settled/expired, rule alerts): event_alarm frames
    // whose JSON names their topic.
    for (const n of b.notices ?? []) {
      if (app.numSubscribers(n.topic) > 0) app.publish(n.topic, alarmFrame(n), true);
      const jt = JSON_TOPIC_PREFIX + n.topic;
      if (app.numSubscribers(jt) > 0) app.publish(jt, jsonText({ op: 'notice', ...n }), false);
    }
  }

  /** A consortium alarm to the `alarms` topic (binary event_alarm, or JSON `{op:"alarm",…}`). */
  #onAlarm(alarm: Record<string, unknown>): void {
    const app = this.#app;
    if (app.numSubscribers(TOPIC_ALARMS) > 0) app.publish(TOPIC_ALARMS, alarmFrame(alarm), true);
    const jt = JSON_TOPIC_PREFIX + TOPIC_ALARMS;
    if (app.numSubscribers(jt) > 0) app.publish(jt, jsonText({ op: 'alarm', ...alarm }), false);
  }

  // ------------------------------------------------------------------------------------
  // HTTP.

  #http(res: UwsResponse, req: UwsRequest, head: boolean): void {
    const url = req.getUrl();
    // Read now: a uWS request is valid only during this call. Only configured origins may
    // read cross-origin; anything else gets no CORS header, so browsers keep it from pages.
    const origin = req.getHeader('origin');
    const allowOrigin = origin !== '' && this.#corsOrigins.has(origin) ? origin : undefined;
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const reply: HttpReply = (status, body, type = 'application/json', retryAfterS) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(status).writeHeader('content-type', type);
        if (retryAfterS !== undefined) res.writeHeader('retry-after', String(retryAfterS));
        if (allowOrigin !== undefined) {
          res.writeHeader('access-control-allow-origin', allowOrigin).writeHeader('vary', 'origin');
        }
        if (head) res.endWithoutBody(Buffer.byteLength(body));
        else res.end(body);
      });
    };
    if (url.length > this.limits.URL_BYTES_MAX) return reply('414 URI Too Long', jsonText({ error: 'uri_too_long' }));
    const file = this.#console.get(url);
    if (file !== undefined) return writeConsoleFile(res, file, head);
    // The query parameters routes take, and the signature (read now: the request dies with this call).
    const limit = req.getQuery('limit') ?? '';
    const from = req.getQuery('from') ?? '';
    const query = req.getQuery() ?? '';
    const auth = this.#httpIdentity(req.getHeader('authorization'), head ? 'HEAD' : 'GET',
      query === '' ? url : `${url}?${query}`);
    const parts = url.split('/').filter((p) => p !== '');
    const denied = this.#httpAccess(parts, auth);
    if (typeof auth === 'object') {
      this.#audit?.record({ who: toHex(auth.keyId), via: 'http', what: `${head ? 'HEAD' : 'GET'} ${url}`,
        outcome: denied === undefined ? 'ok' : denied[1] });
    }
    if (denied !== undefined) return reply(denied[0], jsonText({ error: denied[1], message: denied[2] }));
    if (parts[0] === 'alerts') return this.#httpAlerts(url, parts, reply, from, limit);
    this.#httpRoute(url, parts, reply, limit);
  }

  /**
   * The identity a signed request proves (docs/protocol.md, "HTTP authentication");
   * undefined without an Authorization header; a string: why the signature is refused.
   */
  #httpIdentity(header: string, method: string, pathAndQuery: string): Identity | undefined | string {
    if (header === '') return undefined;
    const a = parseHttpAuth(header);
    if (a === undefined) return `malformed Authorization header: expected ${HTTP_AUTH_SCHEME} <key id>:<time ms>:<r‖s>`;
    if (Math.abs(Date.now() - a.timeMs) > HTTP_AUTH_SKEW_MS) {
      return `request time ${a.timeMs} is more than ${HTTP_AUTH_SKEW_MS / 1000} s from the node's clock`;
    }
    const key = this.backend.key(a.keyId);
    let ok = false;
    if (key !== undefined) {
      try {
        ok = this.#verify!(httpAuthMessage(this.backend.chainId, a.timeMs, method, pathAndQuery), a.signature,
          key.publicKey);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      this.#log('HTTP authentication failed', 'warn',
        { event: 'auth_failed', http: pathAndQuery, keyId: toHex(a.keyId) });
      return 'unknown key or bad signature';
    }
    return { keyId: a.keyId, roles: key!.roles, ledger: key!.ledger };
  }

  /**
   * Who may read what over HTTP: /alerts is the regulator's, always; with `httpAuth` every
   * route but /status, /metrics and the console needs a signed request, and an account (and
   * its history) is its controller's and oversight's. [status, error, message] to refuse.
   */
  #httpAccess(parts: string[], auth: Identity | undefined | string): [string, string, string] | undefined {
    const head = parts[0] ?? '';
    const needed = head === 'alerts' || (this.#httpAuth && !['status', 'metrics', ''].includes(head));
    if (!needed) return typeof auth === 'string' ? ['401 Unauthorized', 'unauthorized', auth] : undefined;
    if (typeof auth === 'string') return ['401 Unauthorized', 'unauthorized', auth];
    if (auth === undefined) {
      return ['401 Unauthorized', 'unauthorized', `a signed request is needed (Authorization: ${HTTP_AUTH_SCHEME} …)`];
    }
    const oversight = (auth.roles & (ROLE_REGULATOR | ROLE_ADMIN)) !== 0;
    if (head === 'alerts' && (auth.roles & ROLE_REGULATOR) === 0) {
      return ['403 Forbidden', 'forbidden', 'the alerts are the regulator\'s'];
    }
    if (head === 'accounts' && !oversight && parts.length >= 2) {
      const id = parseU128(parts[1]);
      const controller = id === undefined ? undefined : this.backend.accountController?.(id);
      if (controller !== undefined && !equalBytes(controller, auth.keyId)) {
        return ['403 Forbidden', 'forbidden', 'an account is its controller\'s, the regulator\'s and admins\''];
      }
    }
    return undefined;
  }

  /** GET /alerts?from=<seq>&limit=<n>: the rule alerts from sequence `from` on (the regulator only: #httpAccess). */
  #httpAlerts(url: string, parts: string[], reply: HttpReply, fromText: string, limitText: string): void {
    if (parts.length !== 1) return reply('404 Not Found', jsonText({ error: 'not_found' }));
    const from = fromText === '' ? 0 : /^[0-9]{1,15}$/.test(fromText) ? Number(fromText) : NaN;
    const limit = limitText === '' ? 1000 : /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(from >= 0) || !(limit >= 1 && limit <= 1000)) {
      return reply('400 Bad Request', jsonText({ error: 'bad_request', message: 'from ≥ 0, limit in [1, 1000]' }));
    }
    const q = this.backend;
    if (q.alerts === undefined) return reply('501 Not Implemented', jsonText({ error: 'not_implemented' }));
    this.#httpQuery(url, reply, () => q.alerts!(from, limit));
  }

  /**
   * Runs a backend query, at most HTTP_QUERIES_IN_FLIGHT_MAX at once (503 beyond), and
   * answers 404 when it finds nothing. close() waits for the queries in flight.
   */
  #httpQuery(url: string, reply: HttpReply, v: () => Json | undefined | Promise<Json | undefined>): void {
    if (this.#closing || this.#httpInFlight >= this.limits.HTTP_QUERIES_IN_FLIGHT_MAX) {
      this.#httpBusy++;
      return reply('503 Service Unavailable', jsonText({ error: 'busy' }), 'application/json', 1);
    }
    this.#httpInFlight++;
    let p: Promise<Json | undefined>;
    try {
      p = Promise.resolve(v());
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((x) => (x === undefined
      ? reply('404 Not Found', jsonText({ error: 'not_found' }))
      : reply('200 OK', jsonText(x))),
      (e) => {
        this.#log(`http ${url}: ${(e as Error).stack ?? e}`);
        reply('500 Internal Server Error', jsonText({ error: 'internal' }));
      }).finally(() => {
        if (--this.#httpInFlight === 0) for (const idle of this.#httpIdle.splice(0)) idle();
      });
  }

  #httpRoute(url: string, parts: string[], reply: HttpReply, limitText = ''): void {
    const q = this.backend;
    const notFound = () => reply('404 Not Found', jsonText({ error: 'not_found' }));
    const badRequest = (why: string) => reply('400 Bad Request', jsonText({ error: 'bad_request', message: why }));
    const answer = (v: () => Json | undefined | Promise<Json | undefined>) => this.#httpQuery(url, reply, v);
    const unsupported = () => reply('501 Not Implemented', jsonText({ error: 'not_implemented' }));
    const [head, a, b] = parts;
    switch (head) {
      case 'status':
        if (parts.length !== 1) return notFound();
        return answer(() => Promise.resolve(q.status())
          .then((s) => ({ ...(s as object), node: this.#nodeStatus() }) as Json));
      case 'metrics':
        if (parts.length !== 1) return notFound();
        return reply('200 OK', this.#metricsText(), 'text/plain; version=0.0.4');
      case 'rules':
        if (parts.length !== 1) return notFound();
        return q.clearing === undefined ? unsupported() : answer(() => q.clearing!('rules'));
      case 'cycles':
      case 'queues': {
        if (parts.length !== 2) return notFound();
        const id = parseU128(a);
        if (id === undefined) return badRequest('id must be a u128, decimal or 0x-hex');
        return q.clearing === undefined ? unsupported() : answer(() => q.clearing!(head, id));
      }
      case 'accounts':
      case 'transactions':
      case 'anchors': {
        if (head === 'accounts' && parts.length === 3 && b === 'transfers') {
          const id = parseU128(a);
          if (id === undefined) return badRequest('id must be a u128, decimal or 0x-hex');
          const limit = limitText === '' ? 100 : /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : NaN;
          if (!(limit >= 1 && limit <= 1000)) return badRequest('limit must be an integer in [1, 1000]');
          const f = q.accountTransfers;
          return f === undefined ? unsupported() : answer(() => f.call(q, id, limit));
        }
        if (parts.length !== 2) return notFound();
        const id = parseU128(a);
        if (id === undefined) return badRequest('id must be a u128, decimal or 0x-hex');
        const f = head === 'accounts' ? q.account : head === 'transactions' ? q.transaction : q.anchor;
        return f === undefined ? unsupported() : answer(() => f.call(q, id));
      }
      case 'blocks': {
        if (parts.length !== 2) return notFound();
        const h = parseHeight(a);
        if (h === undefined) return badRequest('height must be a non-negative integer');
        return q.block === undefined ? unsupported() : answer(() => q.block!(h));
      }
      case 'toll':
        return q.toll === undefined ? unsupported() : answer(() => q.toll!(parts.slice(1)));
      case 'proofs': {
        if (parts.length !== 3) return notFound();
        const h = parseHeight(a);
        const i = parseHeight(b);
        if (h === undefined || i === undefined) return badRequest('proofs/<height>/<index>');
        return q.proof === undefined ? unsupported() : answer(() => q.proof!(h, i));
      }
      default:
        return notFound();
    }
  }

  #nodeStatus(): Json {
    const s = this.#batcher.stats();
    return {
      connections: this.#conns.size, queuedRecords: s.queuedRecords, inFlightRecords: s.inFlightRecords,
      tps: this.metrics.tps(), recordsCommitted: this.metrics.recordsCommitted, blocks: this.metrics.blocks,
      limits: this.limits as unknown as Json,
    };
  }

  #metricsText(): string {
    const s = this.#batcher.stats();
    const mem = process.memoryUsage();
    return this.metrics.render({
      gmledger_connections: ['Open WebSocket connections.', this.#conns.size],
      gmledger_http_queries_in_flight: ['HTTP queries being answered.', this.#httpInFlight],
      gmledger_queue_records: ['Records admitted, waiting for a ledger submit.', s.queuedRecords],
      gmledger_in_flight_records: ['Records inside the ledger (verifying, applying, syncing).', s.inFlightRecords],
      gmledger_queue_records_max: ['QUEUE_RECORDS_MAX.', this.limits.QUEUE_RECORDS_MAX],
      gmledger_submits_in_flight: ['Ledger submits outstanding.', s.submitsInFlight],
      gmledger_process_resident_bytes: ['Resident set size.', mem.rss],
      gmledger_process_heap_used_bytes: ['V8 heap in use.', mem.heapUsed],
      gmledger_event_loop_delay_p99_seconds: [
        'Main-thread event-loop delay, 99th percentile over the last complete 10 s window.', this.#loopWindow.p99 / 1e9,
      ],
      gmledger_event_loop_delay_max_seconds: [
        'Main-thread event-loop delay, maximum over the last complete 10 s window.', this.#loopWindow.max / 1e9,
      ],
      gmledger_chain_height: ['Height of the last block (-1: none; the memory backend reports -1).', this.#height()],
      gmledger_uptime_seconds: ['Seconds since this node started.', (Date.now() - this.#startedMs) / 1000],
    }, metricLines('counter', 'gmledger_ledger_busy_seconds_total',
      'Wall time with a ledger submit outstanding; its rate is the ledger stage utilisation (0..1).', s.busyMs / 1000) +
      metricLines('counter', 'gmledger_http_busy_total',
        'HTTP queries refused with 503 (HTTP_QUERIES_IN_FLIGHT_MAX).', this.#httpBusy) +
      `# HELP gmledger_build_info The running gmledger version (value 1).\n# TYPE gmledger_build_info gauge\n` +
      `gmledger_build_info{version="${PACKAGE_VERSION}"} 1\n` +
      (this.backend.metrics?.() ?? ''));
  }

  #height(): number {
    const h = (this.backend.status() as { height?: unknown } | null)?.height;
    return typeof h === 'number' ? h : -1;
  }
}

/** Topics whose events need a block's records (the ledger then keeps them for the server). */
function carriesRecords(topic: Topic): boolean {
  return topic.kind !== 'blocks' && topic.kind !== 'alarms';
}

/** The JSON form of an event frame, for subscriptions made with JSON frames. */
function eventJson(frame: Uint8Array): Record<string, unknown> {
  if (frame[1] === Frame.event_block) {
    const e = readBlockEvent(frame);
    return { op: 'block', height: e.height, timeMs: e.timeMs, count: e.count, hash: toHex(e.hash) };
  }
  const { topic, events } = readRecordEvents(frame);
  return {
    op: 'records', topic,
    events: events.map((e) => ({
      height: e.height, index: e.index, code: e.code, result: resultName(e.code), record: toHex(e.record),
    })),
  };
}
