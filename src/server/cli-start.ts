#!/usr/bin/env node
// `gmledger start [--dir ./data] [--host 127.0.0.1] [--port 7300] [--gateway <key id hex>]…`
// Runs a node on an embedded RocksDB. On first start (no chain in --dir) it creates a
// development chain and says where its keys are. When listening it prints one JSON line
// ({"event":"listening",…}) on stdout, which tools (the load harness) read to find it.
// SIGINT/SIGTERM stop it gracefully: admitted batches are answered, the ledger is flushed.

import { access, readdir, readFile } from 'node:fs/promises';
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
import { PACKAGE_VERSION } from '../protocol/version.js';
import {
  optionsFromArgv, optionsFromEnv, readConfigFile, type RawOptions, type Source,
} from './config-file.js';
import {
  createLogger, defaultLogFormat, LOG_FORMATS, LOG_LEVELS, pinoNodeLog, toNodeLog,
  type LogFormat, type LogLevel, type NodeLog,
} from './log.js';

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
  --tls-cert <file>     serve TLS (wss://, https://) with this PEM certificate (chain); needs --tls-key
  --tls-key <file>      the PEM private key of --tls-cert (unencrypted); needs --tls-cert
  --cors-origin <url>   a web origin (https://host[:port]) whose pages may read the HTTP API; repeatable;
                        default none (no access-control-allow-origin header)
  --audit-anchor-s <s>  anchor the audit trail (<dir>/audit/audit.jsonl) on the chain every <s> s (default 60)
  --http-auth           every HTTP route but /status, /metrics and the console needs a signed request
                        (docs/protocol.md, HTTP authentication); accounts only for their controller and
                        oversight. Default off: then only /alerts (the regulator's) needs one
  --no-console          do not serve the web console at GET / (docs/console.md); default: served
  --nats <url,…>        join a consortium: order blocks on the NATS JetStream cluster at these URLs
                        (the chain must be a consortium's, made by gmledger init --nodes; docs/consortium.md)
  --replicas <n>        with --nats: stream replicas if this node creates the streams (default 1; 3 on a
                        3-server cluster)
  --limit NAME=<n>      override a limit from src/protocol/limits.ts, e.g. --limit QUEUE_RECORDS_MAX=65536
  --verify-threads <n>  verify SM2 signatures on n worker threads (default: one per core when there
                        are 2 or more; 0 = on the main thread)
  --backend memory      MEASUREMENT ONLY: serve the network layer over an in-memory stand-in
                        (no state machine, nothing persisted) to separate network cost from ledger cost
  --log-level <level>   trace, debug, info (default), warn or error
  --log-format <f>      json (JSON lines on stderr; the default unless stderr is a terminal) or pretty
  --config <file.toml>  read options from a TOML file: the option names without --, e.g. port = 7301,
                        nats = ["nats://a:4222"], limit = { QUEUE_RECORDS_MAX = 65536 }
Every option can also be set as an environment variable GMLEDGER_<NAME> (GMLEDGER_BLOCK_MS=10,
GMLEDGER_GATEWAY=<hex>,<hex>; GMLEDGER_CONFIG for --config). Precedence: flags > environment >
file > defaults. gmledger config [options] prints the result without starting.`;

export const CONFIG_USAGE = `usage: gmledger config [start options]
  print the configuration gmledger start would run with, as JSON: each option's value and its
  source (default, file, env or flag); starts nothing. The options are gmledger start's (--help there)`;

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
  /** Every HTTP route but /status, /metrics and the console needs a signed request. */
  httpAuth?: boolean;
  /** Do not serve the web console at GET / (docs/console.md). */
  noConsole?: boolean;
  /** Anchor the audit trail on the chain every this many seconds (default 60). */
  auditAnchorS?: number;
  blockMs?: number;
  limits: Partial<Limits>;
  backend?: 'ledger' | 'memory';
  verifyThreads?: number;
  blockRecords?: number;
  /** Consortium: the NATS cluster's client URLs. */
  nats?: string[];
  replicas?: number;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** TLS (wss://, https://): a PEM certificate chain file and its private key file, both or neither. */
  tlsCert?: string;
  tlsKey?: string;
}

const NUMBER_OPTIONS: Record<string, { key: keyof StartOptions; max: number; min?: number }> = {
  port: { key: 'port', max: 65535 },
  'chain-id': { key: 'chainId', max: 0xffffffff },
  'block-ms': { key: 'blockMs', max: 60_000 },
  'verify-threads': { key: 'verifyThreads', max: 64 },
  'block-records': { key: 'blockRecords', max: 1 << 16, min: 1 },
  replicas: { key: 'replicas', max: 5, min: 1 },
  'audit-anchor-s': { key: 'auditAnchorS', max: 86_400, min: 1 },
};

function integer(label: string, v: string, max: number, min = 0): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new Error(`${label} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function oneOf<T extends string>(label: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Error(`${label} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Sets one option from one value (an occurrence of its flag); `label` names it in errors. */
function applyOption(o: StartOptions, name: string, v: string, label: string): void {
  const num = NUMBER_OPTIONS[name];
  if (num !== undefined) {
    (o as unknown as Record<string, number>)[num.key] = integer(label, v, num.max, num.min);
    return;
  }
  switch (name) {
    case 'dir': o.dir = v; break;
    case 'dev': o.dev = v === 'true'; break;
    case 'http-auth': o.httpAuth = v === 'true'; break;
    case 'no-console': o.noConsole = v === 'true'; break;
    case 'host': o.host = v; break;
    case 'tls-cert': o.tlsCert = v; break;
    case 'tls-key': o.tlsKey = v; break;
    case 'backend': o.backend = oneOf(label, v, ['ledger', 'memory'] as const); break;
    case 'log-level': o.logLevel = oneOf(label, v, LOG_LEVELS); break;
    case 'log-format': o.logFormat = oneOf(label, v, LOG_FORMATS); break;
    case 'nats': {
      const urls = v.split(',');
      if (urls.length > 16 || !urls.every((u) => /^(nats|tls):\/\/[^\s/,]+$/.test(u))) {
        throw new Error(`${label} takes up to 16 comma-separated nats://host:port URLs, got ${JSON.stringify(v)}`);
      }
      o.nats = urls;
      break;
    }
    case 'cors-origin':
      if (!/^https?:\/\/[^/\s]+$/.test(v)) {
        throw new Error(`${label} takes an origin like https://host:port, got ${JSON.stringify(v)}`);
      }
      (o.corsOrigins ??= []).push(v);
      break;
    case 'gateway': {
      const k = /^[0-9a-fA-F]{64}$/.test(v) ? fromHex(v) : undefined;
      if (k === undefined) throw new Error(`${label} takes a 32-byte key id in hex, got ${JSON.stringify(v)}`);
      o.gateways.push(k);
      break;
    }
    case 'limit': {
      const m = /^([A-Z_]+)=([0-9]+)$/.exec(v);
      if (!m) throw new Error(`${label}: NAME=<n>, got ${JSON.stringify(v)}`);
      if (!Object.hasOwn(LIMITS, m[1])) {
        throw new Error(`${label}: unknown limit ${m[1]} (the names are in src/protocol/limits.ts)`);
      }
      (o.limits as Record<string, number>)[m[1]] = Number(m[2]);
      break;
    }
    default: throw new Error(`unknown option ${name}`);
  }
}

function defaultOptions(): StartOptions {
  return { dir: DEFAULT_DIR, host: DEFAULT_HOST, port: DEFAULT_PORT, gateways: [], limits: {} };
}

function applyAll(o: StartOptions, raw: RawOptions): StartOptions {
  for (const [name, values] of raw.values) for (const v of values) applyOption(o, name, v, raw.label(name));
  return o;
}

/** Start options with where each came from; `config` is the file read (--config or GMLEDGER_CONFIG). */
export interface ResolvedStartOptions {
  options: StartOptions;
  /** Option name → its source; options not listed have their default. */
  sources: Record<string, Source>;
  config?: string;
}

/**
 * The options from flags, environment (GMLEDGER_<NAME>) and the --config file, in that order
 * of precedence, each option as a whole (a --gateway flag replaces the file's gateways).
 * Every source is checked, also where a higher one overrides it.
 */
export function resolveStartOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ResolvedStartOptions {
  const flags = optionsFromArgv(argv);
  const fromEnv = optionsFromEnv(env);
  const configPath = flags.config ?? (env.GMLEDGER_CONFIG || undefined);
  const file = configPath === undefined ? undefined : readConfigFile(configPath);
  const ordered = [file, fromEnv, flags.raw].filter((s): s is RawOptions => s !== undefined);
  const merged = new Map<string, string[]>();
  const sources: Record<string, Source> = {};
  for (const raw of ordered) {
    applyAll(defaultOptions(), raw);
    for (const [name, values] of raw.values) {
      merged.set(name, values);
      sources[name] = raw.source;
    }
  }
  const options = applyAll(defaultOptions(), { source: 'flag', values: merged, label: (n) => `--${n}` });
  checkTlsPair(options);
  return { options, sources, config: configPath === undefined ? undefined : resolve(configPath) };
}

/** --tls-cert and --tls-key: both or neither. */
function checkTlsPair(o: StartOptions): void {
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    const given = o.tlsCert === undefined ? '--tls-key' : '--tls-cert';
    throw new Error(`--tls-cert and --tls-key go together: only ${given} was given`);
  }
}

/**
 * The TLS files, checked before anything is opened: each must be readable and PEM (uWS
 * would otherwise say only that it could not listen). Undefined without TLS.
 */
async function tlsFiles(o: StartOptions): Promise<{ certFile: string; keyFile: string } | undefined> {
  checkTlsPair(o);
  if (o.tlsCert === undefined || o.tlsKey === undefined) return undefined;
  const files = { certFile: resolve(o.tlsCert), keyFile: resolve(o.tlsKey) };
  const check = async (file: string, what: string, pem: RegExp) => {
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new Error(`cannot read the TLS ${what} file ${file}: ${why}`, { cause: e });
    }
    if (!pem.test(text)) throw new Error(`the TLS ${what} file ${file} holds no PEM ${what}`);
  };
  await check(files.certFile, 'certificate', /-----BEGIN CERTIFICATE-----/);
  await check(files.keyFile, 'key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return files;
}

export function parseStartArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  return resolveStartOptions(argv, env).options;
}

/** The effective configuration as `gmledger config` prints it: each option's value and source. */
export function describeStartOptions(r: ResolvedStartOptions): {
  config: string | null; options: Record<string, { value: unknown; source: Source }>;
} {
  const o = r.options;
  const values: Record<string, unknown> = {
    dir: resolve(o.dir), dev: o.dev ?? false, host: o.host, port: o.port, 'chain-id': o.chainId ?? null,
    gateway: o.gateways.map(toHex), 'block-ms': o.blockMs ?? null,
    'block-records': o.blockRecords ?? BLOCK_RECORDS_DEFAULT, 'cors-origin': o.corsOrigins ?? [], nats: o.nats ?? [],
    replicas: o.replicas ?? 1, limit: o.limits,
    'verify-threads': o.verifyThreads ?? defaultVerifyThreads(), backend: o.backend ?? 'ledger',
    'log-level': o.logLevel ?? 'info', 'log-format': o.logFormat ?? defaultLogFormat(),
    'tls-cert': o.tlsCert === undefined ? null : resolve(o.tlsCert),
    'tls-key': o.tlsKey === undefined ? null : resolve(o.tlsKey), 'http-auth': o.httpAuth ?? false,
    'no-console': o.noConsole ?? false, 'audit-anchor-s': o.auditAnchorS ?? 60,
  };
  const options = Object.fromEntries(Object.entries(values).map(([k, value]) =>
    [k, { value, source: r.sources[k] ?? 'default' as Source }]));
  return { config: r.config ?? null, options };
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
async function createDevChain(o: StartOptions, dir: string, log: NodeLog): Promise<void> {
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
  log.info(`created a development chain (id ${r.config.chainId}) in ${dir}`, { chainId: r.config.chainId, dir });
  log.info(`keys are in ${join(dir, 'keys')}: admin.key, regulator.key, node.key (private, mode 0600) ` +
    'and their .pub', { adminKeyId: toHex(r.admin.keyId), regulatorKeyId: toHex(r.regulator.keyId) });
}

/** A consortium node: the ledger on the shared stream; alarms go to the log with event 'alarm'. */
async function openConsortium(
  o: StartOptions,
  ledgerOptions: { dir: string; blockMaxMs?: number; blockMaxRecords: number; verifier: RecordVerifier },
  log: NodeLog,
): Promise<ConsortiumNode> {
  const { openConsortiumLedger } = await import('../consortium/consortium.js');
  const node = await openConsortiumLedger(ledgerOptions, { servers: o.nats, replicas: o.replicas });
  node.on('alarm', (a: Alarm) => log.warn(`consortium alarm: ${a.kind}`, { event: 'alarm', ...a }));
  node.on('error', (e: Error) => log.error(`consortium: ${e.message}`));
  log.info(`consortium node ${toHex(node.ledger.nodePublicKey).slice(0, 16)}… on ${o.nats!.join(',')}, ` +
    `final height ${node.ledger.finalHeight}`, { nats: o.nats, finalHeight: node.ledger.finalHeight });
  return node;
}

function defaultVerifyThreads(): number {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, VERIFY_THREADS_DEFAULT_MAX) : 0;
}

/**
 * Verification is the stage that scales with cores: off the main thread (which runs uWS,
 * admission and the sequencer) whenever there is more than one core.
 */
async function openVerifier(o: StartOptions) {
  const { poolRecordVerifier, sm2RecordVerifier } = await import('../ledger/verify.js');
  const threads = o.verifyThreads ?? defaultVerifyThreads();
  let pool: { close(): Promise<void> } | undefined;
  let inner = sm2RecordVerifier();
  if (threads > 0) {
    const { createVerifyPool } = await import('../pool/index.js');
    const p = createVerifyPool({ threads });
    pool = p;
    inner = poolRecordVerifier(p);
  }
  return { pool, verifier: measureVerifier(inner, threads) };
}

/**
 * Runs a node. `logTo` is a NodeLog (log.ts; startCommand's logs JSON lines through pino) or a
 * plain `(line) => void`, which gets one text line per message; by default, JSON on stderr.
 */
export async function runNode(
  o: StartOptions, logTo: ((line: string) => void) | NodeLog = pinoNodeLog(createLogger()),
): Promise<RunningNode> {
  const log = toNodeLog(logTo);
  const dir = resolve(o.dir);
  const tls = await tlsFiles(o);
  if (!(await exists(join(dir, 'db')))) await createDevChain(o, dir, log);
  const { Ledger } = await import('../ledger/ledger.js');
  const { pool, verifier } = await openVerifier(o);
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
    log.warn('--backend memory: nothing is persisted; for measuring the network layer only');
  } else {
    backend = new LedgerBackend(ledger, () => verifier.metrics(), blockRecords, consortium);
  }
  let server: NodeServer;
  const audit = o.backend === 'memory' ? undefined : await openAudit(o, dir, ledger.config.chainId, backend, log);
  try {
    server = await NodeServer.start({
      backend, host: o.host, port: o.port, gatewayKeys: o.gateways, limits: o.limits, corsOrigins: o.corsOrigins,
      httpAuth: o.httpAuth, tls, log: (line, level = 'error', fields) => log[level](line, fields), audit,
      console: o.noConsole !== true,
    });
  } catch (e) {
    await audit?.close();
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
        await audit?.anchorNow();
        await audit?.close();
        await backend.close();
        await closeLedger();
      })();
      return stopping;
    },
  };
}

