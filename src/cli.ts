#!/usr/bin/env node
// gmledger command line: `init <dir>` creates a chain, `join` makes a consortium node's
// directory from a genesis, `verify <dir>` rechecks one offline, `info <dir>` prints its tip.
// Exit code 0 on success, 1 on a failed check, 2 on bad usage.

import {
  initChain, initConsortium, initGenesis, joinGenesis, readNodePublicKeys, CONSORTIUM_NODES_MAX,
} from './chain/init.js';
import { verifyChain } from './chain/verify.js';
import { toHex } from './crypto/bytes.js';
import { sm2Backend } from './crypto/sm2-backend.js';
import { poolRecordVerifier } from './ledger/verify.js';
import { createVerifyPool } from './pool/index.js';
import { PACKAGE_VERSION } from './protocol/version.js';
import { isBusinessCommand } from './server/cli-business.js';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';



const USAGE = `usage:
  gmledger init <dir> [--chain-id <u32>]   create a chain: keys (0600), config, genesis block
  gmledger init <dir> --nodes <n> [--quorum <q>] [--require-regulator]
                                           a consortium's chain: <dir>/node-1 … node-<n>, one per node
  gmledger init <dir> --node-pub <a.pub>,<b.pub>,… [--quorum <q>] [--require-regulator]
                                           a consortium's genesis from the nodes' public keys only
  gmledger join <genesis dir> <node dir> --key <base>
                                           a node's directory from a genesis and its own key pair
  gmledger verify <dir> [--threads <n>]    recheck the whole chain offline; names the first bad block
                                           (record signatures on <n> worker threads; default: all cores)
  gmledger info <dir>                      print the chain's config and tip
  gmledger keygen <file>                   make an SM2 key pair: <file>.key (0600) and <file>.pub
  gmledger start [--dir <dir>] [--host <h>] [--port <p>] ...   run a node (--help for all options)
  gmledger config [start options]          print the configuration start would use (flags, env, --config file)
  gmledger bench [...]                     the load harness (--help for all options)
  gmledger cluster up [--nodes <n>] ...    a local consortium: nats-servers and nodes (--help for all options)
  gmledger toll feed <file> --dir <dir> --key <base>   replay a trip feed (CSV/NDJSON; --help for all options)
  gmledger key | account | transfer | post | void | tx | freeze | unfreeze | halt | resume | anchor | console
                                           business commands over a running node (gmledger account --help lists them)
  gmledger --help | --version               (every subcommand takes -h/--help)`;

const SUBCOMMAND_USAGE: Record<string, string> = {
  init: 'usage: gmledger init <dir> [--chain-id <u32>] [--nodes <n> [--quorum <q>] [--require-regulator]]\n' +
    '       gmledger init <dir> [--chain-id <u32>] --node-pub <file>[,<file>…] [--quorum <q>] [--require-regulator]\n' +
    '  create a chain in <dir> (missing or empty): keys (0600), config, genesis block\n' +
    `  --nodes <n>          a consortium's chain (docs/consortium.md): one genesis registering n node keys,\n` +
    '                       copied to <dir>/node-1 … <dir>/node-<n>, each with its own node key\n' +
    `                       (1..${CONSORTIUM_NODES_MAX})\n` +
    '  --node-pub <files>   the key ceremony (docs/consortium.md, On separate machines): a genesis directory\n' +
    '                       <dir> registering these node PUBLIC keys (gmledger keygen\'s <base>.pub; comma-\n' +
    '                       separated, or repeat the option), holding no node private key; each organisation\n' +
    '                       then runs gmledger join on a copy of it\n' +
    '  --quorum <q>         signatures that make a block final (default: more than two thirds of the nodes)\n' +
    '  --require-regulator  node-1 (with --node-pub: the first key) is the regulator\'s node: every\n' +
    '                       certificate must carry its signature',
  join: 'usage: gmledger join <genesis dir> <node dir> --key <base>\n' +
    '  an organisation\'s node directory (docs/consortium.md, On separate machines): copies the chain of\n' +
    '  <genesis dir> (made by gmledger init --node-pub) to <node dir> with the node key pair <base>.key\n' +
    '  (mode 0600) and <base>.pub from gmledger keygen <base>; the key must be one the genesis registered.\n' +
    '  <node dir> gets no admin or regulator private key (only their .pub files)',
  verify: 'usage: gmledger verify <dir> [--threads <n>]\n' +
    '  recheck the whole chain offline; names the first bad block\n' +
    '  --threads <n>  verify record signatures on n worker threads, 1..256 (default: all cores)',
  info: 'usage: gmledger info <dir>\n  print the chain\'s config and tip (read-only: also while a node runs on it)',
  keygen: 'usage: gmledger keygen <file>\n' +
    '  make an SM2 key pair: <file>.key (private, hex, mode 0600; refused if it exists) and <file>.pub;\n' +
    '  prints the key id (SM3 of the public key), which register_key and --gateway take',
};

