// A local NATS JetStream cluster of 1..5 nats-server processes on the loopback, for tests
// and for a future `gmledger cluster up`. Each server i gets <dir>/nats-<i>/ holding its
// config (nats.conf), its JetStream store (js/) and its log (nats.log, stdout and stderr
// appended by the child itself, so a restart adds to the same log and the parent holds no
// pipe it must drain). Ports (client, cluster, monitoring) are picked once at start and
// kept, so a restarted server comes back at the same addresses with the same store.
//
// Readiness. startNatsCluster resolves only when JetStream is usable through EVERY server
// (restart(i): through server i): it answers its monitoring endpoint; a client connected to
// it alone gets the JetStream account info, which in a cluster only the meta leader answers
// (so a meta leader exists and is routed to); it knows the meta leader itself; and the meta
// leader reports it a current peer (so, once all are, an R<servers> stream can be placed at
// once). Each probe step is bounded by PROBE_TIMEOUT_MS, so a failure is reported within
// about readyTimeoutMs (plus one probe), or at once if a server exits, with the tail of
// every server's log.
//
// Processes. A child that exits unexpectedly is only recorded (never an unhandled error in
// the caller). One process 'exit' listener, present only while children are alive,
// SIGKILLs them if the parent exits without stop(): a test runner that dies must not leave
// servers behind holding ports and stores.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

export interface NatsClusterOptions {
  /** 1..5 servers (3 for R3 streams). With more than one, they form one JetStream cluster. */
  servers: number;
  /** Base dir: each server gets <dir>/nats-<i>/ (config, store, log). Created if missing. */
  dir: string;
  /** The servers' max_payload; default 3 MiB (gmledger batches are up to 2 MiB). */
  maxPayloadBytes?: number;
  /** Default: findNatsServer(). */
  binary?: string;
  /** A 127.x.x.x address; default 127.0.0.1. The servers listen on the loopback only. */
  host?: string;
  /** How long startNatsCluster and restart wait for readiness; default 20,000 ms. */
  readyTimeoutMs?: number;
}

export interface NatsCluster {
  /** Client URLs, one per server, e.g. nats://127.0.0.1:21234 (stable across restarts). */
  readonly urls: string[];
  /** The servers' names (`n<i>`, as in a stream's cluster.leader), in server order. */
  readonly names: string[];
  /** The pid of server i while it runs, else undefined. */
  pid(i: number): number | undefined;
  /**
   * Sends signal (default SIGKILL) to server i and resolves when it has exited (at once if
   * it is not running). SIGSTOP and SIGCONT resolve once sent (the process stays).
   */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts server i again (same config, ports, store); resolves when it is ready. */
  restart(i: number): Promise<void>;
  /** SIGTERM to all, SIGKILL after 5 s, resolves when all have exited. Idempotent. */
  stop(): Promise<void>;
}

const SERVERS_MAX = 5;
const HOST_DEFAULT = '127.0.0.1';
const MAX_PAYLOAD_BYTES_DEFAULT = 3 * 1024 * 1024;
/** nats-server's own bounds on max_payload are 1 B..64 MiB; below 1 KiB nothing useful fits. */
const MAX_PAYLOAD_BYTES_MIN = 1024;
const MAX_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;
/** Starts tried when a server lost its picked port to another process before binding it. */
const START_TRIES_MAX = 3;
/** Bounds `nats-server --version` in findNatsServer (a wrong binary must not hang the caller). */
const VERSION_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS_DEFAULT = 20_000;
const STOP_GRACE_MS = 5_000;
/** Each readiness probe (an HTTP GET, a connect, a JetStream request) is bounded by this. */
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_INTERVAL_MS = 100;
/** Bytes of each server's log quoted in a readiness error. */
const LOG_TAIL_BYTES = 2_000;
/**
 * Ports are picked below Linux's ephemeral range (32768..60999 by default; macOS and Windows
 * start at 49152): an ephemeral port is handed to outgoing connections, and such a
 * connection could hold a killed server's port when restart() needs it back.
 */