/** The node's audit trail, `<dir>/audit/audit.jsonl`, anchored with the node key (docs/operations.md). */
async function openAudit(o: StartOptions, dir: string, chainId: number, backend: NodeBackend, log: NodeLog) {
  const { AuditTrail, nodeAuditAnchor } = await import('./audit.js');
  const { readNodeKey } = await import('../ledger/config.js');
  const { signerFromKeyPair } = await import('../crypto/signer.js');
  const { sm2Backend } = await import('../crypto/sm2-backend.js');
  const privateKey = await readNodeKey(dir);
  const node = signerFromKeyPair({ privateKey, publicKey: sm2Backend.getPublicKey(privateKey) });
  return AuditTrail.open({
    file: join(dir, 'audit', 'audit.jsonl'), anchorEveryMs: (o.auditAnchorS ?? 60) * 1000,
    anchor: nodeAuditAnchor(chainId, node, (batch, count) => backend.submit(batch, count)),
    log: (line) => log.warn(line),
  });
}

/** The `start` subcommand; resolves with the process exit code once the node has stopped. */
export async function startCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(START_USAGE);
    return 0;
  }
  const o = parseOrUsage('start', START_USAGE, parseStartArgs, argv);
  if (o === undefined) return 2;
  const log = pinoNodeLog(createLogger({ level: o.logLevel, format: o.logFormat }));
  let node: RunningNode;
  try {
    node = await runNode(o, log);
  } catch (e) {
    log.error(`start failed: ${(e as Error).message}`, { dir: resolve(o.dir) });
    return 1;
  }
  const info = node.info();
  const stopped = new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info(`${signal}, stopping`, { signal });
      node.stop().then(() => {
        log.info('stopped');
        done();
      }, (e) => {
        log.error(`stop failed: ${(e as Error).message}`);
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
  log.info('listening', {
    version: PACKAGE_VERSION, dir: resolve(o.dir), chainId: info.chainId, height: info.height, url: node.server.url,
    http: node.server.httpUrl, pid: process.pid, sm2: info.sm2,
  });
  await stopped;
  return 0;
}

/** `gmledger config [start options…]`: the effective configuration as JSON; starts nothing. */
export function configCommand(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CONFIG_USAGE);
    return 0;
  }
  const r = parseOrUsage('config', CONFIG_USAGE, resolveStartOptions, argv);
  if (r === undefined) return 2;
  console.log(JSON.stringify(describeStartOptions(r), null, 2));
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
