#!/usr/bin/env node
// `gmledger start [--dir ./data] [--host 127.0.0.1] [--port 7300] [--gateway <key id hex>]…`
// Runs a node on an embedded RocksDB. On first start (no chain in --dir) it creates a
// development chain and says where its keys are. When listening it prints one JSON line
// ({"event":"listening",…}) on stdout, which tools (the load harness) read to find it.
// SIGINT/SIGTERM stop it gracefully: admitted batches are answered, the ledger is flushed.

import { access, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromHex, toHex } from '../crypto/bytes.js';
import { LedgerBackend } from '../pipeline/ledger-backend.js';
import { parseOrUsage } from './cli-usage.js';
import { NodeServer } from './node-server.js';
import { LIMITS, type Limits } from '../protocol/limits.js';
import type { NodeBackend } from '../pipeline/backend.js';
import { measureVerifier } from '../pipeline/verify-metrics.js';
import { availableParallelism } from 'node:os';
import type { Alarm, ConsortiumNode } from '../consortium/consortium.js';
import type { RecordVerifier } from '../ledger/verify.js';

export const DEFAULT_PORT = 7300;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DIR = './data';
/**
 * Records per block for a served node. Sealing a block runs on the ledger's seal worker, but
 * its WriteBatch, checkpoint copies and results still run on the main thread, which also
 * serves every socket. Measured (docs/benchmarks.md): trusted gateway flat out 106–111k/s at
 * 1024, 136k/s at 4096 (p99 226 ms), 100k/s at 8190 with the default client window (the
 * records in flight no longer fill two blocks). At 10k/s blocks close on time, not size.
 */
export const BLOCK_RECORDS_DEFAULT = 4096;
/** Verify threads when --verify-threads is not given: one per core, at most this many. */
export const VERIFY_THREADS_DEFAULT_MAX = 4;

export const START_USAGE = `usage: gmledger start [options]
  --dir <path>          chain directory (default ${DEFAULT_DIR}); it must hold a chain made by gmledger init,
                        unless --dev is given
  --dev                 create a development chain in --dir if it has none (the folder must be missing
                        or empty); npm start passes it
  --host <addr>         bind address (default ${DEFAULT_HOST}; use 0.0.0.0 only behind a firewall)
  --port <n>            port for WebSocket (/ws) and HTTP (default ${DEFAULT_PORT}; 0 = any free port)
  --chain-id <u32>      with --dev: the chain id of a newly created development chain (an existing
                        chain with another id is refused)
  --gateway <hex>       key id allowed to submit trusted (vouched) batches; repeatable;
                        the key also needs the operator role on the chain
  --block-ms <n>        close a block at most this many ms after it opens (ledger default 20)
  --block-records <n>   close a block at this many records (default ${BLOCK_RECORDS_DEFAULT}); smaller
                        blocks bound the main-thread work of closing one
  --cors-origin <url>   a web origin (https://host[:port]) whose pages may read the HTTP API; repeatable;
                        default none (no access-control-allow-origin header)
  --nats <url,…>        join a consortium: order blocks on the NATS JetStream cluster at these URLs
                        (the chain must be a consortium's, made by gmledger init --nodes; docs/consortium.md)
  --replicas <n>        with --nats: stream replicas if this node creates the streams (default 1; 3 on a
                        3-server cluster)
  --limit NAME=<n>      override a limit from src/protocol/limits.ts, e.g. --limit QUEUE_RECORDS_MAX=65536
  --verify-threads <n>  verify SM2 signatures on n worker threads (default: one per core when there
                        are 2 or more; 0 = on the main thread)
  --backend memory      MEASUREMENT ONLY: serve the network layer over an in-memory stand-in
                        (no state machine, nothing persisted) to separate network cost from ledger cost`;

export interface StartOptions {
  dir: string;
  /** Create a development chain in `dir` if it has none (only a missing or empty folder). */
  dev?: boolean;
  host: string;
  port: number;
  chainId?: number;
  gateways: Uint8Array[];
  /** Web origins allowed to read the HTTP API cross-origin (default none). */
  corsOrigins?: string[];
  blockMs?: number;
  limits: Partial<Limits>;
  backend?: 'ledger' | 'memory';
  verifyThreads?: number;
  blockRecords?: number;
  /** Consortium: the NATS cluster's client URLs. */
  nats?: string[];
  replicas?: number;
}

