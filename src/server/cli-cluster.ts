// `gmledger cluster up [--nodes 3] [--nats-servers 3] [--dir <path>] …`: a whole consortium
// on this machine (src/server/local-cluster.ts) until SIGINT/SIGTERM. stdout carries
// only JSON lines, one per node and then one for the cluster, for tools to read; the
// summary for people goes to stderr.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { parseOrUsage } from './cli-usage.js';
import type { LocalCluster } from './local-cluster.js';

export const CLUSTER_USAGE = `usage: gmledger cluster up [options]
  a local consortium: NATS JetStream servers and consortium nodes (gmledger start), all on
  127.0.0.1, until SIGINT/SIGTERM, which stops them all
  --nodes <n>           consortium nodes, 1..7 (default 3)
  --nats-servers <n>    nats-server processes, 1..5 (default 3; streams get min(3, n) replicas)
  --dir <path>          keep everything here: <path>/chain (the nodes' chain directories, reused if
                        present) and <path>/nats; default a temporary folder, removed at the end
  --keep                without --dir: keep the temporary folder
  --quorum <q>          signatures that make a block final (default floor(nodes / 2) + 1)
  --require-regulator   node 1 is the regulator's node: every certificate must carry its signature
  --block-ms <n>        each node's --block-ms (default 50)
  --national            a second tier (docs/toll.md): a national chain (one node, <dir>/national) into
                        which node 1's key anchors the consortium's latest final header every --anchor-ms
  --anchor-ms <n>       with --national: how often (default 5000)
prints one JSON line per node ({"event":"node","index","url","http","dir","pid"}), then one
{"event":"cluster","chainId","adminKeyFile","nats":[…],"dir"}, and with --national
{"event":"national","url","http","dir","chainId","pid"}; needs nats-server (docs/consortium.md)`;

export interface ClusterUpOptions {
  nodes: number;
  natsServers?: number;
  dir?: string;
  keep?: boolean;
  quorum?: number;
  requireRegulator?: boolean;
  blockMs?: number;
  national?: boolean;
  anchorMs?: number;
}

export function parseClusterArgs(argv: string[]): ClusterUpOptions {
  const [sub, ...rest] = argv;
  if (sub !== 'up') throw new Error(sub === undefined ? 'needs a subcommand: up' : `unknown subcommand ${sub}`);
  const o: ClusterUpOptions = { nodes: 3 };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const next = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string, min: number, max: number) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
        throw new Error(`${a} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
      }
      return Number(v);
    };
    switch (a) {
      case '--nodes': o.nodes = int(next(), 1, 7); break;
      case '--nats-servers': o.natsServers = int(next(), 1, 5); break;
      case '--dir': o.dir = next(); break;
      case '--keep': o.keep = true; break;
      case '--quorum': o.quorum = int(next(), 1, 7); break;
      case '--require-regulator': o.requireRegulator = true; break;
      case '--block-ms': o.blockMs = int(next(), 0, 60_000); break;
      case '--national': o.national = true; break;
      case '--anchor-ms': o.anchorMs = int(next(), 100, 3_600_000); break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quorum !== undefined && o.quorum > o.nodes) {
    throw new Error(`--quorum must be at most --nodes (${o.nodes}), got ${o.quorum}`);
  }
  if (o.keep && o.dir !== undefined) throw new Error('--keep applies to the temporary folder only (no --dir)');
  return o;
}

function announce(c: LocalCluster, dir: string, temp: boolean): void {
  for (const n of c.nodes) {
    const line = { event: 'node', index: n.index + 1, url: n.url, http: n.http, dir: n.dir, pid: n.pid };
    console.log(JSON.stringify(line));
  }
  const nats = c.nats.urls.map((url, i) => ({ url, pid: c.nats.pid(i) }));
  console.log(JSON.stringify({ event: 'cluster', chainId: c.chainId, adminKeyFile: c.adminKeyFile, nats, dir }));
  const lines = [
    `gmledger cluster: chain ${c.chainId}, ${c.nodes.length} node(s) on ${nats.length} nats-server(s), in ${dir}` +
      (temp ? ' (temporary: removed on exit unless --keep)' : ''),
    ...c.nodes.map((n) => `  node ${n.index + 1}  ${n.url}  ${n.http}/status  (pid ${n.pid})`),
    `  nats    ${c.nats.urls.join(',')}`,
    `  admin key ${c.adminKeyFile} (admin.pub beside it)`,
    '  Ctrl-C (SIGINT) or SIGTERM stops everything',
  ];
  console.error(lines.join('\n'));
}

/** The `cluster` subcommand; resolves with the exit code once everything has stopped. */
export async function clusterCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CLUSTER_USAGE);
    return 0;
  }
  const o = parseOrUsage('cluster', CLUSTER_USAGE, parseClusterArgs, argv);
  if (o === undefined) return 2;
  // Handlers first, and kept until the end: a signal during the start, or a second Ctrl-C
  // while stopping, must not kill this process and orphan its children (stop() is bounded).
  let signalled: (sig: string) => void = () => undefined;
  const signal = new Promise<string>((done) => { signalled = done; });
  const onSignal = (sig: NodeJS.Signals) => signalled(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const temp = o.dir === undefined;
  const dir = o.dir !== undefined ? resolve(o.dir) : mkdtempSync(resolve(tmpdir(), 'gmledger-cluster-'));
  try {
    return await run(o, dir, temp, signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (temp && !o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function run(o: ClusterUpOptions, dir: string, temp: boolean, signal: Promise<string>): Promise<number> {
  const { startLocalCluster } = await import('./local-cluster.js');
  const starting = startLocalCluster({
    nodes: o.nodes, natsServers: o.natsServers, dir, quorum: o.quorum, requireRegulator: o.requireRegulator,
    blockMs: o.blockMs,
  });
  const first = await Promise.race([starting.then((c) => ({ c }), (err: Error) => ({ err })), signal]);
  if (typeof first === 'string') {
    console.error(`gmledger cluster: ${first} while starting, stopping`);
    const c = await starting.catch(() => undefined);
    await c?.stop();
    return 0;
  }
  if ('err' in first) {
    console.error(`gmledger cluster: ${first.err.message}`);
    return 1;
  }
  announce(first.c, dir, temp);
  const national = o.national ? await startNational(first.c, dir, o.anchorMs).catch((e: Error) => e) : undefined;
  if (national instanceof Error) {
    console.error(`gmledger cluster: the national tier did not start: ${national.message}`);
    await first.c.stop();
    return 1;
  }
  console.error(`gmledger cluster: ${await signal}, stopping`);
  await national?.stop();
  await first.c.stop();
  console.error('gmledger cluster: stopped');
  return 0;
}

async function startNational(c: LocalCluster, dir: string, anchorMs: number | undefined) {
  const { startNationalTier } = await import('./national-tier.js');
  const cli = resolve(import.meta.dirname, '..', 'cli.js');
  const n = await startNationalTier({
    base: dir, cli, provincialDir: c.nodes[0].dir, provincialHttp: c.nodes[0].http, anchorEveryMs: anchorMs,
    log: (line) => console.error(`gmledger cluster: national: ${line}`),
  });
  console.log(JSON.stringify({
    event: 'national', url: n.url, http: n.http, dir: n.dir, chainId: n.chainId, pid: n.pid,
  }));
  console.error(`  national chain ${n.chainId}  ${n.url}  ${n.http}/status  (pid ${n.pid}),` +
    ' anchoring node 1\'s final headers');
  return n;
}
