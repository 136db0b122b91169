// The load harness's consortium target and its accounting (`gmledger bench --consortium n`).
//
// The target: 3 nats-servers (one JetStream cluster, streams with 3 replicas) and n gmledger
// nodes on a chain made by initConsortium, quorum floor(n/2)+1, all on this machine. The
// nodes are started by the harness's own spawnNode (passed in), not by local-cluster.ts, so
// a consortium node runs exactly like the single node it is compared with: the same entry
// point, node flags (GMLEDGER_BENCH_NODE_FLAGS) and ledger defaults (block time included).
// Node 1 starts alone first because the first node to open the chain creates the streams.
//
// The accounting: per-process CPU read from /proc (each node split into its main thread,
// RocksDB's threads and its other threads: the verify pool, the seal worker, V8 and libuv),
// the whole machine's busy time (the machine is shared: what is not ours is someone else's),
// and the nodes' Prometheus latency histograms, diffed over the run and merged.

import type { ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TargetNode { url: string; http: string; pid: number }

/** What the harness loads: one node, or a consortium of them over NATS. */
export interface Target {
  chainId: number;
  admin: { keyId: Uint8Array; privateKey: Uint8Array; publicKey: Uint8Array };
  nodes: TargetNode[];
  /** The nats-servers' pids (none for a single node). */
  natsPids: number[];
  stop(): Promise<void>;
}

export type SpawnNode = (dir: string, extra: string[]) => Promise<{ child: ChildProcess; url: string; http: string }>;

const NATS_SERVERS = 3;

/** Starts NATS, makes the consortium's chain under `dir` and starts its n nodes. */
export async function startConsortium(
  dir: string, n: number, chainId: number, spawnNode: SpawnNode, log: (s: string) => void,
): Promise<Target> {
  const { startNatsCluster } = await import('../src/consortium/nats-cluster.js');
  const { initConsortium } = await import('../src/chain/init.js');
  const nats = await startNatsCluster({ servers: NATS_SERVERS, dir: join(dir, 'nats') });
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => new Promise((r) => {
      if (c.exitCode !== null || c.signalCode !== null) return r(undefined);
      c.once('exit', r);
      c.kill('SIGTERM');
    })));
    await nats.stop();
  };
  try {
    const init = await initConsortium({ dir: join(dir, 'chain'), nodes: n, quorum: Math.floor(n / 2) + 1, chainId });
    const extra = ['--nats', nats.urls.join(','), '--replicas', String(NATS_SERVERS)];
    const nodes: TargetNode[] = [];
    const started = (s: { child: ChildProcess; url: string; http: string }) => {
      children.push(s.child);
      return { url: s.url, http: s.http, pid: s.child.pid! };
    };
    nodes.push(started(await spawnNode(init.dirs[0], extra)));
    nodes.push(...(await Promise.all(init.dirs.slice(1).map((d) => spawnNode(d, extra)))).map(started));
    const natsPids = nats.urls.map((_, i) => nats.pid(i)).filter((p): p is number => p !== undefined);
    log(`consortium: ${n} nodes (quorum ${Math.floor(n / 2) + 1}), pids ${nodes.map((x) => x.pid).join(' ')}; ` +
      `${NATS_SERVERS} nats-servers, pids ${natsPids.join(' ')}`);
    return { chainId, admin: init.admin, nodes, natsPids, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Resolves once every node has applied and certified block `height` (GET /status). */
export async function waitAllFinal(nodes: TargetNode[], height: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    for (;;) {
      const s = await (await fetch(node.http + '/status')).json() as { height: number; finalHeight?: number };
      if (s.height >= height && (s.finalHeight ?? s.height) >= height) break;
      if (Date.now() > deadline) throw new Error(`${node.http}: not final at ${height} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

// ---------------------------------------------------------------------------------------
// CPU from /proc.

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime in seconds from a /proc/…/stat line, and the thread's name. */
function statCpu(stat: string): { cpuS: number; comm: string } {
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ');
  return { cpuS: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, comm: stat.slice(stat.indexOf('(') + 1, close) };
}

/** A process's CPU seconds, whole and by thread: main, RocksDB's, and every other thread by tid. */
interface ProcSnap { cpuS: number; mainS: number; rocksdbS: number; threads: Record<string, number> }

async function procSnap(pid: number): Promise<ProcSnap> {
  const whole = statCpu(await readFile(`/proc/${pid}/stat`, 'utf8')).cpuS;
  const out: ProcSnap = { cpuS: whole, mainS: 0, rocksdbS: 0, threads: {} };
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tids) {
    const t = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').then(statCpu, () => undefined);
    if (!t) continue;
    if (Number(tid) === pid) out.mainS += t.cpuS;
    else if (t.comm.startsWith('rocksdb')) out.rocksdbS += t.cpuS;
    else out.threads[tid] = t.cpuS;
  }
  return out;
}

/**
 * A node's CPU seconds over the run by thread group. Node names every thread "node", so the
 * verify pool is found by its load: its `verifyThreads` workers are the busiest threads
 * besides the main one (each verifies half the signatures; the seal worker, V8's GC threads
 * and libuv's are far lighter at these rates). `otherS`: every remaining thread, the seal
 * worker included; threads that exited during the run count in `cpuS` only.
 */
export interface ProcCpu { cpuS: number; mainS: number; verifyS: number; otherS: number; rocksdbS: number }

function procDelta(a: ProcSnap, b: ProcSnap, verifyThreads: number): ProcCpu {
  const threads = Object.entries(b.threads).map(([tid, x]) => x - (a.threads[tid] ?? 0)).sort((x, y) => y - x);
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  return {
    cpuS: b.cpuS - a.cpuS, mainS: b.mainS - a.mainS, verifyS: sum(threads.slice(0, verifyThreads)),
    otherS: sum(threads.slice(verifyThreads)), rocksdbS: b.rocksdbS - a.rocksdbS,
  };
}

/** The whole machine's busy CPU seconds (all cores; everything but idle and iowait). */
export async function machineBusyS(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / CLOCK_TICKS;
}

export interface CpuSnapshot { nodes: ProcSnap[]; nats: number[]; machineS: number; loadgen: NodeJS.CpuUsage }

export async function cpuSnapshot(t: Target): Promise<CpuSnapshot> {
  return {
    nodes: await Promise.all(t.nodes.map((n) => procSnap(n.pid))),
    nats: await Promise.all(t.natsPids.map(async (p) => statCpu(await readFile(`/proc/${p}/stat`, 'utf8')).cpuS)),
    machineS: await machineBusyS(),
    loadgen: process.cpuUsage(),
  };
}

/** Where the CPU went during the run, in seconds and in seconds per 1,000 committed transfers. */
export interface CpuReport {
  /** Per gmledger node: CPU seconds, whole and by thread group. */
  nodes: ProcCpu[];
  /** Per nats-server: CPU seconds. */
  nats: number[];
  loadgenS: number;
  /** Busy seconds of the whole machine, and the part no process of this run accounts for. */
  machineS: number;
  othersS: number;
  /** CPU seconds per 1,000 committed transfers: each node, all nodes, all nats-servers, everything of ours. */
  per1000: { nodes: number[]; allNodes: number; nats: number; loadgen: number; total: number };
  /** The load generator's share of this run's CPU (nodes + nats-servers + load generator). */
  loadgenShare: number;
}

export function cpuReport(a: CpuSnapshot, b: CpuSnapshot, committed: number, verifyThreads: number): CpuReport {
  const nodes = b.nodes.map((x, i) => procDelta(a.nodes[i], x, verifyThreads));
  const nats = b.nats.map((x, i) => x - a.nats[i]);
  const loadgenS = (b.loadgen.user + b.loadgen.system - a.loadgen.user - a.loadgen.system) / 1e6;
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const allNodes = sum(nodes.map((x) => x.cpuS));
  const natsS = sum(nats);
  const total = allNodes + natsS + loadgenS;
  const k = committed > 0 ? 1000 / committed : 0;
  const machineS = b.machineS - a.machineS;
  return {
    nodes, nats, loadgenS, machineS, othersS: Math.max(0, machineS - total),
    per1000: { nodes: nodes.map((x) => x.cpuS * k), allNodes: allNodes * k, nats: natsS * k, loadgen: loadgenS * k,
      total: total * k },
    loadgenShare: total > 0 ? loadgenS / total : 0,
  };
}

// ---------------------------------------------------------------------------------------
// Prometheus histograms.

/** Cumulative bucket counts by upper bound (+Inf last) of histogram `name` in a /metrics text. */
export function parseHistogram(text: string, name: string): { le: number; count: number }[] {
  const out: { le: number; count: number }[] = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
  return out;
}

/** b − a bucket by bucket, summed over nodes: the frames of this run at every node. */
export function runHistogram(before: string[], after: string[], name: string): { le: number; count: number }[] {
  let acc: { le: number; count: number }[] = [];
  after.forEach((text, i) => {
    const b = parseHistogram(text, name);
    const a = parseHistogram(before[i], name);
    const d = b.map((x, j) => ({ le: x.le, count: x.count - (a[j]?.count ?? 0) }));
    acc = acc.length === 0 ? d : acc.map((x, j) => ({ le: x.le, count: x.count + d[j].count }));
  });
  return acc;
}

/**
 * Quantile q of a cumulative histogram, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does (so only as fine as the buckets); in the +Inf bucket,
 * the last finite bound. Seconds in, milliseconds out.
 */
export function histogramQuantileMs(h: { le: number; count: number }[], q: number): number {
  const total = h.length > 0 ? h[h.length - 1].count : 0;
  if (total === 0) return 0;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const b of h) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe * 1000;
      const inBucket = b.count - prevCount;
      return (prevLe + (b.le - prevLe) * (inBucket > 0 ? (rank - prevCount) / inBucket : 1)) * 1000;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe * 1000;
}

export interface ServerLatency { frames: number; p50: number; p99: number }

/** A run's server-side latency (ms) from histogram `name`: all nodes merged, then each node. */
export function serverLatency(before: string[], after: string[], name: string): ServerLatency[] {
  const one = (h: { le: number; count: number }[]) => ({
    frames: h.length > 0 ? h[h.length - 1].count : 0,
    p50: histogramQuantileMs(h, 0.5), p99: histogramQuantileMs(h, 0.99),
  });
  return [one(runHistogram(before, after, name)), ...after.map((t, i) => one(runHistogram([before[i]], [t], name)))];
}

/** Counter `name`'s value in a /metrics text (0 if absent). */
export function counterValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Each node's stage utilisation over the run (0..1), from its busy-time counters: the
 * ledger stage (a submit outstanding: ordering, apply, sync) and the verify stage (a verify
 * batch outstanding). Near 1: that stage is the bottleneck; well below: it waits on others.
 */
export function stageUtilisation(
  before: string[], after: string[], elapsedS: number,
): { ledger: number; verify: number }[] {
  const rate = (i: number, name: string) => (counterValue(after[i], name) - counterValue(before[i], name)) / elapsedS;
  return after.map((_, i) => ({
    ledger: rate(i, 'gmledger_ledger_busy_seconds_total'), verify: rate(i, 'gmledger_verify_busy_seconds_total'),
  }));
}
