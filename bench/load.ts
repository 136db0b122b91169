#!/usr/bin/env node
// `gmledger bench` / `npm run bench:load -- [options]`: the end-to-end load harness.
//
//  1. creates a chain in a temporary directory and runs `gmledger start` on it as a
//     separate process (so the node's CPU and memory can be measured apart);
//  2. registers participant keys and accounts through the node;
//  3. pre-signs every transfer before the clock starts (worker threads, progress bar), so
//     the run measures the node, not the signer;
//  4. opens several connections and streams at a target rate (or flat out), timing each
//     batch from the moment it is handed to the SDK to its durable result;
//  5. reports committed TPS, p50/p95/p99/max latency, the node's CPU and memory; writes
//     JSON, prints a markdown table row, and with `--docs docs/benchmarks.md` records the
//     row (with its date and command) in that file's load-harness log.
//
// With `--consortium n` the target is n nodes over 3 nats-servers (bench/consortium.ts):
// setup goes through node 1 and waits until every node has it final, connections are spread
// over the nodes, and the report adds each process's CPU and each node's server-side latency
// histograms. `--wait final` times each batch to its final result (SUBMIT_FINAL) instead of
// its durable one; submit→durable then comes from the nodes' histograms.
//
// Latency is measured from the scheduled send time, so time spent waiting for a free
// in-flight slot counts (no coordinated omission).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseOrUsage } from '../src/server/cli-usage.js';
import {
  cpuReport, cpuSnapshot, serverLatency, stageUtilisation, startConsortium, waitAllFinal,
  type CpuReport, type ServerLatency, type Target,
} from './consortium.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEDGER = 1;

export interface BenchOptions {
  connections: number;
  /** Target records/s; 0 = flat out. */
  rate: number;
  durationS: number;
  /** Records per frame. */
  batch: number;
  /** Batches in flight per connection. */
  window: number;
  signers: number;
  accounts: number;
  /** Flat-out total records (rate 0). */
  count: number;
  trusted: boolean;
  backend: 'ledger' | 'memory';
  blockMs?: number;
  verifyThreads?: number;
  /** Extra `gmledger start` arguments (--limit NAME=n …). */
  nodeArgs: string[];
  out: string;
  keep: boolean;
  /** Markdown file whose load-harness log gets this run's row (between DOCS_BEGIN and DOCS_END). */
  docs?: string;
  /** Consortium nodes over 3 nats-servers; 0 = one node, no NATS. */
  consortium: number;
  /** When a batch counts as answered: its block durable at the node, or final (SUBMIT_FINAL). */
  wait: 'durable' | 'final';
}

const DEFAULTS: BenchOptions = {
  connections: 4, rate: 10_000, durationS: 60, batch: 256, window: 8, signers: 64, accounts: 1024, count: 200_000,
  trusted: false, backend: 'ledger', nodeArgs: [], out: 'bench-results/load.json', keep: false,
  consortium: 0, wait: 'durable',
};
/** Consortium nodes `--consortium` takes (initConsortium's own bound is higher; 2 cores are not). */
const CONSORTIUM_NODES_MAX = 7;

