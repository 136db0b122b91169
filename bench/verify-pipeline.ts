// Verify pipeline micro-benchmark: the node's real verifier path (poolRecordVerifier over
// 256-byte transfer records signed like bench/load.ts: 64 signers round robin, hinted
// signatures) at several batch sizes and thread counts, beside the raw hinted-batch rates
// (sm2.verifyBatch on this thread; one packed buffer per pool call) in the same run.
// Reports wall-clock signatures/s and CPU µs per signature over all threads of the process
// (process.cpuUsage), medians over rounds; modes are interleaved within every round.
//
//   npx tsc -p tsconfig.json && node dist/bench/verify-pipeline.js
//   env: ROUNDS (5), TIME_MS (600 per mode per round), SIGNERS (64), SIZES (64,128,256,512,1024,4096),
//        THREADS (1,2), ONLY (substring filter on mode names), RAW (1: include the raw modes),
//        BEFORE (a copy of an older dist's parent folder, e.g. /tmp/before with dist/, build/,
//        package.json and node_modules: its pool and record verifiers run beside this build's,
//        as "before:" modes)

import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createVerifyPool, poolRecordVerifier, sm2, sm2RecordVerifier, type VerifyPool } from 'gmledger';
import { encode } from '../src/codec/record.js';
import { generateSigner, signRecord } from '../src/codec/builders.js';
import { keyOrder } from '../src/pool/key-order.js';
import { MESSAGE_BYTES, OFF_HINT, OFF_SIGNATURE, RECORD_BYTES } from '../src/codec/record.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TIME_MS = Number(process.env.TIME_MS ?? 600);
const SIGNERS = Number(process.env.SIGNERS ?? 64);
const SIZES = (process.env.SIZES ?? '64,128,256,512,1024,4096').split(',').map(Number);
const THREADS = (process.env.THREADS ?? '1,2').split(',').map(Number);
const ONLY = process.env.ONLY;
const RAW = process.env.RAW !== '0';
const BEFORE = process.env.BEFORE;
const TOTAL = Math.max(4096, ...SIZES);

function records(n: number, signers: number) {
  const keys = Array.from({ length: signers }, () => generateSigner());
  const out = new Uint8Array(n * RECORD_BYTES);
  const pks: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const s = keys[i % signers]; // bench/load.ts: account i % 1024, signer account % 64
    const rec = encode({
      kind: 'transfer', chainId: 1, id: 1_000_000n + BigInt(i), signer: s.keyId,
      debitAccountId: 10n + BigInt(i % 1024), creditAccountId: 10n + BigInt((i + 1) % 1024), amount: 1n,
      ledger: 1, code: 1,
    });
    signRecord(rec, s);
    out.set(rec, i * RECORD_BYTES);
    pks.push(s.publicKey);
  }
  return { batch: out, pks };
}

function items(batch: Uint8Array, from: number, n: number, pks: Uint8Array[]) {
  return Array.from({ length: n }, (_, k) => {
    const o = (from + k) * RECORD_BYTES;
    return {
      msg: batch.subarray(o, o + MESSAGE_BYTES),
      signature: batch.subarray(o + OFF_SIGNATURE, o + OFF_SIGNATURE + (batch[o + OFF_HINT] === 0xff ? 64 : 65)),
      publicKey: pks[from + k],
    };
  });
}

type Task = { sigs: number; run: () => Promise<unknown> | unknown };

async function measure(t: Task): Promise<{ rate: number; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < TIME_MS) { await t.run(); n += t.sigs; }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { rate: (n * 1000) / wall, cpuUs: (c.user + c.system) / n };
}

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };

type Impl = { createVerifyPool: typeof createVerifyPool; poolRecordVerifier: typeof poolRecordVerifier;
  sm2RecordVerifier: typeof sm2RecordVerifier };
type Pools = { label: string; threads: number; pool: VerifyPool }[];
type Fixture = ReturnType<typeof records>;

async function implementations(): Promise<[string, Impl][]> {
  const impls: [string, Impl][] = [['', { createVerifyPool, poolRecordVerifier, sm2RecordVerifier }]];
  if (BEFORE) {
    const dist = (f: string) => pathToFileURL(join(BEFORE, 'dist/src', f)).href;
    const [p, v] = await Promise.all([import(dist('pool/index.js')), import(dist('ledger/verify.js'))]);
    impls.push(['before: ', { createVerifyPool: p.createVerifyPool, poolRecordVerifier: v.poolRecordVerifier,
      sm2RecordVerifier: v.sm2RecordVerifier }]);
  }
  return impls;
}

