// The WebSocket wire protocol (docs/protocol.md §9 fixes every byte). Shared by the
// server and the client SDK, so it must not import anything Node-specific: the SDK runs in
// browsers too.
//
// Every binary frame, in both directions, starts with a 16-byte header:
//
//   offset 0  u8   protocol version (PROTOCOL_VERSION)
//   offset 1  u8   frame type (Frame.*)
//   offset 2  u16  flags (SUBMIT_TRUSTED, SUBMIT_FINAL on submit; zero otherwise)
//   offset 4  u32  request id, chosen by the client, echoed in the reply (0 = unsolicited)
//   offset 8  u32  count: records, results or events in the payload (0 if not applicable)
//   offset 12 u32  reserved, zero
//
// Integers are little-endian, as in the 256-byte record.

import { RECORD_BYTES, U128_MAX } from '../codec/record.js';

// The record's sizes, from the codec (plain code, browser-safe) rather than defined again.
export { KEY_ID_BYTES, RECORD_BYTES, SIGNATURE_BYTES } from '../codec/record.js';

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 16;
/** One result per record in a RESULTS frame: code u16, reserved u16, index u32, height u64. */
export const RESULT_BYTES = 16;
/** RESULTS index for a record that never entered a block (admission codes 1..31); its height field is all ones. */
export const NOT_IN_BLOCK = 0xffffffff;
/** One committed record in an EVENT_RECORDS frame: height u64, index u32, code u16, reserved u16, record. */
export const EVENT_RECORD_BYTES = 16 + RECORD_BYTES;
/** EVENT_BLOCK payload: height u64, time ms u64, count u32, reserved u32, header hash 32 bytes. */
export const EVENT_BLOCK_BYTES = 56;
export const NONCE_BYTES = 32;

export const Frame = {
  // Client → server.
  submit: 0x01,
  auth: 0x02,
  subscribe: 0x03,
  unsubscribe: 0x04,
  ping: 0x05,
  // Server → client.
  results: 0x81,
  error: 0x82,
  challenge: 0x83,
  auth_ok: 0x84,
  subscribed: 0x85,
  unsubscribed: 0x86,
  pong: 0x87,
  event_block: 0x90,
  event_records: 0x91,
  event_alarm: 0x92,
} as const;

/** SUBMIT flag: the records are unsigned and the connection's (gateway) key vouches for them. */
export const SUBMIT_TRUSTED = 1 << 0;
/**
 * SUBMIT flag: reply once the block holding the records is final (certified by a quorum of
 * the consortium's nodes), not merely durable at this node; on a single node the two coincide.
 */
export const SUBMIT_FINAL = 1 << 1;

/**
 * Frame-level errors (an ERROR frame's u16 code). Record-level outcomes are result codes in
 * a RESULTS frame instead (src/ledger/results.ts); these say why a whole frame was refused.
 * A refused frame changes nothing: none of its records was admitted.
 */
export const ErrorCode = {
  bad_frame: 1,               // shorter than the header, or reserved header bytes non-zero
  bad_protocol_version: 2,
  unknown_frame_type: 3,
  frame_too_large: 4,         // over FRAME_BYTES_MAX (frames over the transport cap close the socket, 1009)
  batch_empty: 5,
  batch_too_large: 6,         // over BATCH_RECORDS_MAX
  batch_truncated: 7,         // payload not count × 256 bytes
  not_authenticated: 8,
  auth_failed: 9,             // unknown key or bad signature
  already_authenticated: 10,
  too_many_in_flight: 11,     // this connection's IN_FLIGHT_BATCHES_MAX reached
  overloaded: 12,             // the node's QUEUE_RECORDS_MAX reached: retry later
  rate_limited: 13,
  duplicate_request_id: 14,   // a batch with this id is still in flight on this connection
  unknown_topic: 15,
  forbidden_topic: 16,
  too_many_subscriptions: 17,
  trusted_not_allowed: 18,    // SUBMIT_TRUSTED from a key that is not a configured gateway
  bad_json: 19,
  shutting_down: 20,
  internal: 21,
  // SUBMIT_FINAL: the records are durable here (their outcome is in the chain) but this node
  // will not see their block final: it halted (its header differs from the quorum's) or stopped.
  not_final: 22,
} as const;
export type ErrorName = keyof typeof ErrorCode;
const ERROR_NAMES: string[] = [];
for (const [n, c] of Object.entries(ErrorCode)) ERROR_NAMES[c] = n;
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `unknown(${code})`;
}