export function parseStartArgs(argv: string[]): StartOptions {
  const o: StartOptions = { dir: DEFAULT_DIR, host: DEFAULT_HOST, port: DEFAULT_PORT, gateways: [], limits: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string, max = Number.MAX_SAFE_INTEGER, min = 0) => {
      if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
        throw new Error(`${a} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
      }
      return Number(v);
    };
    switch (a) {
      case '--dir': o.dir = next(); break;
      case '--dev': o.dev = true; break;
      case '--host': o.host = next(); break;
      case '--port': o.port = int(next(), 65535); break;
      case '--chain-id': o.chainId = int(next(), 0xffffffff); break;
      case '--block-ms': o.blockMs = int(next(), 60_000); break;
      case '--verify-threads': o.verifyThreads = int(next(), 64); break;
      case '--block-records': o.blockRecords = int(next(), 1 << 16, 1); break;
      case '--replicas': o.replicas = int(next(), 5, 1); break;
      case '--nats': {
        const urls = next().split(',');
        if (urls.length > 16 || !urls.every((u) => /^(nats|tls):\/\/[^\s/,]+$/.test(u))) {
          throw new Error(`--nats takes up to 16 comma-separated nats://host:port URLs, got ${JSON.stringify(urls.join(','))}`);
        }
        o.nats = urls;
        break;
      }
      case '--backend': {
        const b = next();
        if (b !== 'ledger' && b !== 'memory') throw new Error('--backend ledger|memory');
        o.backend = b;
        break;
      }
      case '--cors-origin': {
        const origin = next();
        if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
          throw new Error(`--cors-origin takes an origin like https://host:port, got ${JSON.stringify(origin)}`);
        }
        (o.corsOrigins ??= []).push(origin);
        break;
      }
      case '--gateway': {
        const k = fromHex(next());
        if (k.length !== 32) throw new Error('--gateway takes a 32-byte key id in hex');
        o.gateways.push(k);
        break;
      }
      case '--limit': {
        const m = /^([A-Z_]+)=([0-9]+)$/.exec(next());
        if (!m) throw new Error('--limit NAME=<n>');
        if (!(m[1] in LIMITS)) {
          throw new Error(`--limit: unknown limit ${m[1]} (the names are in src/protocol/limits.ts)`);
        }
        (o.limits as Record<string, number>)[m[1]] = Number(m[2]);
        break;
      }
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

export interface RunningNode {
  server: NodeServer;
  backend: NodeBackend;
  info(): { chainId: number; height: number; sm2: string };
  /** Graceful stop: answer admitted batches, close connections, flush and close the ledger. */
  stop(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creating a chain is gmledger init's job: a mistyped --dir must not start a new chain
 * beside the real one. --dev (npm start) may create one, in a missing or empty folder.
 */
async function createDevChain(o: StartOptions, dir: string, log: (line: string) => void): Promise<void> {
  if (o.dev !== true) {
    throw new Error(`${dir} holds no gmledger chain: create one with \`gmledger init ${o.dir}\` ` +
      '(or pass --dev for a development chain)');
  }
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new Error(`${dir} is not empty and holds no gmledger chain: --dev creates a chain only in an empty folder`);
  }
  const { initChain } = await import('../chain/init.js');
  const r = await initChain({ dir, chainId: o.chainId });
  log(`gmledger: created a development chain (id ${r.config.chainId}) in ${dir}`);
  log(`gmledger: keys are in ${join(dir, 'keys')}: admin.key, regulator.key, node.key (private, mode 0600) ` +
    'and their .pub');
  log(`gmledger:   admin key id     ${toHex(r.admin.keyId)}`);
  log(`gmledger:   regulator key id ${toHex(r.regulator.keyId)}`);
}

/** A consortium node: the ledger on the shared stream; alarms go to the log as JSON lines. */
async function openConsortium(
  o: StartOptions,
  ledgerOptions: { dir: string; blockMaxMs?: number; blockMaxRecords: number; verifier: RecordVerifier },
  log: (line: string) => void,
): Promise<ConsortiumNode> {
  const { openConsortiumLedger } = await import('../consortium/consortium.js');
  const node = await openConsortiumLedger(ledgerOptions, { servers: o.nats, replicas: o.replicas });
  node.on('alarm', (a: Alarm) => log(JSON.stringify({ event: 'alarm', ...a })));
  node.on('error', (e: Error) => log(`gmledger: consortium: ${e.message}`));
  log(`gmledger: consortium node ${toHex(node.ledger.nodePublicKey).slice(0, 16)}… on ${o.nats!.join(',')}, ` +
    `final height ${node.ledger.finalHeight}`);
  return node;
}

function defaultVerifyThreads(): number {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, VERIFY_THREADS_DEFAULT_MAX) : 0;
}

