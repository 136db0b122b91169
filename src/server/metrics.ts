// Prometheus text exposition (format 0.0.4) for the node's counters, gauges and latency
// histograms. Fixed buckets, fixed label sets: the registry never grows with traffic.

import { RESULT_APPLY_MIN, resultName } from '../codec/results.js';

export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i];
      out += `${this.name}_bucket{le="${this.bounds[i]}"} ${acc}\n`;
    }
    acc += this.counts[this.bounds.length];
    out += `${this.name}_bucket{le="+Inf"} ${acc}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

/** One counter or gauge in the text format: its HELP and TYPE lines and its sample. */
export function metricLines(type: 'counter' | 'gauge', name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

const LATENCY_BOUNDS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Committed records per second over a sliding window of one-second slots. */
class RateWindow {
  readonly #slots = new Float64Array(10);
  #second = 0;
  add(n: number, nowMs: number): void {
    this.#advance(nowMs);
    this.#slots[this.#second % this.#slots.length] += n;
  }
  rate(nowMs: number): number {
    this.#advance(nowMs);
    // Exclude the current, partial second.
    let sum = 0;
    const n = this.#slots.length;
    for (let i = 1; i < n; i++) sum += this.#slots[(this.#second - i + n * 2) % n];
    return sum / (n - 1);
  }
  #advance(nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    if (this.#second === 0) this.#second = s;
    const steps = Math.min(s - this.#second, this.#slots.length);
    for (let i = 1; i <= steps; i++) this.#slots[(this.#second + i) % this.#slots.length] = 0;
    if (s > this.#second) this.#second = s;
  }
}

export class Metrics {
  readonly submitLatency = new Histogram('gmledger_submit_latency_seconds',
    'Time from a submit frame arriving to its results being sent (block durable).', LATENCY_BOUNDS_S);
  readonly finalLatency = new Histogram('gmledger_final_latency_seconds',
    'Time from a SUBMIT_FINAL frame arriving to its results being sent (block certified by a quorum).',
    LATENCY_BOUNDS_S);
  readonly blockInterval = new Histogram('gmledger_block_interval_seconds', 'Time between consecutive durable blocks.',
    LATENCY_BOUNDS_S);
  readonly blockRecords = new Histogram('gmledger_block_records', 'Records per block.',
    [1, 10, 100, 1000, 5000, 10000, 20000, 50000]);
  recordsCommitted = 0;
  recordsRejected = 0;
  blocks = 0;
  frames = 0;
  bytesIn = 0;
  connectionsOpened = 0;
  slowSubscribersCut = 0;
  /** Connections closed for sending too many bad signatures (BAD_SIGNATURES_PER_WINDOW_MAX). */
  badSignatureCloses = 0;
  readonly errors = new Map<string, number>();
  /** Records refused at admission (codes 1..31: never in a block), by code. */
  readonly refusedAtAdmission = new Float64Array(RESULT_APPLY_MIN);
  #lastBlockMs = 0;
  readonly #tps = new RateWindow();

  error(name: string): void {
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
  }

  block(count: number, nowMs: number): void {
    this.blocks++;
    this.blockRecords.observe(count);
    if (this.#lastBlockMs !== 0) this.blockInterval.observe((nowMs - this.#lastBlockMs) / 1000);
    this.#lastBlockMs = nowMs;
  }

  committed(ok: number, rejected: number, nowMs: number): void {
    this.recordsCommitted += ok;
    this.recordsRejected += rejected;
    this.#tps.add(ok, nowMs);
  }

  tps(nowMs = Date.now()): number {
    return this.#tps.rate(nowMs);
  }

  render(gauges: Record<string, [help: string, value: number]>, extra = ''): string {
    let out = '';
    const counter = (name: string, help: string, v: number) => {
      out += metricLines('counter', name, help, v);
    };
    counter('gmledger_records_committed_total', 'Records answered with result ok.', this.recordsCommitted);
    counter('gmledger_records_rejected_total', 'Records answered with a non-ok result code.', this.recordsRejected);
    counter('gmledger_blocks_total', 'Durable blocks observed.', this.blocks);
    counter('gmledger_frames_total', 'WebSocket frames received.', this.frames);
    counter('gmledger_bytes_received_total', 'WebSocket payload bytes received.', this.bytesIn);
    counter('gmledger_connections_opened_total', 'WebSocket connections accepted.', this.connectionsOpened);
    counter(
      'gmledger_slow_subscribers_cut_total', 'Connections closed for lagging subscriptions.', this.slowSubscribersCut,
    );
    counter('gmledger_bad_signature_closes_total', 'Connections closed for too many bad signatures.',
      this.badSignatureCloses);
    out += '# HELP gmledger_frame_errors_total Frames refused, by error.\n# TYPE gmledger_frame_errors_total counter\n';
    for (const [k, v] of [...this.errors].sort()) out += `gmledger_frame_errors_total{error="${k}"} ${v}\n`;
    out += '# HELP gmledger_records_refused_total Records refused at admission (never in a block), by result.\n' +
      '# TYPE gmledger_records_refused_total counter\n';
    this.refusedAtAdmission.forEach((v, code) => {
      if (v > 0) out += `gmledger_records_refused_total{result="${resultName(code)}"} ${v}\n`;
    });
    out += metricLines('gauge', 'gmledger_tps', 'Records committed per second, mean over the last 9 s.', this.tps());
    for (const [name, [help, v]] of Object.entries(gauges)) out += metricLines('gauge', name, help, v);
    out += this.submitLatency.render() + this.finalLatency.render() + this.blockInterval.render() +
      this.blockRecords.render();
    return out + extra;
  }
}
