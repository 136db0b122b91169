// A whole consortium on this machine in one call, for development, tests and
// `gmledger cluster up`: a NATS JetStream cluster (nats-cluster.ts) under <dir>/nats, a
// consortium chain (initConsortium) under <dir>/chain, and one `gmledger start` child
// process per node. If <dir>/chain already holds the nodes' directories they are reused
// (the NATS stores under <dir>/nats are kept too), so a cluster can be brought up again.
//
// Ports. Each node's port is picked once and kept, so a restarted node comes back at the
// same URL and an SDK client given the URLs fails back to it. Like the harness, ports are
// picked below the ephemeral range: an outgoing connection could otherwise hold a killed
// node's port when restart() needs it.
//
// Start order. Node 1 starts alone first: the first node to open the chain creates its
// streams, and nodes racing to create them with different settings would refuse each
// other. The others then start together.
//
// Processes. A node's stdout is read for its one listening line; its stderr is kept as a
// tail (quoted in errors) and scanned for alarm lines. A node that exits unexpectedly is
// only recorded. One process 'exit' listener SIGKILLs the nodes if the parent exits
// without stop() (the NATS harness does the same for its servers).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, startNatsCluster, track, untrack, type NatsCluster } from '../consortium/nats-cluster.js';

export interface LocalClusterOptions {
  /** 1..7 consortium nodes. */
  nodes: number;
  /** NATS servers, 1..5; default 3 (streams with 3 replicas). */
  natsServers?: number;
  /** Base dir: <dir>/chain (the nodes' chain directories), <dir>/nats (the NATS servers). */
  dir: string;
  /** Signatures that make a block final; default floor(nodes / 2) + 1 (one of three may be down). */
  quorum?: number;
  /** Node 1 is the regulator's node and must sign every certificate. */
  requireRegulator?: boolean;
  /** Each node's --block-ms; default 50. */
  blockMs?: number;
  /** Extra arguments for every node's `gmledger start`. */
  nodeArgs?: string[];
  /** The node's entry point: dist/src/server/cli-start.js (default, beside this module) or dist/src/cli.js. */
  cli?: string;
}

export interface LocalNode {
  /** 0-based, as kill(i) takes it; the node's directory is node-<index + 1>. */
  index: number;
  dir: string;
  url: string;
  http: string;
  /** The pid while the node runs, else undefined. */
  pid: number | undefined;
}

/** One alarm a node logged (its log line's alarm fields, `event: "alarm"` included). */
export type NodeAlarm = Record<string, unknown>;

export interface LocalCluster {
  readonly chainId: number;
  readonly nats: NatsCluster;
  readonly nodes: LocalNode[];
  /** <dir>/chain/node-1/keys/admin.key (hex; admin.pub beside it). */
  readonly adminKeyFile: string;
  /** Sends signal (default SIGKILL) to node i (0-based); resolves once it has exited. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node i again (same dir, same port); resolves once it is listening. */
  restart(i: number): Promise<void>;
  /** GET /status of node i. */
  status(i: number): Promise<Record<string, unknown>>;
  /** The alarms node i has logged since startLocalCluster (across restarts). */
  alarms(i: number): NodeAlarm[];
  /** The last bytes node i wrote to stderr (across restarts). */
  stderrTail(i: number): string;
  /** SIGTERM to every node (SIGKILL after 10 s), then stops NATS. Idempotent. */
  stop(): Promise<void>;
}

const NODES_MAX = 7;
const NATS_SERVERS_MAX = 5;
const NATS_SERVERS_DEFAULT = 3;
const BLOCK_MS_DEFAULT = 50;
/** The largest --block-ms `gmledger start` takes. */
const BLOCK_MS_MAX = 60_000;
const HOST = '127.0.0.1';
const STDERR_TAIL_BYTES = 4_096;
/** A node loads WASM, opens RocksDB and replays the stream before it listens: generous. */
const LISTEN_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const STATUS_TIMEOUT_MS = 5_000;
const NON_TERMINATING: ReadonlySet<NodeJS.Signals> = new Set(['SIGSTOP', 'SIGCONT']);

function intIn(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}

function checkOptions(o: LocalClusterOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (o.nodes === undefined) throw new RangeError('nodes is required (1..7)');
  intIn('nodes', o.nodes, 1, NODES_MAX);
  intIn('natsServers', o.natsServers, 1, NATS_SERVERS_MAX);
  intIn('quorum', o.quorum, 1, o.nodes);
  intIn('blockMs', o.blockMs, 0, BLOCK_MS_MAX);
  if (typeof o.dir !== 'string' || o.dir === '') throw new RangeError('dir must be a non-empty path');
  if (o.nodeArgs !== undefined && !(Array.isArray(o.nodeArgs) && o.nodeArgs.every((a) => typeof a === 'string'))) {
    throw new RangeError('nodeArgs must be an array of strings');
  }
  if (o.cli !== undefined && (typeof o.cli !== 'string' || !existsSync(o.cli))) {
    throw new RangeError(`cli must be the path of gmledger's cli-start.js or cli.js, got ${JSON.stringify(o.cli)}`);
  }
}