const PORT_LOW = 10_000;
const PORT_HIGH = 32_000;
const PORT_TRIES_MAX = 200;
const CLUSTER_NAME = 'gmledger';
/** Signals that do not end the process: kill() does not wait for an exit after them. */
const NON_TERMINATING: ReadonlySet<NodeJS.Signals> = new Set(['SIGSTOP', 'SIGCONT']);

/** The path of a usable nats-server ($NATS_SERVER_PATH, PATH, /usr/sbin), or undefined. */
export function findNatsServer(): string | undefined {
  const env = process.env.NATS_SERVER_PATH;
  const tries = env ? [env] : ['nats-server', '/usr/sbin/nats-server'];
  for (const bin of tries) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: VERSION_TIMEOUT_MS });
    if (r.status === 0) return bin;
  }
  return undefined;
}

// Children of every cluster in this process (nats-servers, and a local cluster's nodes),
// SIGKILLed if the process exits without stop().
const alive = new Set<ChildProcess>();
const killAlive = (): void => {
  for (const p of alive) p.kill('SIGKILL');
};
export function track(p: ChildProcess): void {
  if (alive.size === 0) process.on('exit', killAlive);
  alive.add(p);
}
export function untrack(p: ChildProcess): void {
  if (alive.delete(p) && alive.size === 0) process.off('exit', killAlive);
}

interface Ports { client: number; cluster: number; http: number }

interface Node {
  name: string;
  dir: string;
  conf: string;
  log: string;
  ports: Ports;
  proc?: ChildProcess;
  /** Resolves when the current proc has exited (or failed to spawn). */
  exited?: Promise<void>;
  /** How the last proc ended (exit code, signal or spawn error), for error messages. */
  ended?: string;
}

function checkOptions(o: NatsClusterOptions): void {
  if (!Number.isInteger(o.servers) || o.servers < 1 || o.servers > SERVERS_MAX) {
    throw new RangeError(`servers must be an integer 1..${SERVERS_MAX}, got ${o.servers}`);
  }
  if (o.host !== undefined && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(o.host)) {
    throw new RangeError(`host must be a 127.x.x.x loopback address, got ${o.host}`);
  }
  const payload = o.maxPayloadBytes;
  const payloadOk = Number.isInteger(payload) && payload! >= MAX_PAYLOAD_BYTES_MIN && payload! <= MAX_PAYLOAD_BYTES_MAX;
  if (payload !== undefined && !payloadOk) {
    const range = `${MAX_PAYLOAD_BYTES_MIN}..${MAX_PAYLOAD_BYTES_MAX}`;
    throw new RangeError(`maxPayloadBytes must be an integer ${range}, got ${payload}`);
  }
  if (o.readyTimeoutMs !== undefined && !(o.readyTimeoutMs > 0)) {
    throw new RangeError(`readyTimeoutMs must be positive, got ${o.readyTimeoutMs}`);
  }
}

function listenOnce(host: string, port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ host, port, exclusive: true }, () => resolve(s));
  });
}