export const BENCH_USAGE = `usage: gmledger bench [options]
  --rate <n>          target records/s (default ${DEFAULTS.rate}); 0 = flat out
  --duration <s>      seconds at the target rate (default ${DEFAULTS.durationS})
  --count <n>         records when flat out (default ${DEFAULTS.count})
  --connections <n>   WebSocket connections (default ${DEFAULTS.connections}; with --consortium, 2 per node),
                      spread over the nodes round-robin
  --batch <n>         records per frame (default ${DEFAULTS.batch})
  --window <n>        frames in flight per connection (default ${DEFAULTS.window})
  --signers <n>       participant keys (default ${DEFAULTS.signers})
  --accounts <n>      accounts (default ${DEFAULTS.accounts})
  --trusted           gateway mode: unsigned records, one vouch (gateway SM2 signature) per frame
  --backend memory    measure the network layer alone (node with no ledger behind it)
  --consortium <n>    n nodes (quorum floor(n/2)+1) over 3 nats-servers (JetStream, R3) instead of one
                      node; the table's node CPU is all nodes', its RSS the largest node's
  --wait <when>       durable (default): time each batch to its durable result; final: to its final
                      result (SUBMIT_FINAL: block co-signed by a quorum of the consortium's nodes)
  --block-ms <n>      node block time limit
  --verify-threads <n> node verifies SM2 on n worker threads (default: the node's own, one per core up
                      to 4; 0 = main thread)
  --limit NAME=<n>    passed to the node (repeatable)
  --block-records <n> passed to the node
  --out <file>        JSON results (default ${DEFAULTS.out}); every run also prints CPU seconds per
                      process and per 1,000 transfers, and the nodes' own latency histograms
  --docs <file>       also record the run's row in <file>'s load-harness log (e.g. docs/benchmarks.md)
  --keep              keep the chain directory`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const o = { ...DEFAULTS, nodeArgs: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = argv[++i];
      if (v === undefined || !/^[0-9]+$/.test(v)) throw new Error(`${a} needs a non-negative integer`);
      return Number(v);
    };
    switch (a) {
      case '--rate': o.rate = num(); break;
      case '--duration': o.durationS = num(); break;
      case '--count': o.count = num(); break;
      case '--connections': o.connections = Math.max(1, num()); break;
      case '--batch': o.batch = Math.max(1, num()); break;
      case '--window': o.window = Math.max(1, num()); break;
      case '--signers': o.signers = Math.max(1, num()); break;
      case '--accounts': o.accounts = Math.max(2, num()); break;
      case '--block-ms': o.blockMs = num(); break;
      case '--consortium': o.consortium = num(); break;
      case '--wait': {
        const w = argv[++i];
        if (w !== 'durable' && w !== 'final') throw new Error('--wait durable|final');
        o.wait = w;
        break;
      }
      case '--verify-threads': o.verifyThreads = num(); break;
      case '--limit': o.nodeArgs.push('--limit', argv[++i] ?? ''); break;
      case '--block-records': o.nodeArgs.push('--block-records', argv[++i] ?? ''); break;
      case '--trusted': o.trusted = true; break;
      case '--keep': o.keep = true; break;
      case '--backend': {
        const b = argv[++i];
        if (b !== 'ledger' && b !== 'memory') throw new Error('--backend ledger|memory');
        o.backend = b;
        break;
      }
      case '--out': o.out = argv[++i] ?? o.out; break;
      case '--docs': {
        const f = argv[++i];
        if (!f) throw new Error('--docs needs a file');
        o.docs = f;
        break;
      }
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (o.consortium > CONSORTIUM_NODES_MAX) throw new Error(`--consortium takes 0..${CONSORTIUM_NODES_MAX} nodes`);
  if (o.consortium > 0 && o.backend === 'memory') throw new Error('--consortium needs the ledger backend');
  // Two connections per node keep the nodes evenly loaded (4 over 3 nodes would not).
  if (o.consortium > 0 && !argv.includes('--connections')) o.connections = 2 * o.consortium;
  return o;
}

// ---------------------------------------------------------------------------------------
// Signing workers: each signs a slice of the transfers.

interface SignJob {
  chainId: number;
  first: number;
  count: number;
  idBase: string;
  signers: { privateKey: Uint8Array; publicKey: Uint8Array }[];
  accounts: number;
  accountBase: string;
  trusted: boolean;
}

async function signSlice(job: SignJob, progress: (n: number) => void): Promise<Uint8Array> {
  const { encode } = await import(pathToFileURL(join(ROOT, 'dist/src/codec/record.js')).href);
  const { signRecord, signerFromKeyPair } = await import(pathToFileURL(join(ROOT, 'dist/src/codec/builders.js')).href);
  const signers = job.signers.map((s: { privateKey: Uint8Array; publicKey: Uint8Array }) => signerFromKeyPair(s));
  const out = new Uint8Array(job.count * 256);
  const idBase = BigInt(job.idBase);
  const accountBase = BigInt(job.accountBase);
  for (let k = 0; k < job.count; k++) {
    const i = job.first + k;
    // Account a is controlled by signer a % signers; debit from one the signer controls.
    const debitIdx = i % job.accounts;
    // An offset in [1, accounts − 1]: never the debit account itself, however few accounts.
    const creditIdx = (debitIdx + 1 + (i % Math.min(7, job.accounts - 1))) % job.accounts;
    const signer = signers[debitIdx % signers.length];
    const rec = encode({
      kind: 'transfer', chainId: job.chainId, id: idBase + BigInt(i), signer: signer.keyId,
      debitAccountId: accountBase + BigInt(debitIdx), creditAccountId: accountBase + BigInt(creditIdx), amount: 1n,
      ledger: LEDGER, code: 1,
    });
    if (!job.trusted) signRecord(rec, signer);
    out.set(rec, k * 256);
    if ((k & 1023) === 1023) progress(1024);
  }
  progress(job.count & 1023);
  return out;
}