/** One node's process state; `LocalNode` is its public face. */
class NodeProc implements LocalNode {
  readonly index: number;
  readonly dir: string;
  readonly port: number;
  url: string;
  http: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
  ended?: string;
  readonly alarms: NodeAlarm[] = [];
  #stderr = '';

  constructor(index: number, dir: string, port: number) {
    this.index = index;
    this.dir = dir;
    this.port = port;
    this.url = `ws://${HOST}:${port}/ws`;
    this.http = `http://${HOST}:${port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get stderrTail(): string {
    return this.#stderr;
  }

  /** Called with whole lines: an alarm is one JSON line, and a tail cut mid-line is still readable. */
  stderrLine(line: string): void {
    this.#stderr = (this.#stderr + line + '\n').slice(-STDERR_TAIL_BYTES);
    // A log line (JSON: level, time, msg, then the alarm's fields with event "alarm").
    if (!line.includes('"event":"alarm"')) return;
    try {
      const { level: _level, time: _time, msg: _msg, ...alarm } = JSON.parse(line) as NodeAlarm;
      if (alarm.event === 'alarm') this.alarms.push(alarm);
    } catch {
      // Not JSON after all: it stays in the tail.
    }
  }

  /** Why the node is not listening, with its stderr tail. */
  failure(why: string): Error {
    return new Error(`node ${this.index + 1} (${this.dir}): ${why}\n--- its stderr, last bytes:\n${this.#stderr}`);
  }
}

/** Calls `onLine` with each whole line of a stream (a last unterminated line at its end). */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buf !== '') onLine(buf);
    buf = '';
  });
}

interface Launch { cli: string; args: string[] }

/** Spawns node `n` and resolves with its listening line's chain id once it serves. */
function spawnNode(n: NodeProc, launch: Launch): Promise<number> {
  const args = [launch.cli, 'start', '--dir', n.dir, '--host', HOST, '--port', String(n.port), ...launch.args];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  n.proc = proc;
  n.ended = undefined;
  track(proc);
  let listening: (chainId: number) => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const ready = new Promise<number>((resolve, reject) => { listening = resolve; failed = reject; });
  lines(proc.stderr!, (l) => n.stderrLine(l));
  lines(proc.stdout!, (l) => {
    let msg: { event?: string; url?: string; http?: string; chainId?: number } | undefined;
    try { msg = JSON.parse(l); } catch { return; }
    if (msg?.event !== 'listening') return;
    n.url = msg.url ?? n.url;
    n.http = msg.http ?? n.http;
    listening(Number(msg.chainId));
  });
  n.exited = new Promise((resolve) => {
    // 'error' (spawn failure) may come without 'exit', or after it (a failed kill).
    let over = false;
    const done = (how: string): void => {
      if (over) return;
      over = true;
      n.ended = how;
      untrack(proc);
      if (n.proc === proc) n.proc = undefined;
      // Give the pipes a moment to deliver the last stderr lines, which name the cause.
      setTimeout(() => failed(n.failure(`exited before listening (${how})`)), 50);
      resolve();
    };
    proc.once('exit', (code, signal) => done(signal ? `signal ${signal}` : `code ${code}`));
    proc.once('error', (err) => done(`spawn error: ${err.message}`));
  });
  const timer = setTimeout(() => {
    failed(n.failure(`not listening after ${LISTEN_TIMEOUT_MS} ms`));
    proc.kill('SIGKILL');
  }, LISTEN_TIMEOUT_MS);
  return ready.finally(() => clearTimeout(timer));
}