/** WebSocket close codes the server uses (4000–4999 is the application range). */
export const CloseCode = {
  /** The connection's subscriptions fell too far behind (SUBSCRIBER_LAG_BYTES_MAX). */
  slow_subscriber: 4008,
  /** Too many protocol errors in a short time (ERRORS_PER_WINDOW_MAX). */
  too_many_errors: 4009,
  /** The node is at CONNECTIONS_MAX. */
  too_many_connections: 4010,
  /** The node is stopping. */
  shutting_down: 4011,
  /** Neither authenticated nor subscribed within UNAUTHENTICATED_IDLE_MS of connecting. */
  auth_timeout: 4012,
  /** Too many records with bad signatures in a window (BAD_SIGNATURES_PER_WINDOW_MAX), by the connection or its key. */
  bad_signatures: 4013,
} as const;

/** The bytes a client signs to authenticate: domain tag ‖ chain id u32 LE ‖ nonce. */
export const AUTH_DOMAIN = 'gmledger-auth-v1';

// Signed HTTP requests (docs/protocol.md §9, "HTTP authentication"): the same SM2 keys as
// the WebSocket's challenge-response, without a connection: each request carries
//   Authorization: GMLEDGER-SM2 <key id hex>:<time ms>:<r‖s hex>
// over HTTP_AUTH_DOMAIN ‖ chain id u32 LE ‖ time u64 LE ‖ "<METHOD> <path?query>" (UTF-8),
// accepted within HTTP_AUTH_SKEW_MS of the node's clock.
export const HTTP_AUTH_DOMAIN = 'gmledger-http-v1';
export const HTTP_AUTH_SCHEME = 'GMLEDGER-SM2';
export const HTTP_AUTH_SKEW_MS = 60_000;

/** The bytes a signed HTTP request's signature covers. */
export function httpAuthMessage(chainId: number, timeMs: number, method: string, pathAndQuery: string): Uint8Array {
  const enc = new TextEncoder();
  const tag = enc.encode(HTTP_AUTH_DOMAIN);
  const req = enc.encode(`${method} ${pathAndQuery}`);
  const m = new Uint8Array(tag.length + 12 + req.length);
  m.set(tag, 0);
  const v = new DataView(m.buffer);
  v.setUint32(tag.length, chainId >>> 0, true);
  v.setBigUint64(tag.length + 4, BigInt(timeMs), true);
  m.set(req, tag.length + 12);
  return m;
}

/** The Authorization header's parts, or undefined if it is not a well-formed GMLEDGER-SM2 one. */
export function parseHttpAuth(
  header: string,
): { keyId: Uint8Array; timeMs: number; signature: Uint8Array } | undefined {
  const m = /^GMLEDGER-SM2 ([0-9a-f]{64}):([0-9]{1,15}):([0-9a-f]{128})$/.exec(header);
  if (m === null) return undefined;
  const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
  return { keyId: hex(m[1]), timeMs: Number(m[2]), signature: hex(m[3]) };
}
export function authMessage(chainId: number, nonce: Uint8Array): Uint8Array {
  const tag = new TextEncoder().encode(AUTH_DOMAIN);
  const m = new Uint8Array(tag.length + 4 + nonce.length);
  m.set(tag, 0);
  new DataView(m.buffer).setUint32(tag.length, chainId >>> 0, true);
  m.set(nonce, tag.length + 4);
  return m;
}

export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  requestId: number;
  count: number;
  reserved: number;
}

export function readHeader(b: Uint8Array): FrameHeader {
  const v = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
  return {
    version: b[0], type: b[1], flags: v.getUint16(2, true), requestId: v.getUint32(4, true),
    count: v.getUint32(8, true), reserved: v.getUint32(12, true),
  };
}

/** A frame with a header and `payloadBytes` of zeroed payload starting at HEADER_BYTES. */
export function makeFrame(type: number, requestId: number, count: number, payloadBytes: number, flags = 0): Uint8Array {
  const f = new Uint8Array(HEADER_BYTES + payloadBytes);
  const v = new DataView(f.buffer);
  f[0] = PROTOCOL_VERSION;
  f[1] = type;
  v.setUint16(2, flags, true);
  v.setUint32(4, requestId >>> 0, true);
  v.setUint32(8, count >>> 0, true);
  return f;
}

export function errorFrame(requestId: number, code: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  const f = makeFrame(Frame.error, requestId, 0, 4 + text.length);
  new DataView(f.buffer).setUint16(HEADER_BYTES, code, true);
  f.set(text, HEADER_BYTES + 4);
  return f;
}

export function parseError(f: Uint8Array): { code: number; name: string; message: string } {
  const code = new DataView(f.buffer, f.byteOffset).getUint16(HEADER_BYTES, true);
  return { code, name: errorName(code), message: new TextDecoder().decode(f.subarray(HEADER_BYTES + 4)) };
}

export interface WireResult {
  code: number;
  /** -1: the record never entered a block. */
  height: number;
  /** -1: the record never entered a block. */
  index: number;
}

