// Coalesces admitted submit frames from every connection into ledger submits and routes
// each outcome back to its frame. Many small frames become one big submit (one block, one
// verify batch, one sync); at most SUBMITS_IN_FLIGHT_MAX submits are outstanding, so block
// N+1 is being verified while block N is applied and synced, and nothing queues without a
// bound: enqueue() refuses once QUEUE_RECORDS_MAX records are waiting or in flight.

import type { NodeBackend, SubmitOutcome } from './backend.js';
import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES } from '../codec/record.js';

export interface BatcherLimits {
  QUEUE_RECORDS_MAX: number;
  SUBMIT_RECORDS_MAX: number;
  SUBMITS_IN_FLIGHT_MAX: number;
}

export interface Job {
  /** count × 256 bytes, owned by the batcher once enqueued (the caller copied it out of uWS). */
  batch: Uint8Array;
  count: number;
  trusted: boolean;
  /** Called exactly once: with this job's slice of the outcome, or with an error. */
  done(outcome: SubmitOutcome | undefined, error?: unknown): void;
}

export interface BatcherStats {
  queuedRecords: number;
  inFlightRecords: number;
  submitsInFlight: number;
  submits: number;
  submittedRecords: number;
  /** Milliseconds with at least one submit outstanding (the ledger busy), cumulative. */
  busyMs: number;
}

export class Batcher {
  readonly #backend: NodeBackend;
  readonly #limits: BatcherLimits;
  #queue: Job[] = [];
  #queueHead = 0;
  #queuedRecords = 0;
  #inFlightRecords = 0;
  #submitsInFlight = 0;
  #submits = 0;
  #submittedRecords = 0;
  #busySince = 0;
  #busyMs = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(backend: NodeBackend, limits: BatcherLimits) {
    this.#backend = backend;
    this.#limits = limits;
  }

  /** Records waiting or in flight: what admission control bounds. */
  get load(): number {
    return this.#queuedRecords + this.#inFlightRecords;
  }

  stats(): BatcherStats {
    const busy = this.#submitsInFlight > 0 ? this.#busyMs + (performance.now() - this.#busySince) : this.#busyMs;
    return {
      queuedRecords: this.#queuedRecords, inFlightRecords: this.#inFlightRecords,
      submitsInFlight: this.#submitsInFlight,
      submits: this.#submits, submittedRecords: this.#submittedRecords, busyMs: busy,
    };
  }

  /** False (and the job untouched) if admitting it would exceed QUEUE_RECORDS_MAX or the batcher is closed. */
  enqueue(job: Job): boolean {
    if (this.#closed) return false;
    if (job.count <= 0 || job.count > this.#limits.SUBMIT_RECORDS_MAX) throw new RangeError(`job count ${job.count}`);
    if (this.load + job.count > this.#limits.QUEUE_RECORDS_MAX) return false;
    this.#queue.push(job);
    this.#queuedRecords += job.count;
    // Submit on the next microtask: frames arriving in the same uWS tick join one submit.
    if (this.#queuedRecords === job.count) queueMicrotask(() => this.#pump());
    return true;
  }

  /** Stops admitting; resolves once everything admitted has its outcome. */
  async drain(): Promise<void> {
    this.#closed = true;
    this.#pump();
    if (this.load === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#submitsInFlight < this.#limits.SUBMITS_IN_FLIGHT_MAX && this.#queueHead < this.#queue.length) {
      // Take whole jobs of one kind (trusted or not) up to SUBMIT_RECORDS_MAX records.
      const trusted = this.#queue[this.#queueHead].trusted;
      const jobs: Job[] = [];
      let records = 0;
      while (this.#queueHead < this.#queue.length) {
        const j = this.#queue[this.#queueHead];
        if (j.trusted !== trusted || records + j.count > this.#limits.SUBMIT_RECORDS_MAX) break;
        jobs.push(j);
        records += j.count;
        this.#queueHead++;
        // A frame that ends inside a linked chain must end the submit too: the ledger
        // judges chains over the whole merged batch, and an open chain may only be refused
        // (linked_event_chain_open), never continued by another connection's records.
        if (endsLinked(j)) break;
      }
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#queuedRecords -= records;
      this.#inFlightRecords += records;
      this.#submit(jobs, records, trusted);
    }
  }

  #submit(jobs: Job[], records: number, trusted: boolean): void {
    let batch: Uint8Array;
    if (jobs.length === 1) {
      batch = jobs[0].batch;
    } else {
      batch = new Uint8Array(records * RECORD_BYTES);
      let at = 0;
      for (const j of jobs) {
        batch.set(j.batch.subarray(0, j.count * RECORD_BYTES), at);
        at += j.count * RECORD_BYTES;
      }
    }
    if (this.#submitsInFlight++ === 0) this.#busySince = performance.now();
    this.#submits++;
    this.#submittedRecords += records;
    const settle = (outcome: SubmitOutcome | undefined, error: unknown): void => {
      if (--this.#submitsInFlight === 0) this.#busyMs += performance.now() - this.#busySince;
      this.#inFlightRecords -= records;
      let at = 0;
      for (const j of jobs) {
        if (outcome === undefined) {
          j.done(undefined, error);
        } else {
          j.done({
            codes: outcome.codes.subarray(at, at + j.count),
            heights: outcome.heights.subarray(at, at + j.count),
            indexes: outcome.indexes.subarray(at, at + j.count),
          });
        }
        at += j.count;
      }
      this.#pump();
      if (this.load === 0) for (const f of this.#idle.splice(0)) f();
    };
    let p: Promise<SubmitOutcome>;
    try {
      p = this.#backend.submit(batch, records, trusted ? { trusted: true } : undefined);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((o) => {
      if (o.codes.length !== records || o.heights.length !== records || o.indexes.length !== records) {
        throw new Error(`backend returned ${o.codes.length} outcomes for ${records} records`);
      }
      return o;
    }).then((o) => settle(o, undefined), (e) => settle(undefined, e));
  }
}

function endsLinked(j: Job): boolean {
  if (j.count === 0) return false;
  const last = (j.count - 1) * RECORD_BYTES;
  return (j.batch[last + OFF_FLAGS] & FLAG_LINKED) !== 0;
}
