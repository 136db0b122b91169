// Every bound the network node enforces, as named constants with units. Memory the node
// can be made to hold is bounded by these: nothing queues without a limit. Each can be
// overridden per node (NodeServerOptions.limits) — tests shrink them to reach the edges.

import { HEADER_BYTES, RECORD_BYTES } from './wire.js';

const BATCH_RECORDS_MAX = 1024;
const FRAME_BYTES_MAX = HEADER_BYTES + BATCH_RECORDS_MAX * RECORD_BYTES;

export const LIMITS = {
  /**
   * Records per SUBMIT frame. A frame is the unit of correlation; bigger batches amortise the
   * header. Not the ledger's batch limit (8,190, src/ledger/sequencer.ts): the node merges
   * frames into ledger batches, and refuses to start if a frame could not fit in one.
   */
  BATCH_RECORDS_MAX,
  /** Largest frame the protocol accepts (a full batch). */
  FRAME_BYTES_MAX,
  /**
   * Transport cap (uWS maxPayloadLength). Frames between FRAME_BYTES_MAX and this get a
   * frame_too_large error and the connection lives; beyond it uWS closes the socket (1009)
   * without reading the frame into memory.
   */
  TRANSPORT_FRAME_BYTES_MAX: 4 * FRAME_BYTES_MAX,
  /** Submit frames a connection may have awaiting results; more get too_many_in_flight. */
  IN_FLIGHT_BATCHES_MAX: 64,
  /** Records admitted but not yet durable, node-wide (256 B each: 128 Ki records = 32 MiB). */
  QUEUE_RECORDS_MAX: 128 * 1024,
  /**
   * Records one connection may have admitted but not yet durable: its share of the queue,
   * so a flood fills its own share, not the node's (more get `overloaded`). The batcher also
   * serves connections in turn, one frame each per submit.
   */
  QUEUE_RECORDS_PER_SOURCE_MAX: 16 * 1024,
  /** Records handed to the ledger in one submit call (one block at most). */
  SUBMIT_RECORDS_MAX: 16 * 1024,
  /**
   * When frames of several connections share a submit (one each per round), no further round
   * starts once it holds this many: its verification is what each of them waits for, so a
   * flooding connection cannot make an honest frame wait for a 16 Ki-record verify.
   */
  SUBMIT_SHARED_RECORDS_MAX: 4096,
  /**
   * Ledger submits outstanding at once. Two lets block N+1 be verified while block N is
   * being applied and synced; more would only queue inside the ledger.
   */
  SUBMITS_IN_FLIGHT_MAX: 2,
  /** Per-connection records per second (token bucket; burst = one second's worth). */
  RECORDS_PER_SECOND_MAX: 200_000,
  /** Per-connection frames of any kind per second (token bucket) — stops floods of tiny frames. */
  FRAMES_PER_SECOND_MAX: 5_000,
  /** Protocol errors a connection may cause per ERROR_WINDOW_MS before it is closed (4009). */
  ERRORS_PER_WINDOW_MAX: 1_000,
  ERROR_WINDOW_MS: 10_000,
  /**
   * Records with bad signatures (the expensive failure: each costs a verification) one
   * connection, or one key over all its connections, may send per ERROR_WINDOW_MS. Past a
   * quarter of it the connection is slowed to one frame in flight; past it, closed (4013).
   */
  BAD_SIGNATURES_PER_WINDOW_MAX: 4_096,
  /**
   * A key closed for bad signatures stays barred this long: its connections are closed at
   * login and at any submit, so a flooder cannot come back every window.
   */
  BAD_SIGNATURES_BAN_MS: 60_000,
  /** Open WebSocket connections, node-wide. */
  CONNECTIONS_MAX: 1_024,
  /**
   * A connection that has neither authenticated nor subscribed this long after opening is
   * closed (4012), so idle anonymous sockets cannot hold the connection slots.
   */
  UNAUTHENTICATED_IDLE_MS: 10_000,
  /** Topics one connection may be subscribed to. */
  SUBSCRIPTIONS_MAX: 256,
  /**
   * Bytes a subscriber may have queued (unsent) before it is cut off with close code 4008.
   * Checked before each block's events are published.
   */
  SUBSCRIBER_LAG_BYTES_MAX: 8 * 1024 * 1024,
  /**
   * uWS maxBackpressure: the hard per-socket send buffer. Must exceed the lag limit by at
   * least one block's worth of events, so uWS never silently drops an event before the
   * lag check cuts the subscriber off.
   */
  SEND_BUFFER_BYTES_MAX: 64 * 1024 * 1024,
  /** HTTP request bodies are not accepted; URLs longer than this get 414. */
  URL_BYTES_MAX: 512,
  /**
   * HTTP queries being answered at once (each may hold a block read from the store); more
   * get 503 with Retry-After, so a flood of queries cannot pile up memory.
   */
  HTTP_QUERIES_IN_FLIGHT_MAX: 64,
  /** Idle seconds before uWS closes a connection (it pings automatically before that). */
  IDLE_TIMEOUT_S: 120,
  /** Records per JSON submit (text frames are slower to parse; kept smaller). */
  JSON_BATCH_RECORDS_MAX: 256,
};

export type Limits = typeof LIMITS;

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const l = { ...LIMITS, ...overrides };
  // A smaller queue given without a share: the share is at most the queue.
  if (overrides.QUEUE_RECORDS_PER_SOURCE_MAX === undefined) {
    l.QUEUE_RECORDS_PER_SOURCE_MAX = Math.min(l.QUEUE_RECORDS_PER_SOURCE_MAX, l.QUEUE_RECORDS_MAX);
  }
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`limit ${k} must be a positive integer, got ${v}`);
  }
  if (l.FRAME_BYTES_MAX < HEADER_BYTES + RECORD_BYTES) throw new RangeError('FRAME_BYTES_MAX below one record');
  if (l.TRANSPORT_FRAME_BYTES_MAX < l.FRAME_BYTES_MAX) {
    throw new RangeError('TRANSPORT_FRAME_BYTES_MAX below FRAME_BYTES_MAX');
  }
  if (l.SUBMIT_RECORDS_MAX < l.BATCH_RECORDS_MAX) throw new RangeError('SUBMIT_RECORDS_MAX below BATCH_RECORDS_MAX');
  if (l.QUEUE_RECORDS_MAX < l.BATCH_RECORDS_MAX) throw new RangeError('QUEUE_RECORDS_MAX below BATCH_RECORDS_MAX');
  if (l.QUEUE_RECORDS_PER_SOURCE_MAX < l.BATCH_RECORDS_MAX || l.QUEUE_RECORDS_PER_SOURCE_MAX > l.QUEUE_RECORDS_MAX) {
    throw new RangeError('QUEUE_RECORDS_PER_SOURCE_MAX must be in [BATCH_RECORDS_MAX, QUEUE_RECORDS_MAX]');
  }
  if (l.SEND_BUFFER_BYTES_MAX <= l.SUBSCRIBER_LAG_BYTES_MAX) {
    throw new RangeError('SEND_BUFFER_BYTES_MAX must exceed SUBSCRIBER_LAG_BYTES_MAX');
  }
  return l;
}