export async function runNode(
  o: StartOptions, log: (line: string) => void = (l) => console.error(l),
): Promise<RunningNode> {
  const dir = resolve(o.dir);
  if (!(await exists(join(dir, 'db')))) await createDevChain(o, dir, log);
  const { Ledger } = await import('../ledger/ledger.js');
  const { poolRecordVerifier, sm2RecordVerifier } = await import('../ledger/verify.js');
  // Verification is the stage that scales with cores: off the main thread (which runs uWS,
  // admission and the sequencer) whenever there is more than one core.
  const threads = o.verifyThreads ?? defaultVerifyThreads();
  let pool: { close(): Promise<void> } | undefined;
  let inner = sm2RecordVerifier();
  if (threads > 0) {
    const { createVerifyPool } = await import('../pool/index.js');
    const p = createVerifyPool({ threads });
    pool = p;
    inner = poolRecordVerifier(p);
  }
  const verifier = measureVerifier(inner, threads);
  const blockRecords = o.blockRecords ?? BLOCK_RECORDS_DEFAULT;
  const ledgerOptions = { dir, blockMaxMs: o.blockMs, blockMaxRecords: blockRecords, verifier };
  const consortium = o.nats ? await openConsortium(o, ledgerOptions, log).catch(async (e: unknown) => {
    throw await pool?.close().then(() => e, () => e) ?? e;
  }) : undefined;
  const ledger = consortium?.ledger ?? await Ledger.open(ledgerOptions);
  if (o.chainId !== undefined && ledger.config.chainId !== o.chainId) {
    await ledger.close();
    await pool?.close();
    throw new Error(`${dir} holds chain ${ledger.config.chainId}, not --chain-id ${o.chainId}`);
  }
  let backend: NodeBackend;
  let closeLedger = async () => {
    await (consortium ?? ledger).close();
    await pool?.close();
  };
  if (o.backend === 'memory') {
    // Measurement only: the chain's registered keys, then nothing touches the ledger again.
    const { MemoryBackend } = await import('../pipeline/memory-backend.js');
    const keys = ledger.keys().map((k) => ({ publicKey: k.publicKey, roles: k.roles, ledger: k.ledger }));
    backend = new MemoryBackend({ chainId: ledger.config.chainId, keys });
    await ledger.close();
    closeLedger = async () => { await pool?.close(); };
    log('gmledger: --backend memory: nothing is persisted; for measuring the network layer only');
  } else {
    backend = new LedgerBackend(ledger, () => verifier.metrics(), blockRecords, consortium);
  }
  let server: NodeServer;
  try {
    server = await NodeServer.start({
      backend, host: o.host, port: o.port, gatewayKeys: o.gateways, limits: o.limits, log, corsOrigins: o.corsOrigins,
    });
  } catch (e) {
    await backend.close();
    await closeLedger();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  const { sm2Backend } = await import('../crypto/sm2-backend.js');
  return {
    server, backend,
    info: () => ({
      chainId: backend.chainId, height: o.backend === 'memory' ? -1 : ledger.height, sm2: sm2Backend.name,
    }),
    stop() {
      stopping ??= (async () => {
        await server.close();
        await backend.close();
        await closeLedger();
      })();
      return stopping;
    },
  };
}

/** The `start` subcommand; resolves with the process exit code once the node has stopped. */
export async function startCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(START_USAGE);
    return 0;
  }
  const o = parseOrUsage('start', START_USAGE, parseStartArgs, argv);
  if (o === undefined) return 2;
  const node = await runNode(o);
  const info = node.info();
  const stopped = new Promise<void>((done) => {
    const stop = (sig: string) => {
      console.error(`gmledger: ${sig}, stopping`);
      node.stop().then(done, (e) => {
        console.error(`gmledger: stop failed: ${(e as Error).message}`);
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // Announce only once the signal handlers are in place: a tool may signal right after.
  console.log(JSON.stringify({
    event: 'listening', url: node.server.url, http: node.server.httpUrl, chainId: info.chainId, height: info.height,
    dir: resolve(o.dir), pid: process.pid, sm2: info.sm2,
  }));
  await stopped;
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  startCommand(argv[0] === 'start' ? argv.slice(1) : argv).then((code) => {
    // The ledger is closed and durable; idle HTTP keep-alive sockets would otherwise hold
    // uWS's loop open until they time out.
    process.exit(process.exitCode ?? code);
  }, (e: Error) => {
    console.error(`gmledger start: ${e.message}`);
    process.exitCode = 1;
  });
}