if (!isMainThread && (workerData as { gmledgerBenchSign?: boolean })?.gmledgerBenchSign) {
  const job = (workerData as { job: SignJob }).job;
  signSlice(job, (n) => parentPort!.postMessage({ progress: n })).then((out) => {
    parentPort!.postMessage({ done: out }, [out.buffer as ArrayBuffer]);
  });
}

function progressBar(label: string, total: number): (n: number) => void {
  let done = 0;
  let last = 0;
  return (n) => {
    done += n;
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const w = 30;
    const fill = Math.round((done / total) * w);
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${done}/${total}`);
    if (done >= total) process.stderr.write('\n');
  };
}

async function presign(base: Omit<SignJob, 'first' | 'count'>, total: number): Promise<Uint8Array> {
  const threads = Math.max(1, Math.min(cpus().length, 8));
  const per = Math.ceil(total / threads);
  const bar = progressBar(base.trusted ? 'building' : 'signing ', total);
  const parts = await Promise.all(Array.from({ length: threads }, (_, t) => {
    const first = t * per;
    const count = Math.max(0, Math.min(per, total - first));
    return new Promise<Uint8Array>((resolve, reject) => {
      if (count === 0) return resolve(new Uint8Array(0));
      const w = new Worker(fileURLToPath(import.meta.url), {
        workerData: { gmledgerBenchSign: true, job: { ...base, first, count } },
      });
      w.on('message', (m: { progress?: number; done?: Uint8Array }) => {
        if (m.progress) bar(m.progress);
        if (m.done) {
          resolve(m.done);
          void w.terminate();
        }
      });
      w.on('error', reject);
    });
  }));
  const all = new Uint8Array(total * 256);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all;
}

// ---------------------------------------------------------------------------------------
// The node process and its resource use.

async function spawnNode(
  dir: string, o: BenchOptions, gateway?: Uint8Array, extra: string[] = [],
): Promise<{ child: ChildProcess; url: string; http: string }> {
  const { toHex } = await import(pathToFileURL(join(ROOT, 'dist/src/crypto/bytes.js')).href);
  // GMLEDGER_BENCH_NODE_FLAGS: extra node flags for the node process (e.g. --cpu-prof).
  const flags = (process.env.GMLEDGER_BENCH_NODE_FLAGS ?? '').split(' ').filter((x) => x !== '');
  const args = [
    ...flags, join(ROOT, 'dist/src/server/cli-start.js'), '--dir', dir, '--port', '0', '--backend', o.backend,
  ];
  if (o.blockMs !== undefined) args.push('--block-ms', String(o.blockMs));
  if (o.verifyThreads !== undefined) args.push('--verify-threads', String(o.verifyThreads));
  args.push(...o.nodeArgs);
  if (gateway) args.push('--gateway', toHex(gateway));
  args.push(...extra);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    rl.on('line', (line) => {
      try {
        const m = JSON.parse(line) as { event: string; url: string; http: string };
        if (m.event === 'listening') resolve({ child, url: m.url, http: m.http });
      } catch { /* not ours */ }
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

async function procSample(pid: number): Promise<{ cpuS: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuS, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}

function percentile(sorted: Float64Array, cum: Float64Array, p: number): number {
  const total = cum[cum.length - 1];
  const target = p * total;
  let lo = 0, hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] < target) lo = mid + 1; else hi = mid;
  }
  return sorted[lo];
}

export interface BenchReport {
  when: string;
  options: BenchOptions;
  machine: { cpus: number; model: string; node: string };
  sm2: string;
  sent: number;
  committed: number;
  rejected: number;
  /** Rejected records by result name (e.g. { bad_signature: 3 }). */
  rejectedBy: Record<string, number>;
  errors: number;
  elapsedS: number;
  committedTps: number;
  perSecond: { min: number; median: number; max: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  nodeCpu: { meanCores: number; peakCores: number };
  nodeRssMiB: { start: number; peak: number; end: number };
  loadgenCpuCores: number;
  /** The node's /metrics at the end of the run (with --consortium: node 1's). */
  nodeMetrics: string;
  /** Where the CPU went: every node (by thread group), nats-server and the load generator. */
  cpu: CpuReport;
  /**
   * Server-side latency from the nodes' histograms over the run (bucket-interpolated, per
   * frame): first all nodes merged, then node by node. `durable`: frame in → block durable at
   * that node; `final`: frame in → final (frames sent with --wait final only).
   */
  serverLatencyMs: { durable: ServerLatency[]; final: ServerLatency[] };
  /** Per node: the share of the run its ledger stage and its verify stage were busy (0..1). */
  utilisation: { ledger: number; verify: number }[];
}

interface KeyPair { keyId: Uint8Array; privateKey: Uint8Array; publicKey: Uint8Array }
type Wait = { wait: BenchOptions['wait'] };
interface BenchClient {
  submitBatch(records: Uint8Array, options: Wait): Promise<{ ok: boolean }[]>;
  submitTrusted(records: Uint8Array, gateway: KeyPair, options: Wait): Promise<{ ok: boolean }[]>;
  close(): Promise<void>;
}
/** The SDK as loaded from dist/ at run time. */
interface Sdk { Client: any; authSigner: any; records: any; generateSigner: () => KeyPair }

const ACCOUNT_BASE = 1_000_000n;

/**
 * Registers the participant keys (and the gateway's) and creates the accounts through node 1;
 * returns the participants. In a consortium, only once every node has them final: a
 * connection to another node must find the keys and accounts there.
 */
async function setUpParticipants(
  sdk: Sdk, roles: { ROLE_PARTICIPANT: number; ROLE_OPERATOR: number }, target: Target,
  o: BenchOptions, gateway: KeyPair | undefined,
): Promise<KeyPair[]> {
  const { admin: adminKey, chainId } = target;
  const wait = { wait: o.consortium > 0 ? 'final' : 'durable' };
  const { Client, authSigner, records, generateSigner } = sdk;
  const { ROLE_PARTICIPANT, ROLE_OPERATOR } = roles;
  const admin = await Client.connect(target.nodes[0].url, { signer: authSigner(adminKey) });
  const signers = Array.from({ length: o.signers }, () => generateSigner());
  const regs = signers.map((s, i) => records.registerKey(
    { chainId, id: 10_000n + BigInt(i), publicKey: s.publicKey, roles: ROLE_PARTICIPANT }, adminKey));
  // A gateway vouches for transfers it authorises as the operator of their ledger.
  if (gateway) {
    regs.push(records.registerKey(
      { chainId, id: 9_999n, publicKey: gateway.publicKey, roles: ROLE_OPERATOR, ledger: LEDGER }, adminKey));
  }
  const rr = await admin.submitBatch(regs, wait);
  if (!rr.every((r: { ok: boolean }) => r.ok)) {
    throw new Error(`key registration failed: ${rr.find((r: { ok: boolean }) => !r.ok).result}`);
  }
  const creates = Array.from({ length: o.accounts }, (_, a) => {
    const s = signers[a % signers.length];
    return records.createAccount(
      { chainId, id: ACCOUNT_BASE + BigInt(a), ledger: LEDGER, code: 1, controller: s.keyId }, s);
  });
  const cr = await admin.submitBatch(creates, wait);
  if (!cr.every((r: { ok: boolean }) => r.ok)) {
    throw new Error(`account creation failed: ${cr.find((r: { ok: boolean }) => !r.ok).result}`);
  }
  await admin.close();
  if (o.consortium > 0) await waitAllFinal(target.nodes, Math.max(...cr.map((r: { height: number }) => r.height)));
  process.stderr.write(`registered ${o.signers} keys, created ${o.accounts} accounts\n`);
  return signers;
}

/** One node on a new chain in `dir`, started like any node. */
async function startSingle(
  dir: string, o: BenchOptions, chainId: number, gateway: KeyPair | undefined,
): Promise<Target> {
  const { initChain } = await import(pathToFileURL(join(ROOT, 'dist/src/chain/init.js')).href);
  const init = await initChain({ dir, chainId });
  const node = await spawnNode(dir, o, gateway?.keyId);
  process.stderr.write(`node pid ${node.child.pid} at ${node.url} (${o.backend})\n`);
  return {
    chainId, admin: init.admin, nodes: [{ url: node.url, http: node.http, pid: node.child.pid! }], natsPids: [],
    stop: async () => {
      node.child.kill('SIGTERM');
      await new Promise((r) => node.child.once('exit', r));
    },
  };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const imp = (p: string) => import(pathToFileURL(join(ROOT, p)).href);
  const sdk: Sdk = await imp('dist/src/client/index.js');
  const { ROLE_PARTICIPANT, ROLE_OPERATOR } = await imp('dist/src/codec/record.js');
  const { sm2Backend } = await imp('dist/src/crypto/sm2-backend.js');

  const dir = await mkdtemp(join(tmpdir(), 'gmledger-bench-'));
  const chainId = 77;
  const gateway = o.trusted ? sdk.generateSigner() : undefined;
  const target = o.consortium > 0
    ? await startConsortium(dir, o.consortium, chainId, (d, extra) => spawnNode(d, o, gateway?.keyId, extra),
      (line) => process.stderr.write(line + '\n'))
    : await startSingle(dir, o, chainId, gateway);
  try {
    const signers = await setUpParticipants(sdk, { ROLE_PARTICIPANT, ROLE_OPERATOR }, target, o, gateway);

    // Pre-sign.
    const total = o.rate > 0 ? o.rate * o.durationS : o.count;
    const txs = await presign({
      chainId, idBase: (1n << 64n).toString(),
      signers: signers.map((s) => ({ privateKey: s.privateKey, publicKey: s.publicKey })),
      accounts: o.accounts, accountBase: ACCOUNT_BASE.toString(), trusted: o.trusted,
    }, total);

    // Connections, spread over the nodes round-robin.
    const connSigner = gateway ?? signers[0];
    // Trusted frames carry one vouch record besides the batch's records.
    const clients: BenchClient[] = await Promise.all(Array.from({ length: o.connections },
      (_, k) => sdk.Client.connect(target.nodes[k % target.nodes.length].url, {
        signer: sdk.authSigner(connSigner), maxInFlight: o.window, batchRecords: o.batch + (o.trusted ? 1 : 0),
      })));
    return await measure(o, sm2Backend.name, target, clients, txs, total, gateway);
  } finally {
    await target.stop();
    if (!o.keep) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`chain kept in ${dir}\n`);
  }
}

/** What the run has sent and had answered so far, per batch and per second. */
interface Tally {
  start: number;
  sent: number;
  answered: number;
  committed: number;
  rejected: number;
  /** Rejected records by result name. */
  rejectedBy: Record<string, number>;
  errors: number;
  /** Per batch: latency (ms) and records. */
  lat: Float64Array;
  cnt: Float64Array;
  /** Records committed in each second of the run. */
  perSecond: Float64Array;
}

/** Streams every pre-signed batch over the connections; resolves once all are answered. */
function stream(
  o: BenchOptions, clients: BenchClient[], txs: Uint8Array, total: number, gateway: KeyPair | undefined, t: Tally,
): Promise<void> {
  const batches = t.lat.length;
  let lastReport = 0;
  const report = () => {
    const now = performance.now();
    if (now - lastReport < 1000) return;
    lastReport = now;
    process.stderr.write(
      `\r${((now - t.start) / 1000).toFixed(0)} s: sent ${t.sent}, committed ${t.committed}, errors ${t.errors}   `);
  };

  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const send = (b: number, scheduledMs: number) => {
    const first = b * o.batch;
    const n = Math.min(o.batch, total - first);
    const c = clients[b % clients.length];
    t.sent += n;
    const slice = txs.subarray(first * 256, (first + n) * 256);
    const wait = { wait: o.wait };
    (gateway ? c.submitTrusted(slice, gateway, wait) : c.submitBatch(slice, wait)).then((rs: { ok: boolean }[]) => {
      const now = performance.now();
      t.lat[b] = now - scheduledMs;
      t.cnt[b] = n;
      let ok = 0;
      for (const r of rs as { ok: boolean; result: string }[]) {
        if (r.ok) ok++;
        else t.rejectedBy[r.result] = (t.rejectedBy[r.result] ?? 0) + 1;
      }
      t.committed += ok;
      t.rejected += n - ok;
      t.perSecond[Math.floor((now - t.start) / 1000)] += ok;
    }, () => {
      t.errors += n;
    }).finally(() => {
      t.answered += n;
      report();
      if (t.answered >= total) done();
    });
  };

  if (o.rate > 0) {
    // Open loop: batch b is due at start + b × batch / rate.
    let b = 0;
    const tick = () => {
      const now = performance.now();
      while (b < batches && t.start + (b * o.batch * 1000) / o.rate <= now) {
        send(b, t.start + (b * o.batch * 1000) / o.rate);
        b++;
      }
      if (b < batches) setTimeout(tick, 1);
    };
    tick();
  } else {
    // Closed loop: keep every connection's window full.
    let b = 0;
    const pump = () => {
      while (b < batches && t.sent - t.answered < o.connections * o.window * o.batch) send(b++, performance.now());
      if (b < batches) setTimeout(pump, 1);
    };
    pump();
  }
  return finished;
}

/**
 * The nodes' CPU and RSS at the start, and their peaks, sampled once a second until stop():
 * CPU summed over the nodes, RSS of the largest node.
 */
async function watchNodes(pids: number[]) {
  const sample = async () => {
    const ss = await Promise.all(pids.map(procSample));
    return { cpuS: ss.reduce((a, x) => a + x.cpuS, 0), rssBytes: Math.max(...ss.map((x) => x.rssBytes)) };
  };
  const cpu0 = await sample();
  const use = { cpu0, sample, rssPeak: cpu0.rssBytes, peakCores: 0, stop: () => clearInterval(sampler) };
  let prev = { t: performance.now(), cpu: cpu0.cpuS };
  const sampler = setInterval(() => {
    sample().then((s) => {
      const t = performance.now();
      use.peakCores = Math.max(use.peakCores, (s.cpuS - prev.cpu) / ((t - prev.t) / 1000));
      prev = { t, cpu: s.cpuS };
      use.rssPeak = Math.max(use.rssPeak, s.rssBytes);
    }, () => undefined);
  }, 1000);
  return use;
}

/** Latency percentiles weighted by records per batch. */
function weightedLatency(lat: Float64Array, cnt: Float64Array): BenchReport['latencyMs'] {
  const order = Array.from({ length: lat.length }, (_, i) => i)
    .filter((i) => cnt[i] > 0).sort((x, y) => lat[x] - lat[y]);
  const sorted = Float64Array.from(order.map((i) => lat[i]));
  const weights = Float64Array.from(order.map((i) => cnt[i]));
  const cum = new Float64Array(weights.length);
  let acc = 0, wsum = 0;
  for (let i = 0; i < weights.length; i++) { acc += weights[i]; cum[i] = acc; wsum += weights[i] * sorted[i]; }
  return sorted.length === 0 ? { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 } : {
    p50: percentile(sorted, cum, 0.5), p95: percentile(sorted, cum, 0.95),
    p99: percentile(sorted, cum, 0.99), max: sorted[sorted.length - 1], mean: wsum / acc,
  };
}

/** The verify threads each node runs: --verify-threads, else `gmledger start`'s default. */
async function nodeVerifyThreads(o: BenchOptions): Promise<number> {
  if (o.verifyThreads !== undefined) return o.verifyThreads;
  const { VERIFY_THREADS_DEFAULT_MAX } = await import('../src/server/cli-start.js');
  const n = availableParallelism();
  return n > 1 ? Math.min(n, VERIFY_THREADS_DEFAULT_MAX) : 0;
}

const allMetrics = (t: Target) => Promise.all(t.nodes.map(async (n) => (await fetch(n.http + '/metrics')).text()));

/** Runs the load against the target and reports on it, the target's resource use included. */
async function measure(
  o: BenchOptions, sm2: string, target: Target, clients: BenchClient[], txs: Uint8Array, total: number,
  gateway: KeyPair | undefined,
): Promise<BenchReport> {
  const batches = Math.ceil(total / o.batch);
  const metrics0 = await allMetrics(target);
  const cpuA = await cpuSnapshot(target);
  const t: Tally = {
    start: performance.now(), sent: 0, answered: 0, committed: 0, rejected: 0, rejectedBy: {}, errors: 0,
    lat: new Float64Array(batches), cnt: new Float64Array(batches),
    perSecond: new Float64Array(Math.ceil(o.durationS * 4 + 600)),
  };
  const use = await watchNodes(target.nodes.map((n) => n.pid));
  const lg0 = process.cpuUsage();
  await stream(o, clients, txs, total, gateway, t);
  const elapsedS = (performance.now() - t.start) / 1000;
  use.stop();
  const cpu1 = await use.sample();
  const cpuB = await cpuSnapshot(target);
  const lg = process.cpuUsage(lg0);
  process.stderr.write('\n');
  for (const c of clients) await c.close();
  const metrics1 = await allMetrics(target);

  const latencyMs = weightedLatency(t.lat, t.cnt);
  const full = Array.from(t.perSecond.subarray(0, Math.max(1, Math.floor(elapsedS)))).sort((x, y) => x - y);
  const MiB = 2 ** 20;
  return {
    when: new Date().toISOString(), options: o,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version }, sm2,
    sent: t.sent, committed: t.committed, rejected: t.rejected, rejectedBy: t.rejectedBy, errors: t.errors, elapsedS,
    committedTps: t.committed / elapsedS,
    perSecond: { min: full[0], median: full[Math.floor(full.length / 2)], max: full[full.length - 1] },
    latencyMs,
    nodeCpu: { meanCores: (cpu1.cpuS - use.cpu0.cpuS) / elapsedS, peakCores: use.peakCores },
    nodeRssMiB: {
      start: use.cpu0.rssBytes / MiB, peak: Math.max(use.rssPeak, cpu1.rssBytes) / MiB, end: cpu1.rssBytes / MiB,
    },
    loadgenCpuCores: (lg.user + lg.system) / 1e6 / elapsedS,
    nodeMetrics: metrics1[0],
    cpu: cpuReport(cpuA, cpuB, t.committed, await nodeVerifyThreads(o)),
    serverLatencyMs: {
      durable: serverLatency(metrics0, metrics1, 'gmledger_submit_latency_seconds'),
      final: serverLatency(metrics0, metrics1, 'gmledger_final_latency_seconds'),
    },
    utilisation: stageUtilisation(metrics0, metrics1, elapsedS),
  };
}

export function markdownRow(r: BenchReport): string {
  const o = r.options;
  const f = (x: number) => x.toFixed(1);
  const head = '| mode | target/s | conns × window × batch | committed | TPS | p50 ms | p95 ms | p99 ms | max ms ' +
    '| node CPU (cores, mean/peak) | node RSS MiB (peak) |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n';
  const mode = `${o.trusted ? 'trusted gateway' : 'SM2-signed'}${o.backend === 'memory' ? ', memory backend' : ''}` +
    (o.consortium > 0 ? `, ${o.consortium}-node consortium` : '') + (o.wait === 'final' ? ', wait final' : '');
  return head + `| ${mode} | ${o.rate || 'flat out'} | ${o.connections} × ${o.window} × ${o.batch} ` +
    `| ${r.committed}/${r.sent} | ${Math.round(r.committedTps)} ` +
    `| ${f(r.latencyMs.p50)} | ${f(r.latencyMs.p95)} | ${f(r.latencyMs.p99)} | ${f(r.latencyMs.max)} | ` +
    `${r.nodeCpu.meanCores.toFixed(2)} / ${r.nodeCpu.peakCores.toFixed(2)} | ${Math.round(r.nodeRssMiB.peak)} |`;
}

/** Markers of the load-harness log in a markdown file; rows go between them, newest first. */
export const DOCS_BEGIN = '<!-- load-harness log: begin (written by gmledger bench --docs) -->';
export const DOCS_END = '<!-- load-harness log: end -->';
/** Rows the log keeps; older ones fall off. */
export const DOCS_ROWS_MAX = 30;
const DOCS_HEAD = '| date (UTC) | command | mode | target/s | conns × window × batch | committed | TPS ' +
  '| p50 ms | p95 ms | p99 ms | max ms | node CPU (cores, mean/peak) | node RSS MiB (peak) |\n' +
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';

/**
 * `text` with `row` (markdownRow's last line) logged for a run of `command` at `when`:
 * inserted first in the table between DOCS_BEGIN and DOCS_END (the block is appended to
 * the text if it has none), keeping DOCS_ROWS_MAX rows. Throws on a malformed block.
 */
export function logRunInDocs(text: string, row: string, command: string, when: Date): string {
  const line = row.split('\n').pop()!;
  if (!line.startsWith('| ') || line.includes('\n')) throw new Error('not a table row');
  const cmd = '`' + command.replace(/[`|]/g, '') + '`';
  const entry = `| ${when.toISOString().slice(0, 16).replace('T', ' ')} | ${cmd} ${line}`;
  let begin = text.indexOf(DOCS_BEGIN);
  if (begin < 0) {
    text = text.replace(/\n*$/, '\n\n') + `${DOCS_BEGIN}\n${DOCS_HEAD}\n${DOCS_END}\n`;
    begin = text.indexOf(DOCS_BEGIN);
  }
  const end = text.indexOf(DOCS_END, begin);
  if (end < 0) throw new Error('load-harness log has a begin marker but no end marker');
  const body = text.slice(begin + DOCS_BEGIN.length, end).split('\n').filter((l) => l.startsWith('| '));
  if (body.length < 2 || !body[1].startsWith('| ---')) throw new Error('load-harness log has no table header');
  const rows = [entry, ...body.slice(2)].slice(0, DOCS_ROWS_MAX);
  return text.slice(0, begin) + `${DOCS_BEGIN}\n${DOCS_HEAD}\n${rows.join('\n')}\n` + text.slice(end);
}

export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const o = parseOrUsage('bench', BENCH_USAGE, parseBenchArgs, argv);
  if (o === undefined) return 2;
  const r = await runBench(o);
  await mkdir(dirname(o.out), { recursive: true });
  await writeFile(o.out, JSON.stringify(r, null, 2) + '\n');
  const row = markdownRow(r);
  console.log(row);
  if (o.docs) {
    const text = await readFile(o.docs, 'utf8');
    await writeFile(o.docs, logRunInDocs(text, row, `gmledger bench ${argv.join(' ')}`, new Date()));
    console.log(`logged in ${o.docs}`);
  }
  console.log(`\nper-second committed: min ${r.perSecond.min}, median ${r.perSecond.median}, max ${r.perSecond.max}; ` +
    `errors ${r.errors}, rejected ${r.rejected}; load generator ${r.loadgenCpuCores.toFixed(2)} cores; ` +
    `sm2 ${r.sm2}; JSON in ${o.out}`);
  for (const line of [...resourceLines(r), ...verdict(r, o)]) console.log(line);
  return 0;
}

/** Where the CPU went, and the latency the nodes saw (their histograms). */
function resourceLines(r: BenchReport): string[] {
  const c = r.cpu;
  const s = (x: number) => x.toFixed(1);
  const k = (x: number) => x.toFixed(3);
  const out = [
    `CPU seconds over the run: nodes ${c.nodes.map((n, i) => `#${i + 1} ${s(n.cpuS)} ` +
      `(main ${s(n.mainS)}, verify ${s(n.verifyS)}, other ${s(n.otherS)}, rocksdb ${s(n.rocksdbS)})`).join(', ')}` +
    (c.nats.length > 0 ? `; nats-servers ${c.nats.map(s).join(', ')}` : '') +
    `; load generator ${s(c.loadgenS)} (${(c.loadgenShare * 100).toFixed(0)} % of this run's CPU); ` +
    `machine busy ${s(c.machineS)}, of which not this run ${s(c.othersS)}`,
    `CPU s per 1,000 transfers: per node ${c.per1000.nodes.map(k).join(' / ')}, all nodes ${k(c.per1000.allNodes)}` +
    (c.nats.length > 0 ? `, nats ${k(c.per1000.nats)}` : '') +
    `, load generator ${k(c.per1000.loadgen)}, total ${k(c.per1000.total)}`,
  ];
  out.push(`busy share of the run by node (ledger stage / verify stage): ${r.utilisation.map((u) =>
    `${u.ledger.toFixed(2)} / ${u.verify.toFixed(2)}`).join(', ')}`);
  for (const [name, h] of Object.entries(r.serverLatencyMs)) {
    if (h[0].frames === 0) continue;
    out.push(`server-side submit→${name} (per frame, from the buckets): all nodes p50 ${s(h[0].p50)} ms, ` +
      `p99 ${s(h[0].p99)} ms over ${h[0].frames} frames` + (h.length > 2
      ? `; by node p99 ${h.slice(1).map((x) => s(x.p99)).join(' / ')} ms` : ''));
  }
  return out;
}

/** What a reader must not miss: a target rate not met, and why records were rejected. */
function verdict(r: BenchReport, o: BenchOptions): string[] {
  const out: string[] = [];
  if (o.rate > 0 && r.committedTps < 0.95 * o.rate) {
    out.push(`TARGET NOT MET: ${Math.round(r.committedTps)} committed/s against --rate ${o.rate}/s ` +
      `(the node or the load generator is saturated; see node CPU above)`);
  }
  const reasons = Object.entries(r.rejectedBy).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) out.push(`rejected by result: ${reasons.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.errors > 0) out.push(`${r.errors} records got no results (connection errors or timeouts)`);
  return out;
}

if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  benchCommand(argv[0] === 'bench' ? argv.slice(1) : argv).then((code) => process.exit(code), (e: Error) => {
    console.error(`gmledger bench: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