/** Bad usage: a message naming what is wrong, the subcommand's usage, exit code 2. */
class Usage extends Error {}

/** An integer option in [min, max], or a Usage error that states the bounds. */
function intOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new Usage(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** The subcommand's options and positionals (`names`; default one <dir>), strictly: unknown options are errors. */
function parseSub(cmd: string, args: string[], options: Record<string, Opt>, names = [defaultName(cmd)]) {
  let parsed;
  try {
    parsed = parseArgs({
      args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true,
    });
  } catch (e) {
    throw new Usage((e as Error).message);
  }
  if (parsed.values.help) return { help: true as const };
  const pos = parsed.positionals;
  if (pos.length < names.length) throw new Usage(`${cmd} needs ${names.map((n) => `a <${n}>`).join(' and ')}`);
  if (pos.length > names.length) throw new Usage(`unexpected argument ${JSON.stringify(pos[names.length])}`);
  return { help: false as const, dir: pos[0], pos, values: parsed.values as Values };
}

type Opt = { type: 'string' | 'boolean'; multiple?: boolean };
type Values = Record<string, string | boolean | string[] | undefined>;

function defaultName(cmd: string): string {
  return cmd === 'keygen' ? 'file' : 'dir';
}

/** `dir` must hold a chain (its RocksDB folder); otherwise say so, instead of a RocksDB error. */
async function needChain(dir: string): Promise<void> {
  if (!(await stat(join(dir, 'db')).then((s) => s.isDirectory(), () => false))) {
    throw new Error(`${dir} holds no gmledger chain (create one with gmledger init)`);
  }
}

async function init(dir: string, values: Values): Promise<number> {
  const chainId = intOption('chain-id', values['chain-id'] as string | undefined, 0, 0xffffffff);
  const nodes = intOption('nodes', values.nodes as string | undefined, 1, CONSORTIUM_NODES_MAX);
  const nodePub = values['node-pub'] as string[] | undefined;
  if (nodePub !== undefined) {
    if (nodes !== undefined) throw new Usage('--nodes and --node-pub exclude each other');
    return await initFromPublicKeys(dir, chainId, nodePub, values);
  }
  if (nodes === undefined && (values.quorum !== undefined || values['require-regulator'] === true)) {
    throw new Usage('--quorum and --require-regulator need --nodes or --node-pub');
  }
  if (nodes !== undefined) {
    const quorum = intOption('quorum', values.quorum as string | undefined, 1, nodes);
    const requireRegulator = values['require-regulator'] === true;
    const c = await initConsortium({ dir, nodes, chainId, quorum, requireRegulator });
    console.log(JSON.stringify({
      dir, chainId: c.config.chainId, admin: toHex(c.admin.keyId), regulator: toHex(c.regulator.keyId),
      nodes: c.dirs.map((d, k) => ({ dir: d, node: toHex(c.nodes[k].keyId) })), consortium: c.config.consortium,
      keys: `${c.dirs[0]}/keys/admin.key, regulator.key (mode 0600); each node's own keys/node.key`,
    }, null, 2));
    return 0;
  }
  const r = await initChain({ dir, chainId });
  console.log(JSON.stringify({
    dir, chainId: r.config.chainId, admin: toHex(r.admin.keyId), regulator: toHex(r.regulator.keyId),
    node: toHex(r.node.keyId), keys: `${dir}/keys/*.key (mode 0600)`, sm2: sm2Backend.name,
  }, null, 2));
  return 0;
}

/** `init --node-pub`: the key ceremony's genesis directory (no node private key in it). */
async function initFromPublicKeys(dir: string, chainId: number | undefined, nodePub: string[], values: Values) {
  const files = nodePub.flatMap((v) => v.split(',')).filter((f) => f !== '');
  if (files.length < 1 || files.length > CONSORTIUM_NODES_MAX) {
    throw new Usage(`--node-pub takes 1..${CONSORTIUM_NODES_MAX} files, got ${files.length}`);
  }
  const quorum = intOption('quorum', values.quorum as string | undefined, 1, files.length);
  const nodePublicKeys = await readNodePublicKeys(files);
  const requireRegulator = values['require-regulator'] === true;
  const g = await initGenesis({ dir, chainId, nodePublicKeys, quorum, requireRegulator });
  console.log(JSON.stringify({
    dir, chainId: g.config.chainId, admin: toHex(g.admin.keyId), regulator: toHex(g.regulator.keyId),
    genesisKey: toHex(g.genesisKeyId), nodes: files.map((file, k) => ({ pub: file, node: toHex(g.nodeKeyIds[k]) })),
    consortium: g.config.consortium,
    keys: `${dir}/keys/admin.key, regulator.key (mode 0600); no node key: each organisation runs gmledger join`,
  }, null, 2));
  return 0;
}

/** `join`: an organisation's node directory from the genesis directory and its own key pair. */
async function joinCommand(from: string, dir: string, values: Values): Promise<number> {
  const key = values.key as string | undefined;
  if (key === undefined) throw new Usage('join needs --key <base> (the node key pair from gmledger keygen <base>)');
  const node = await joinGenesis({ from, dir, keyBase: key });
  console.log(JSON.stringify({ dir, from, nodeKeyId: toHex(node.keyId), keys: `${dir}/keys/node.key (mode 0600)` },
    null, 2));
  return 0;
}

async function verify(dir: string, values: Values): Promise<number> {
  const threads = intOption('threads', values.threads as string | undefined, 1, 256) ?? availableParallelism();
  await needChain(dir);
  const started = Date.now();
  const progress = verifyProgress(await tipHeight(dir), started);
  const pool = threads > 1 ? createVerifyPool({ threads }) : undefined;
  let report;
  try {
    report = await verifyChain(dir, { ...(pool ? { verifier: poolRecordVerifier(pool) } : {}), onProgress: progress });
  } finally {
    await pool?.close();
  }
  console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000, sm2: sm2Backend.name }, null, 2));
  if (!report.ok) console.error(`gmledger verify: FAILED — ${report.error}`);
  return report.ok ? 0 : 1;
}