export function readResults(f: Uint8Array): WireResult[] {
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const n = v.getUint32(8, true);
  const out: WireResult[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = HEADER_BYTES + i * RESULT_BYTES;
    const index = v.getUint32(o + 4, true);
    out[i] = index === NOT_IN_BLOCK
      ? { code: v.getUint16(o, true), index: -1, height: -1 }
      : { code: v.getUint16(o, true), index, height: Number(v.getBigUint64(o + 8, true)) };
  }
  return out;
}

export interface WireBlockEvent {
  height: number;
  timeMs: number;
  count: number;
  hash: Uint8Array;
}

/** An event_alarm frame: its payload is one alarm as UTF-8 JSON (docs/consortium.md). */
export function alarmFrame(alarm: Record<string, unknown>): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(alarm));
  if (json.length > EVENT_ALARM_BYTES_MAX) {
    json = new TextEncoder().encode(JSON.stringify({ ...alarm, detail: String(alarm.detail).slice(0, 1024) + '…' }));
  }
  const f = makeFrame(Frame.event_alarm, 0, 1, json.length);
  f.set(json, HEADER_BYTES);
  return f;
}

/** The alarm an event_alarm frame carries. */
export function readAlarmEvent(f: Uint8Array): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(f.subarray(HEADER_BYTES))) as Record<string, unknown>;
}

export function readBlockEvent(f: Uint8Array): WireBlockEvent {
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const o = HEADER_BYTES;
  return {
    height: Number(v.getBigUint64(o, true)), timeMs: Number(v.getBigUint64(o + 8, true)),
    count: v.getUint32(o + 16, true), hash: f.slice(o + 24, o + 56),
  };
}

export interface WireRecordEvent {
  height: number;
  index: number;
  code: number;
  record: Uint8Array;
}

export function readRecordEvents(f: Uint8Array): { topic: string; events: WireRecordEvent[] } {
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const n = v.getUint32(8, true);
  const topicLen = v.getUint32(12, true);
  const topic = new TextDecoder().decode(f.subarray(HEADER_BYTES, HEADER_BYTES + topicLen));
  const base = HEADER_BYTES + topicLen;
  const events: WireRecordEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = base + i * EVENT_RECORD_BYTES;
    events[i] = {
      height: Number(v.getBigUint64(o, true)), index: v.getUint32(o + 8, true), code: v.getUint16(o + 12, true),
      record: f.slice(o + 16, o + EVENT_RECORD_BYTES),
    };
  }
  return { topic, events };
}

/** Topics a connection may subscribe to. */
export const TOPIC_BLOCKS = 'blocks';
export const TOPIC_FIREHOSE = 'firehose';
export const TOPIC_ACCOUNT_PREFIX = 'account/';
export const TOPIC_LEDGER_PREFIX = 'ledger/';
/** A consortium node's alarms (divergence, refused batches, bad signatures): the regulator's and admin's. */
export const TOPIC_ALARMS = 'alarms';
/** The regulator's rule alerts (docs/clearing.md): the regulator's only. */
export const TOPIC_ALERTS = 'alerts';
/** Largest event_alarm payload (its JSON); a longer alarm's detail is cut to fit. */
export const EVENT_ALARM_BYTES_MAX = 4096;

export type Topic =
  | { kind: 'blocks' }
  | { kind: 'firehose' }
  | { kind: 'account'; id: bigint }
  | { kind: 'ledger'; ledger: number }
  | { kind: 'alarms' }
  | { kind: 'alerts' };

/** Parses a topic name; undefined if it is not one of the six forms. Canonical decimal only. */
export function parseTopic(name: string): Topic | undefined {
  if (name === TOPIC_BLOCKS) return { kind: 'blocks' };
  if (name === TOPIC_ALARMS) return { kind: 'alarms' };
  if (name === TOPIC_ALERTS) return { kind: 'alerts' };
  if (name === TOPIC_FIREHOSE) return { kind: 'firehose' };
  if (name.startsWith(TOPIC_ACCOUNT_PREFIX)) {
    const s = name.slice(TOPIC_ACCOUNT_PREFIX.length);
    if (!/^(0|[1-9][0-9]{0,38})$/.test(s)) return undefined;
    const id = BigInt(s);
    return id > U128_MAX ? undefined : { kind: 'account', id };
  }
  if (name.startsWith(TOPIC_LEDGER_PREFIX)) {
    const s = name.slice(TOPIC_LEDGER_PREFIX.length);
    if (!/^(0|[1-9][0-9]{0,9})$/.test(s)) return undefined;
    const ledger = Number(s);
    return ledger > 0xffffffff ? undefined : { kind: 'ledger', ledger };
  }
  return undefined;
}
