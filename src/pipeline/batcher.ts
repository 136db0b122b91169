// Coalesces admitted submit frames from every connection into ledger submits and routes
// each outcome back to its frame. Many small frames become one big submit (one block, one
// verify batch, one sync); at most SUBMITS_IN_FLIGHT_MAX submits are outstanding, so block
// N+1 is being verified while block N is applied and synced, and nothing queues without a
// bound: enqueue() refuses once QUEUE_RECORDS_MAX records are waiting or in flight, or once
// the job's source (a connection) holds QUEUE_RECORDS_PER_SOURCE_MAX of them.
//
// Fairness: each source has its own FIFO, and a submit takes one frame from each source in
// turn (round robin), so a source that floods fills its own queue, not everyone's: another
// source's frame waits for at most the submits already out, never behind the flood.

import type { NodeBackend, SubmitOutcome } from './backend.js';
import { FLAG_LINKED, OFF_FLAGS, RECORD_BYTES } from '../codec/record.js';

export interface BatcherLimits {
  QUEUE_RECORDS_MAX: number;
  QUEUE_RECORDS_PER_SOURCE_MAX: number;
  SUBMIT_SHARED_RECORDS_MAX: number;
  SUBMIT_RECORDS_MAX: number;
  SUBMITS_IN_FLIGHT_MAX: number;
}

export interface Job {
  /** count × 256 bytes, owned by the batcher once enqueued (the caller copied it out of uWS). */
  batch: Uint8Array;
  count: number;
  trusted: boolean;
  /** Who sent it (a connection id): its share of the queue and its turn are per source. Default 0. */
  source?: number;
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

/** The error a job dropped with its source gets (dropSource). */
export const SOURCE_GONE = new Error('the connection closed before the records were submitted');

export class Batcher {
  readonly #backend: NodeBackend;
  readonly #limits: BatcherLimits;
  // Per source: its FIFO of jobs, and its records waiting or in flight.
  readonly #sources = new Map<number, { jobs: Job[]; head: number; load: number }>();
  // Sources with jobs waiting, in turn order.
  #ready: number[] = [];
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

  /**
   * True if admitted; else why not (the job untouched): 'closed', 'queue_full' (node-wide
   * QUEUE_RECORDS_MAX), 'source_full' (its source holds QUEUE_RECORDS_PER_SOURCE_MAX).
   */
  enqueue(job: Job): true | 'closed' | 'queue_full' | 'source_full' {
    if (this.#closed) return 'closed';
    if (job.count <= 0 || job.count > this.#limits.SUBMIT_RECORDS_MAX) throw new RangeError(`job count ${job.count}`);
    const source = job.source ?? 0;
    let q = this.#sources.get(source);
    if ((q?.load ?? 0) + job.count > this.#limits.QUEUE_RECORDS_PER_SOURCE_MAX) return 'source_full';
    if (this.load + job.count > this.#limits.QUEUE_RECORDS_MAX) return 'queue_full';
    if (q === undefined) { q = { jobs: [], head: 0, load: 0 }; this.#sources.set(source, q); }
    if (q.head === q.jobs.length) this.#ready.push(source);
    q.jobs.push(job);
    q.load += job.count;
    this.#queuedRecords += job.count;
    // Submit on the next microtask: frames arriving in the same uWS tick join one submit.
    if (this.#queuedRecords === job.count) queueMicrotask(() => this.#pump());
    return true;
  }

  /**
   * Drops the jobs of `source` not yet handed to the backend (its connection closed: nobody
   * would read their results, and a flood's backlog must not be verified after the flooder is
   * gone). Each dropped job's done() gets `SOURCE_GONE`. Returns the records dropped.
   */
  dropSource(source: number): number {
    const q = this.#sources.get(source);
    if (q === undefined || q.head === q.jobs.length) return 0;
    const dropped = q.jobs.slice(q.head);
    q.jobs = [];
    q.head = 0;
    this.#ready = this.#ready.filter((s) => s !== source);
    let records = 0;
    for (const j of dropped) records += j.count;
    q.load -= records;
    this.#queuedRecords -= records;
    if (q.load === 0) this.#sources.delete(source);
    for (const j of dropped) j.done(undefined, SOURCE_GONE);
    if (this.load === 0) for (const f of this.#idle.splice(0)) f();
    return records;
  }

  /** Stops admitting; resolves once everything admitted has its outcome. */
  async drain(): Promise<void> {
    this.#closed = true;
    this.#pump();
    if (this.load === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#submitsInFlight < this.#limits.SUBMITS_IN_FLIGHT_MAX && this.#ready.length > 0) {
      const { jobs, records, trusted } = this.#take();
      this.#queuedRecords -= records;
      this.#inFlightRecords += records;
      this.#submit(jobs, records, trusted);
    }
  }

  /**
   * One submit's jobs: whole jobs of one kind (trusted or not), one per source in turn, up
   * to SUBMIT_RECORDS_MAX records. A source whose next job does not fit keeps its turn.
   */
  #take(): { jobs: Job[]; records: number; trusted: boolean } {
    const first = this.#sources.get(this.#ready[0])!;
    const trusted = first.jobs[first.head].trusted;
    const jobs: Job[] = [];
    let records = 0;
    let took = true;
    let sources = 0;
    while (took && this.#ready.length > 0) {
      // Once several sources share this submit, no further round past SUBMIT_SHARED_RECORDS_MAX:
      // the submit's verification is what every frame in it waits for.
      if (sources > 1 && records >= this.#limits.SUBMIT_SHARED_RECORDS_MAX) break;
      took = false;
      sources = 0;
      for (let turn = this.#ready.length; turn > 0; turn--) {
        const source = this.#ready[0];
        const q = this.#sources.get(source)!;
        const j = q.jobs[q.head];
        if (j.trusted !== trusted || records + j.count > this.#limits.SUBMIT_RECORDS_MAX) {
          this.#ready.push(this.#ready.shift()!);
          continue;
        }
        jobs.push(j);
        records += j.count;
        took = true;
        sources++;
        q.head++;
        this.#ready.shift();
        if (q.head < q.jobs.length) this.#ready.push(source);
        else { q.jobs = []; q.head = 0; }
        // A frame that ends inside a linked chain must end the submit too: the ledger
        // judges chains over the whole merged batch, and an open chain may only be refused
        // (linked_event_chain_open), never continued by another connection's records.
        if (endsLinked(j)) return { jobs, records, trusted };
        if (this.#ready.length === 0) break;
      }
    }
    return { jobs, records, trusted };
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
        const q = this.#sources.get(j.source ?? 0)!;
        q.load -= j.count;
        if (q.load === 0 && q.head === q.jobs.length) this.#sources.delete(j.source ?? 0);
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