/** Every VERIFY_PROGRESS_MS, one stderr line: where verify is, of how many blocks, how fast. */
const VERIFY_PROGRESS_MS = 2_000;

function verifyProgress(tip: number, started: number): (height: number) => void {
  let next = started + VERIFY_PROGRESS_MS;
  return (height) => {
    const now = Date.now();
    if (now < next) return;
    next = now + VERIFY_PROGRESS_MS;
    const pct = tip > 0 ? ` (${Math.floor((100 * height) / tip)}% of ${tip})` : '';
    const rate = Math.round((height + 1) / ((now - started) / 1000));
    console.error(`gmledger verify: block ${height}${pct}, ${rate} blocks/s`);
  };
}

/** The tip's height (−1: none), read-only. */
async function tipHeight(dir: string): Promise<number> {
  const { RocksDb } = await import('../native/rocksdb.js');
  const { META_TIP, decodeTip } = await import('./store/store.js');
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  try {
    const raw = await db.get(META_TIP);
    return raw ? decodeTip(raw).height : -1;
  } finally {
    await db.close();
  }
}

/** The chain's config and tip, read-only: works on a running node's folder too. */
async function info(dir: string): Promise<number> {
  await needChain(dir);
  const { RocksDb } = await import('../native/rocksdb.js');
  const { readChainConfig } = await import('./ledger/config.js');
  const { META_TIP, decodeTip } = await import('./store/store.js');
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  try {
    const config = await readChainConfig(db, dir);
    const raw = await db.get(META_TIP);
    const tip = raw ? decodeTip(raw) : undefined;
    console.log(JSON.stringify({
      chainId: config.chainId, alg: config.alg, nodeKeyId: config.nodeKeyId, createdAt: config.createdAt,
      height: tip?.height ?? -1, tipTimeMs: tip?.timeMs ?? null, tipHash: tip ? toHex(tip.hash) : null,
    }, null, 2));
  } finally {
    await db.close();
  }
  return 0;
}

