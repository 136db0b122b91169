// Reads a JetStream stream in order, from a given sequence, and keeps reading through server
// failures. An ordered consumer is an ephemeral, unreplicated consumer on one server: when
// that server dies the client may never hear of it (observed with nats-server 2.9 and the
// 3.x client: the iterator simply goes quiet). So the reader watches for itself: when the
// stream holds messages past the last one handled and none has arrived for `stallMs`, or
// the iterator ends or fails, it makes a new consumer at the next sequence. Messages are
// handed over strictly in order, each once: a handler's promise is awaited before the next.

import type { NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg,
} from '@nats-io/jetstream';

/** No message for this long while the stream has more: the consumer is presumed lost. */
export const STALL_MS_DEFAULT = 2_000;
/** Wait before re-creating a consumer that failed to be created (the stream may have no leader yet). */
const RETRY_MS = 250;
/** JetStream API calls while renewing: short, so that a call to a dead server is retried soon. */
const API_TIMEOUT_MS = 2_000;

export interface StreamReaderOptions {
  nc: NatsConnection;
  stream: string;
  /** The first stream sequence to hand over (≥ 1). */
  startSeq: number;
  /** Called for each message in order; a returned promise is awaited before the next. */
  onMessage: (m: JsMsg) => Promise<void> | void;
  stallMs?: number;
}

export class StreamReader {
  readonly #o: StreamReaderOptions;
  readonly #stallMs: number;
  #jsm: JetStreamManager | undefined;
  #nextSeq: number;
  #messages: ConsumerMessages | undefined;
  #generation = 0;
  #progressMs = Date.now();
  #busy = false;
  #renewing = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> = Promise.resolve();
  /** Consumers re-created after a stall or a failure (a metric for operators). */
  renewals = 0;

  constructor(o: StreamReaderOptions) {
    if (!Number.isSafeInteger(o.startSeq) || o.startSeq < 1) throw new RangeError('startSeq must be an integer ≥ 1');
    this.#o = o;
    this.#stallMs = o.stallMs ?? STALL_MS_DEFAULT;
    this.#nextSeq = o.startSeq;
  }

  /** The next sequence to be handed over. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  async start(): Promise<void> {
    this.#jsm = await jetstreamManager(this.#o.nc, { timeout: API_TIMEOUT_MS });
    await this.#subscribe();
    this.#timer = setInterval(() => { void this.#watch(); }, Math.max(50, Math.floor(this.#stallMs / 2)));
    this.#timer.unref();
  }

  async #subscribe(): Promise<void> {
    const generation = ++this.#generation;
    this.#messages?.stop();
    const consumer = await jetstream(this.#o.nc, { timeout: API_TIMEOUT_MS }).consumers.get(this.#o.stream, {
      deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#nextSeq,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    this.#progressMs = Date.now();
    this.#loop = (async () => {
      for await (const m of messages) {
        if (this.#closed || generation !== this.#generation) return;
        if (m.seq < this.#nextSeq) continue; // a re-created consumer may repeat one
        this.#busy = true;
        try {
          const p = this.#o.onMessage(m);
          if (p) await p;
        } finally {
          this.#busy = false;
        }
        this.#nextSeq = m.seq + 1;
        this.#progressMs = Date.now();
      }
      // The iterator ended without being stopped here: read on with a new consumer.
      if (!this.#closed && generation === this.#generation) void this.#renew();
    })().catch(() => { if (!this.#closed && generation === this.#generation) void this.#renew(); });
  }

  /** A stalled consumer (the stream has more, nothing came for stallMs) is replaced. */
  async #watch(): Promise<void> {
    if (this.#closed || this.#busy || this.#renewing || Date.now() - this.#progressMs < this.#stallMs) return;
    try {
      const info = await this.#jsm!.streams.info(this.#o.stream);
      if (info.state.last_seq >= this.#nextSeq && Date.now() - this.#progressMs >= this.#stallMs && !this.#busy) {
        await this.#renew();
      } else {
        this.#progressMs = Date.now();
      }
    } catch {
      // The stream has no leader right now; the next tick asks again.
    }
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#closed) return;
    this.#renewing = true;
    try {
      while (!this.#closed) {
        try {
          this.renewals++;
          await this.#subscribe();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    } finally {
      this.#renewing = false;
    }
  }

  /** Stops reading; resolves once the handler in progress (if any) has returned. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#messages?.stop();
    await this.#loop.catch(() => undefined);
  }
}