/**
 * `count` distinct ports free on `host`, below the ephemeral range, each held open until all
 * are found (also used for the nodes of a local cluster).
 */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < count; tries++) {
      if (tries >= PORT_TRIES_MAX) throw new Error(`found only ${ports.length} of ${count} free ports on ${host}`);
      const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
      if (ports.includes(port)) continue;
      const s = await listenOnce(host, port);
      if (!s) continue;
      held.push(s);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

function config(node: Node, all: Node[], host: string, maxPayloadBytes: number): string {
  const lines = [
    `server_name: ${node.name}`,
    `listen: "${host}:${node.ports.client}"`,
    `http: "${host}:${node.ports.http}"`,
    `max_payload: ${maxPayloadBytes}`,
    `jetstream { store_dir: ${JSON.stringify(join(node.dir, 'js'))} }`,
  ];
  if (all.length > 1) {
    const routes = all.filter((n) => n !== node).map((n) => `"nats-route://${host}:${n.ports.cluster}"`);
    const listen = `"${host}:${node.ports.cluster}"`;
    lines.push(`cluster { name: ${CLUSTER_NAME}, listen: ${listen}, routes: [${routes.join(', ')}] }`);
  }
  return lines.join('\n') + '\n';
}

function spawnNode(bin: string, node: Node): void {
  const fd = openSync(node.log, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(bin, ['-js', '-c', node.conf], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  node.proc = proc;
  node.exited = new Promise((resolve) => {
    // 'error' (e.g. ENOENT) may come without 'exit': either ends the process's life here.
    // 'error' can also follow 'exit' (a failed kill): only the first ending counts.
    let over = false;
    const done = (how: string): void => {
      if (over) return;
      over = true;
      node.ended = how;
      untrack(proc);
      if (node.proc === proc) node.proc = undefined;
      resolve();
    };
    proc.once('exit', (code, signal) => done(signal ? `signal ${signal}` : `code ${code}`));
    proc.once('error', (err) => done(`spawn error: ${err.message}`));
  });
  track(proc);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last bytes (at most `bytes`, none before offset `from`) of a file, or why there are none. */
function tail(path: string, bytes: number, from = 0): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const n = Math.max(0, Math.min(size - from, bytes));
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    return buf.toString('utf8');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function logs(nodes: Node[]): string {
  return nodes.map((n) => `--- ${n.name} (${n.log}), last ${LOG_TAIL_BYTES} bytes:\n${tail(n.log, LOG_TAIL_BYTES)}`)
    .join('\n');
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Throws why server `node` is not ready yet; returns when it is: JetStream on, the meta
 * leader answering through it, and (in a cluster) the meta leader counting it current.
 */
async function probe(node: Node, all: Node[], host: string): Promise<void> {
  if (!node.proc) throw new Error(`${node.name} is not running`);
  // js-enabled-only: only "JetStream is on" (2.9 ignores it); a full /healthz on newer servers
  // also waits for every stream to be current, which a stream on a dead server never is.
  await getJson(`http://${host}:${node.ports.http}/healthz?js-enabled-only=true`);
  const nc = await connect({
    servers: `nats://${host}:${node.ports.client}`, timeout: PROBE_TIMEOUT_MS, reconnect: false,
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: PROBE_TIMEOUT_MS });
    await jsm.getAccountInfo();
  } finally {
    await nc.close();
  }
  if (all.length === 1) return;
  // The server must itself know the meta leader (a restarted server does only once the
  // leader has reached it), and the leader's /jsz must list it as a current replica. The
  // second alone is not enough: the leader keeps a killed server "current" for a while.
  const own = await getJson(`http://${host}:${node.ports.http}/jsz`);
  const leaderName: string | undefined = own?.meta_cluster?.leader;
  if (!leaderName) throw new Error(`${node.name} knows no meta leader yet`);
  if (leaderName === node.name) return;
  const leader = all.find((n) => n.name === leaderName && n.proc);
  if (!leader) throw new Error(`${node.name} names ${leaderName} the meta leader, which is not running`);
  const view = await getJson(`http://${host}:${leader.ports.http}/jsz`);
  const peers: { name: string; current?: boolean }[] = view?.meta_cluster?.replicas ?? [];
  if (view?.meta_cluster?.leader !== leaderName || !peers.some((p) => p.name === node.name && p.current)) {
    throw new Error(`the meta leader ${leaderName} does not report ${node.name} current`);
  }
}

/** Probes the given servers until all are ready, or throws with every server's log tail. */
async function waitReady(check: Node[], all: Node[], host: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      for (const n of check) await probe(n, all, host);
      return;
    } catch (err) {
      last = err;
    }
    const dead = check.find((n) => !n.proc);
    if (dead || Date.now() >= deadline) {
      const why = dead ? `${dead.name} exited (${dead.ended ?? 'unknown'})` : `not ready after ${timeoutMs} ms`;
      throw new Error(`nats cluster: ${why} (last: ${(last as Error)?.message ?? last})\n${logs(all)}`,
        { cause: last });
    }
    await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
  }
}

class LocalNatsCluster implements NatsCluster {
  readonly urls: string[];
  readonly names: string[];
  readonly #nodes: Node[];
  readonly #bin: string;
  readonly #host: string;
  readonly #readyTimeoutMs: number;
  #stopped?: Promise<void>;

  constructor(nodes: Node[], bin: string, host: string, readyTimeoutMs: number) {
    this.#nodes = nodes;
    this.#bin = bin;
    this.#host = host;
    this.#readyTimeoutMs = readyTimeoutMs;
    this.urls = nodes.map((n) => `nats://${host}:${n.ports.client}`);
    this.names = nodes.map((n) => n.name);
  }

  #node(i: number): Node {
    if (!Number.isInteger(i) || i < 0 || i >= this.#nodes.length) {
      throw new RangeError(`server index must be 0..${this.#nodes.length - 1}, got ${i}`);
    }
    return this.#nodes[i];
  }

  pid(i: number): number | undefined {
    return this.#node(i).proc?.pid;
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.#node(i);
    if (!node.proc) return;
    node.proc.kill(signal);
    if (!NON_TERMINATING.has(signal)) await node.exited;
  }

  async restart(i: number): Promise<void> {
    const node = this.#node(i);
    if (this.#stopped) throw new Error('nats cluster: restart after stop()');
    if (node.proc) throw new Error(`nats cluster: ${node.name} is running (pid ${node.proc.pid}): kill it first`);
    spawnNode(this.#bin, node);
    await waitReady([node], this.#nodes, this.#host, this.#readyTimeoutMs);
  }

  stop(): Promise<void> {
    this.#stopped ??= Promise.all(this.#nodes.map(stopNode)).then(() => undefined);
    return this.#stopped;
  }
}

/** SIGTERM (and SIGCONT, should it be stopped), SIGKILL after STOP_GRACE_MS; until it exits. */
async function stopNode(node: Node): Promise<void> {
  const proc = node.proc;
  if (!proc) return;
  proc.kill('SIGTERM');
  proc.kill('SIGCONT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
  await node.exited;
  clearTimeout(timer);
}

/**
 * Starts `servers` nats-server processes under `dir` and resolves once JetStream is usable
 * through every one of them (see the top of this file); on failure stops them and throws
 * with their logs' tails.
 */
export async function startNatsCluster(o: NatsClusterOptions): Promise<NatsCluster> {
  checkOptions(o);
  const bin = o.binary ?? findNatsServer();
  if (!bin) throw new Error('no nats-server found ($NATS_SERVER_PATH, PATH, /usr/sbin/nats-server)');
  const host = o.host ?? HOST_DEFAULT;
  const readyTimeoutMs = o.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT;
  for (let attempt = 1; ; attempt++) {
    const nodes = await layOut(o);
    const cluster = new LocalNatsCluster(nodes, bin, host, readyTimeoutMs);
    const logSizes = nodes.map((n) => sizeOf(n.log));
    try {
      for (const n of nodes) spawnNode(bin, n);
      await waitReady(nodes, nodes, host, readyTimeoutMs);
      return cluster;
    } catch (err) {
      await cluster.stop();
      // Another process took a picked port before the server bound it: pick again.
      const raced = nodes.some((n, i) => /address already in use/.test(tail(n.log, LOG_TAIL_BYTES, logSizes[i])));
      if (!raced || attempt >= START_TRIES_MAX) throw err;
    }
  }
}

/** Picks the ports and writes each server's config (the dirs and stores are kept if present). */
async function layOut(o: NatsClusterOptions): Promise<Node[]> {
  const host = o.host ?? HOST_DEFAULT;
  const picked = await freePorts(host, 3 * o.servers);
  const nodes: Node[] = Array.from({ length: o.servers }, (_, i) => {
    const dir = join(o.dir, `nats-${i}`);
    const [client, cluster, http] = picked.slice(3 * i, 3 * i + 3);
    const ports: Ports = { client, cluster, http };
    return { name: `n${i}`, dir, conf: join(dir, 'nats.conf'), log: join(dir, 'nats.log'), ports };
  });
  for (const n of nodes) {
    mkdirSync(join(n.dir, 'js'), { recursive: true });
    writeFileSync(n.conf, config(n, nodes, host, o.maxPayloadBytes ?? MAX_PAYLOAD_BYTES_DEFAULT));
  }
  return nodes;
}