/** A new SM2 key pair in `<base>.key` (0600, never overwritten) and `<base>.pub`. */
async function keygen(base: string): Promise<number> {
  const { generateSigner } = await import('./crypto/signer.js');
  const { writeFile } = await import('node:fs/promises');
  const s = generateSigner();
  try {
    await writeFile(`${base}.key`, toHex(s.privateKey) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${base}.key exists: keygen never overwrites a key`, { cause: e });
    }
    throw e;
  }
  await writeFile(`${base}.pub`, toHex(s.publicKey) + '\n', { mode: 0o644 });
  console.log(JSON.stringify({ keyId: toHex(s.keyId), privateKey: `${base}.key`, publicKey: `${base}.pub` }, null, 2));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // start and bench own their option parsing and keep running; they are loaded on demand
  // so that init/verify never load the server or the load generator.
  // Both end with process.exit: idle keep-alive sockets would otherwise hold uWS's loop open.
  if (cmd === 'start') {
    const code = await (await import('./server/cli-start.js')).startCommand(rest);
    process.exit(Number(process.exitCode ?? code));
  }
  if (cmd === 'config') return (await import('./server/cli-start.js')).configCommand(rest);
  if (cmd === 'bench') process.exit(await (await import('../bench/load.js')).benchCommand(rest));
  if (cmd === 'cluster') process.exit(await (await import('./server/cli-cluster.js')).clusterCommand(rest));
  if (cmd === 'toll') process.exit(await (await import('./server/cli-toll.js')).tollCommand(rest));
  if (isBusinessCommand(cmd)) return (await import('./server/cli-business.js')).businessCommand(cmd!, rest);
  if (cmd === '--help' || cmd === '-h') { console.log(USAGE); return 0; }
  if (cmd === '--version' || cmd === '-v') { console.log(PACKAGE_VERSION); return 0; }
  const sub = SUBCOMMAND_USAGE[cmd ?? ''];
  if (cmd === undefined || sub === undefined) {
    console.error(cmd === undefined ? USAGE : `gmledger: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  try {
    const options: Record<string, Opt> = cmd === 'init' ? {
      'chain-id': { type: 'string' }, nodes: { type: 'string' }, quorum: { type: 'string' },
      'require-regulator': { type: 'boolean' }, 'node-pub': { type: 'string', multiple: true },
    } : cmd === 'verify' ? { threads: { type: 'string' } } : cmd === 'join' ? { key: { type: 'string' } } : {};
    const p = parseSub(cmd, rest, options, cmd === 'join' ? ['genesis dir', 'node dir'] : undefined);
    if (p.help) { console.log(sub); return 0; }
    if (cmd === 'init') return await init(p.dir, p.values);
    if (cmd === 'join') return await joinCommand(p.pos[0], p.pos[1], p.values);
    if (cmd === 'keygen') return await keygen(p.dir);
    return cmd === 'verify' ? await verify(p.dir, p.values) : await info(p.dir);
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    console.error(`gmledger ${cmd}: ${e.message}\n${sub}`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => {
  console.error(`gmledger: ${err.message}`);
  process.exitCode = 1;
});