/** This thread only: sm2.verifyBatch as bench/sm2.ts calls it, over records, over key-grouped records. */
function rawTasks({ batch, pks }: Fixture, tasks: Record<string, Task>): void {
  // bench/sm2.ts's own fixture shape: short messages "tx i", 1,024 items over 64 keys.
  const keys = Array.from({ length: 64 }, () => sm2.generateKeyPair());
  const short = Array.from({ length: 1024 }, (_, i) => {
    const k = keys[i % 64];
    const m = new TextEncoder().encode(`tx ${i}`);
    return { msg: m, signature: sm2.signRecoverable(m, k.privateKey), publicKey: k.publicKey };
  });
  tasks['main: sm2.verifyBatch 1024 short msgs (bench/sm2 shape)'] = { sigs: 1024, run: () => sm2.verifyBatch(short) };
  for (const size of SIZES) {
    const its = items(batch, 0, size, pks);
    const order = keyOrder(its);
    const grouped = order ? Array.from(order, (k) => its[k]) : its;
    tasks[`main: sm2.verifyBatch records ${size}`] = { sigs: size, run: () => sm2.verifyBatch(its) };
    tasks[`main: sm2.verifyBatch records ${size} grouped by key`] = { sigs: size, run: () => sm2.verifyBatch(grouped) };
    // The main thread's share of a pool call: items, key order, packing (no verification).
    tasks[`main: items + keyOrder + packBatch only ${size}`] = {
      sigs: size, run: () => { const x = items(batch, 0, size, pks); keyOrder(x); return sm2.packBatch(x); },
    };
  }
}

function poolTasks({ batch, pks }: Fixture, impls: [string, Impl][], tasks: Record<string, Task>, pools: Pools): void {
  for (const threads of THREADS) {
    for (const [label, impl] of impls) {
      const pool = impl.createVerifyPool({ threads });
      pools.push({ label, threads, pool });
      const verifier = impl.poolRecordVerifier(pool);
      for (const size of SIZES) {
        const packed = sm2.packBatch(items(batch, 0, size, pks));
        // Raw: one packed buffer per call, `threads` calls in flight (each thread busy).
        if (RAW && !label) {
          tasks[`pool×${threads} raw verifyPacked ${size} ×${threads} in flight`] = {
            sigs: size * threads,
            run: () => Promise.all(Array.from({ length: threads }, () => pool.verifyPacked(packed.slice(), size))),
          };
        }
        const keysOf = pks.slice(0, size);
        const rec = batch.subarray(0, size * RECORD_BYTES);
        for (const inFlight of [1, 2]) {
          tasks[`${label}pool×${threads} poolRecordVerifier ${size} ×${inFlight} in flight`] = {
            sigs: size * inFlight,
            run: () => Promise.all(Array.from({ length: inFlight }, () => verifier.verifyRecords(rec, size, keysOf))),
          };
        }
      }
    }
  }
}

async function run(names: string[], tasks: Record<string, Task>): Promise<void> {
  const rates: Record<string, number[]> = {};
  const cpus: Record<string, number[]> = {};
  for (const k of names) { await measure(tasks[k]); rates[k] = []; cpus[k] = []; } // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of names) {
      const m = await measure(tasks[k]);
      rates[k].push(m.rate);
      cpus[k].push(m.cpuUs);
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS} done, load ${loadavg()[0].toFixed(2)}\n`);
  }
  console.log(`\n${ROUNDS} rounds × ${TIME_MS} ms per mode, ${SIGNERS} signers, Node ${process.version}, ` +
    `${availableParallelism()} cores\n`);
  console.log('| mode | sigs/s (median) | µs wall/sig | CPU µs/sig, all threads (median) |\n' +
    '| --- | ---: | ---: | ---: |');
  for (const k of names) {
    const rate = median(rates[k]);
    console.log(`| ${k} | ${Math.round(rate).toLocaleString('en-US')} | ${(1e6 / rate).toFixed(1)} | ` +
      `${median(cpus[k]).toFixed(1)} |`);
  }
  const paired = names.filter((k) => k.startsWith('before: ') && cpus[k.slice(8)]);
  if (paired.length > 0) {
    console.log('\n| mode | CPU/sig after ÷ before (median of per-round ratios) | sigs/s after ÷ before |\n' +
      '| --- | ---: | ---: |');
    for (const b of paired) {
      const a = b.slice(8);
      const ratio = (x: number[], y: number[]) => median(x.map((v, i) => v / y[i])).toFixed(2);
      console.log(`| ${a} | ${ratio(cpus[a], cpus[b])} | ${ratio(rates[a], rates[b])} |`);
    }
  }
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

async function main(): Promise<void> {
  process.stderr.write(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const fx = records(TOTAL, SIGNERS);
  const impls = await implementations();
  const tasks: Record<string, Task> = {};
  const pools: Pools = [];
  if (RAW) rawTasks(fx, tasks);
  for (const size of SIZES) {
    for (const [label, impl] of impls) {
      const v = impl.sm2RecordVerifier();
      const rec = fx.batch.subarray(0, size * RECORD_BYTES);
      const keysOf = fx.pks.slice(0, size);
      tasks[`${label}main: sm2RecordVerifier ${size}`] = {
        sigs: size, run: () => v.verifyRecords(rec, size, keysOf),
      };
    }
  }
  poolTasks(fx, impls, tasks, pools);
  for (const { label, threads, pool } of pools) { // sanity: every record verifies
    const ok = await poolRecordVerifier(pool).verifyRecords(fx.batch, TOTAL, fx.pks.slice(0, TOTAL));
    if (!ok.every((x) => x === 1)) throw new Error(`${label}pool×${threads}: not every record verified`);
  }
  try {
    // each "before: X" right after X, so a pair sees the same neighbours' load
    const names = Object.keys(tasks).filter((k) => !k.startsWith('before: ') && (!ONLY || k.includes(ONLY)))
      .flatMap((k) => (tasks[`before: ${k}`] ? [k, `before: ${k}`] : [k]));
    await run(names, tasks);
  } finally {
    for (const p of pools) await p.pool.close();
  }
}

await main();
