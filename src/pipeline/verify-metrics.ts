// Wraps the ledger's record verifier to measure it: how much of the wall clock the verifier
// (worker pool or main thread) had work, how many batches and signatures it checked. The
// verifier is the pipeline stage that scales with cores, so its utilisation says whether
// more threads would help (near 1) or the bottleneck is elsewhere (well below 1).

import type { RecordVerifier } from '../ledger/verify.js';

export interface MeasuredVerifier extends RecordVerifier {
  /** Prometheus lines for the verifier. */
  metrics(): string;
}

export function measureVerifier(inner: RecordVerifier, threads: number): MeasuredVerifier {
  let outstanding = 0;
  let busySince = 0;
  let busyMs = 0;
  let batches = 0;
  let records = 0;
  return {
    name: inner.name,
    async verifyRecords(batch, count, publicKeys) {
      if (outstanding++ === 0) busySince = performance.now();
      batches++;
      records += count;
      try {
        return await inner.verifyRecords(batch, count, publicKeys);
      } finally {
        if (--outstanding === 0) busyMs += performance.now() - busySince;
      }
    },
    metrics() {
      const busy = (outstanding > 0 ? busyMs + performance.now() - busySince : busyMs) / 1000;
      return '# HELP gmledger_verify_busy_seconds_total Wall time with at least one verify batch outstanding; ' +
        'its rate is the verify stage utilisation (0..1).\n' +
        `# TYPE gmledger_verify_busy_seconds_total counter\ngmledger_verify_busy_seconds_total ${busy}\n` +
        '# HELP gmledger_verify_batches_total Verify batches.\n' +
        `# TYPE gmledger_verify_batches_total counter\ngmledger_verify_batches_total ${batches}\n` +
        '# HELP gmledger_verify_records_total Records through the verifier.\n' +
        `# TYPE gmledger_verify_records_total counter\ngmledger_verify_records_total ${records}\n` +
        '# HELP gmledger_verify_threads Verifier worker threads (0: main thread).\n' +
        `# TYPE gmledger_verify_threads gauge\ngmledger_verify_threads ${threads}\n` +
        '# HELP gmledger_verify_in_flight Verify batches outstanding now.\n' +
        `# TYPE gmledger_verify_in_flight gauge\ngmledger_verify_in_flight ${outstanding}\n`;
    },
  };
}