/** SIGTERM (SIGCONT in case it is stopped), SIGKILL after STOP_GRACE_MS; until it exits. */
async function stopNode(n: NodeProc): Promise<void> {
  const proc = n.proc;
  if (!proc) return;
  proc.kill('SIGTERM');
  proc.kill('SIGCONT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
  await n.exited;
  clearTimeout(timer);
}

class Cluster implements LocalCluster {
  chainId = 0;
  readonly nats: NatsCluster;
  readonly nodes: NodeProc[];
  readonly adminKeyFile: string;
  readonly #launch: Launch;
  #stopped?: Promise<void>;

  constructor(nats: NatsCluster, nodes: NodeProc[], adminKeyFile: string, launch: Launch) {
    this.nats = nats;
    this.nodes = nodes;
    this.adminKeyFile = adminKeyFile;
    this.#launch = launch;
  }

  #node(i: number): NodeProc {
    if (!Number.isInteger(i) || i < 0 || i >= this.nodes.length) {
      throw new RangeError(`node index must be 0..${this.nodes.length - 1}, got ${i}`);
    }
    return this.nodes[i];
  }

  /** Starts node i and checks it serves this cluster's chain. */
  async start(i: number): Promise<void> {
    const chainId = await spawnNode(this.#node(i), this.#launch);
    if (this.chainId === 0) this.chainId = chainId;
    if (chainId !== this.chainId) throw this.nodes[i].failure(`serves chain ${chainId}, not ${this.chainId}`);
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.#node(i);
    if (!n.proc) return;
    n.proc.kill(signal);
    if (!NON_TERMINATING.has(signal)) await n.exited;
  }

  async restart(i: number): Promise<void> {
    const n = this.#node(i);
    if (this.#stopped) throw new Error('local cluster: restart after stop()');
    if (n.proc) throw new Error(`local cluster: node ${i + 1} is running (pid ${n.proc.pid}): kill it first`);
    await this.start(i);
  }

  async status(i: number): Promise<Record<string, unknown>> {
    const n = this.#node(i);
    const res = await fetch(`${n.http}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`node ${i + 1} ${n.http}/status: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }

  alarms(i: number): NodeAlarm[] {
    return this.#node(i).alarms;
  }

  stderrTail(i: number): string {
    return this.#node(i).stderrTail;
  }

  stop(): Promise<void> {
    this.#stopped ??= Promise.all(this.nodes.map(stopNode)).then(() => this.nats.stop());
    return this.#stopped;
  }
}

/**
 * The nodes' chain directories: made by initConsortium, or reused when <dir>/chain already
 * holds exactly `nodes` of them (then quorum and requireRegulator, fixed at genesis, must
 * not be given).
 */
async function chainDirs(o: LocalClusterOptions, base: string): Promise<string[]> {
  const dirs = Array.from({ length: o.nodes }, (_, k) => join(base, `node-${k + 1}`));
  if (existsSync(join(dirs[0], 'db'))) {
    const missing = dirs.find((d) => !existsSync(join(d, 'db')));
    if (missing || existsSync(join(base, `node-${o.nodes + 1}`))) {
      throw new RangeError(`nodes: ${base} holds a consortium chain with another number of nodes than ${o.nodes}`);
    }
    if (o.quorum !== undefined || o.requireRegulator === true) {
      throw new RangeError(`quorum and requireRegulator apply to a new chain only; ${base} holds one`);
    }
    return dirs;
  }
  const { initConsortium } = await import('../chain/init.js');
  const quorum = o.quorum ?? Math.floor(o.nodes / 2) + 1;
  await initConsortium({ dir: base, nodes: o.nodes, quorum, requireRegulator: o.requireRegulator === true });
  return dirs;
}

/**
 * Starts NATS, then node 1, then the other nodes; resolves once every node listens. On
 * failure stops whatever it started and rejects (a node's error quotes its stderr tail).
 */
export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  checkOptions(o);
  const cli = o.cli ?? fileURLToPath(new URL('./cli-start.js', import.meta.url));
  const natsServers = o.natsServers ?? NATS_SERVERS_DEFAULT;
  mkdirSync(o.dir, { recursive: true });
  // Independent, and NATS's readiness takes seconds: side by side.
  const [made, started] = await Promise.allSettled([
    chainDirs(o, join(o.dir, 'chain')), startNatsCluster({ servers: natsServers, dir: join(o.dir, 'nats') }),
  ]);
  if (made.status === 'rejected' || started.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    throw made.status === 'rejected' ? made.reason : (started as PromiseRejectedResult).reason;
  }
  const [dirs, nats] = [made.value, started.value];
  let cluster: Cluster | undefined;
  try {
    const ports = await freePorts(HOST, dirs.length);
    const nodes = ports.map((port, k) => new NodeProc(k, dirs[k], port));
    const args = [
      '--nats', nats.urls.join(','), '--replicas', String(Math.min(3, natsServers)),
      '--block-ms', String(o.blockMs ?? BLOCK_MS_DEFAULT), ...(o.nodeArgs ?? []),
    ];
    cluster = new Cluster(nats, nodes, join(dirs[0], 'keys', 'admin.key'), { cli, args });
    await cluster.start(0);
    const rest = await Promise.allSettled(nodes.slice(1).map((n) => cluster!.start(n.index)));
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return cluster;
  } catch (err) {
    await (cluster ?? nats).stop();
    throw err;
  }
}
