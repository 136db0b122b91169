// Creating a chain: chain id, key files (mode 0600), config, and the genesis block (height
// 0) that registers the admin (self-signed bootstrap), regulator and node keys on-chain.

import { randomInt } from 'node:crypto';
import { cp, mkdir, writeFile, access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RocksDb, WriteBatch } from '../../native/rocksdb.js';
import { ROLE_ADMIN, ROLE_NODE, ROLE_REGULATOR, RECORD_BYTES, decode } from '../codec/record.js';
import { decodeBlock } from '../codec/block.js';
import { quorumDefault } from '../codec/certificate.js';
import { equalBytes, fromHex, toHex } from '../crypto/bytes.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { META_CONFIG, blockKey } from '../store/store.js';
import { Ledger, type ChainConfig } from '../ledger/ledger.js';
import { type ConsortiumConfig, readChainConfig, readPrivateKeyFile } from '../ledger/config.js';
import { type Signer, generateSigner, keyIdOf, records, signerFromKeyPair } from '../codec/builders.js';
import type { RecordVerifier } from '../ledger/verify.js';

export interface InitOptions {
  dir: string;
  chainId?: number;
  /** Use these keys instead of generating them (tests). */
  admin?: Signer;
  regulator?: Signer;
  node?: Signer;
  verifier?: RecordVerifier;
  /** Block clock for the genesis block (default Date.now). */
  clock?: () => number;
  /** A consortium's chain: the other nodes' keys, registered with the node role at genesis. */
  otherNodes?: Pick<Signer, 'publicKey'>[];
  consortium?: ConsortiumConfig;
  /** false: `node` only signs the genesis block; its key is not written (initGenesis). */
  writeNodeKey?: boolean;
}

export interface InitResult {
  config: ChainConfig;
  admin: Signer;
  regulator: Signer;
  node: Signer;
}

async function exists(path: string): Promise<boolean> {
  try { await access(path); return true; } catch { return false; }
}

export async function initChain(options: InitOptions): Promise<InitResult> {
  const dir = options.dir;
  if (await exists(join(dir, 'db'))) throw new Error(`${dir} already holds a chain`);
  const chainId = options.chainId ?? randomInt(1, 0x7fffffff);
  if (!Number.isInteger(chainId) || chainId < 1 || chainId > 0xffffffff) {
    throw new RangeError('chainId must be a u32 ≥ 1');
  }
  const admin = options.admin ?? generateSigner();
  const regulator = options.regulator ?? generateSigner();
  const node = options.node ?? generateSigner();
  await mkdir(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const written = options.writeNodeKey === false ? [] : [['node', node] as const];
  for (const [name, s] of [['admin', admin], ['regulator', regulator], ...written] as const) {
    await writeFile(join(dir, 'keys', `${name}.key`), toHex(s.privateKey) + '\n', { mode: 0o600 });
    await writeFile(join(dir, 'keys', `${name}.pub`), toHex(s.publicKey) + '\n', { mode: 0o644 });
  }
  const config: ChainConfig = {
    version: 1, chainId, alg: 'sm3', nodeKeyId: toHex(node.keyId), nodePublicKey: toHex(node.publicKey),
    createdAt: (options.clock ?? Date.now)(), ...(options.consortium ? { consortium: options.consortium } : {}),
  };
  await writeConfig(dir, config, true);
  const ledger = await Ledger.open({
    dir, nodePrivateKey: node.privateKey, verifier: options.verifier, blockMaxMs: 1, clock: options.clock,
    genesis: true,
  });
  try {
    const genesis = [
      records.registerKey({ chainId, id: 1n, publicKey: admin.publicKey, roles: ROLE_ADMIN }, admin),
      records.registerKey({ chainId, id: 2n, publicKey: regulator.publicKey, roles: ROLE_REGULATOR }, admin),
      records.registerKey({ chainId, id: 3n, publicKey: node.publicKey, roles: ROLE_NODE }, admin),
      ...(options.otherNodes ?? []).map((n, k) =>
        records.registerKey({ chainId, id: 4n + BigInt(k), publicKey: n.publicKey, roles: ROLE_NODE }, admin)),
    ];
    const r = await ledger.submit(genesis);
    if (r.some((x) => x.code !== 0) || r[0].height !== 0) {
      throw new Error(`genesis failed: ${r.map((x) => x.name).join(', ')}`);
    }
  } finally {
    await ledger.close();
  }
  return { config, admin, regulator, node };
}

async function writeConfig(dir: string, config: ChainConfig, create: boolean): Promise<void> {
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: create });
  try {
    const wb = new WriteBatch();
    wb.put(META_CONFIG, new TextEncoder().encode(JSON.stringify(config)));
    await db.write(wb, true);
  } finally {
    await db.close();
  }
}

/** Most nodes `initConsortium` makes (a block carries at most 64 signatures). */
export const CONSORTIUM_NODES_MAX = 16;

export interface ConsortiumInitOptions {
  /** Made here: `<dir>/node-1` … `<dir>/node-<nodes>`, one chain directory per node. */
  dir: string;
  nodes: number;
  chainId?: number;
  /** Signatures that make a block final (default more than two thirds of the nodes). */
  quorum?: number;
  /** Node 1 is the regulator's node (it also holds keys/regulator.key); require its signature. */
  requireRegulator?: boolean;
  clock?: () => number;
}

/**
 * A consortium's chain for development and tests: one genesis (admin, regulator and every
 * node key registered), copied into one directory per node, each with its own node key and
 * config. On separate machines each organisation makes its own node key and receives the
 * genesis directory instead (docs/consortium.md). The admin key is written to node 1 only.
 */
export async function initConsortium(
  o: ConsortiumInitOptions,
): Promise<InitResult & { dirs: string[]; nodes: Signer[] }> {
  if (!Number.isSafeInteger(o.nodes) || o.nodes < 1 || o.nodes > CONSORTIUM_NODES_MAX) {
    throw new RangeError(`nodes must be an integer in 1..${CONSORTIUM_NODES_MAX}, got ${String(o.nodes)}`);
  }
  if (o.quorum !== undefined && (!Number.isSafeInteger(o.quorum) || o.quorum < 1 || o.quorum > o.nodes)) {
    throw new RangeError(`quorum must be an integer in 1..${o.nodes} (the nodes), got ${String(o.quorum)}`);
  }
  const nodes = Array.from({ length: o.nodes }, () => generateSigner());
  const consortium: ConsortiumConfig = {
    ...(o.quorum !== undefined ? { quorum: o.quorum } : {}),
    ...(o.requireRegulator === true ? { required: [toHex(nodes[0].keyId)] } : {}),
  };
  const dirs = nodes.map((_, k) => join(o.dir, `node-${k + 1}`));
  const r = await initChain({
    dir: dirs[0], chainId: o.chainId, node: nodes[0], otherNodes: nodes.slice(1), consortium, clock: o.clock,
  });
  for (let k = 1; k < nodes.length; k++) {
    await joinNodeDir({ from: dirs[0], dir: dirs[k], node: nodes[k] });
    for (const name of ['admin', 'regulator']) {
      await cp(join(dirs[0], 'keys', `${name}.pub`), join(dirs[k], 'keys', `${name}.pub`));
    }
  }
  return { ...r, dirs, nodes };
}

/**
 * A new node's directory for a consortium chain: a copy of `from` (a stopped node's chain
 * directory, or a genesis copy) with its own node key and config. The node takes part once
 * the admin registers its public key with ROLE_NODE (a register_key record): register first,
 * then start it, or the other nodes alarm on its signatures (docs/consortium.md).
 */
export async function joinNodeDir(o: { from: string; dir: string; node?: Signer }): Promise<Signer> {
  if (await exists(join(o.dir, 'db'))) throw new Error(`${o.dir} already holds a chain`);
  const db = await RocksDb.open(join(o.from, 'db'), { createIfMissing: false, readOnly: true });
  let config: ChainConfig;
  try {
    config = await readChainConfig(db, o.from);
  } finally {
    await db.close();
  }
  if (!config.consortium) throw new Error(`${o.from} is not a consortium's chain`);
  const node = o.node ?? generateSigner();
  await mkdir(join(o.dir, 'keys'), { recursive: true, mode: 0o700 });
  await cp(join(o.from, 'db'), join(o.dir, 'db'), { recursive: true });
  await writeFile(join(o.dir, 'keys', 'node.key'), toHex(node.privateKey) + '\n', { mode: 0o600 });
  await writeFile(join(o.dir, 'keys', 'node.pub'), toHex(node.publicKey) + '\n', { mode: 0o644 });
  await writeConfig(o.dir, { ...config, nodeKeyId: toHex(node.keyId), nodePublicKey: toHex(node.publicKey) }, false);
  return node;
}

/**
 * A node's public key from a file as `gmledger keygen <base>` writes `<base>.pub`: 130 hex
 * digits (65 bytes, 04 ‖ x ‖ y), a point on the SM2 curve. Errors name the file.
 */
export async function readPublicKeyFile(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`${file}: cannot read the public key (${why})`, { cause: err });
  }
  if (!/^04[0-9a-fA-F]{128}$/.test(text)) {
    throw new Error(`${file}: not an SM2 public key (expected 130 hex digits starting 04, as gmledger keygen ` +
      `writes to <base>.pub; found ${text.length === 0 ? 'an empty file' : `${text.length} characters`})`);
  }
  const publicKey = fromHex(text);
  if (!sm2Backend.validatePublicKey(publicKey)) throw new Error(`${file}: not a point on the SM2 curve`);
  return publicKey;
}

/** The node public keys of `files` (readPublicKeyFile), 1..CONSORTIUM_NODES_MAX, no key twice. */
export async function readNodePublicKeys(files: string[]): Promise<Uint8Array[]> {
  if (files.length < 1 || files.length > CONSORTIUM_NODES_MAX) {
    throw new RangeError(`a consortium has 1..${CONSORTIUM_NODES_MAX} node keys, got ${files.length}`);
  }
  const keys: Uint8Array[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const publicKey = await readPublicKeyFile(file);
    const hex = toHex(publicKey);
    const first = seen.get(hex);
    if (first !== undefined) {
      throw new Error(`${file}: ${first === file ? 'given twice' : `the same node key as ${first}`} ` +
        '(each node needs its own key)');
    }
    seen.set(hex, file);
    keys.push(publicKey);
  }
  return keys;
}

export interface GenesisInitOptions {
  /** Made here: the genesis directory (chain, admin and regulator keys; no node key). */
  dir: string;
  /** The organisations' node public keys (65 bytes each), registered with ROLE_NODE. */
  nodePublicKeys: Uint8Array[];
  chainId?: number;
  /** Default: more than two thirds of the given node keys, written into the config. */
  quorum?: number;
  /** The first node key is the regulator's node: every certificate must carry its signature. */
  requireRegulator?: boolean;
  clock?: () => number;
}

export interface GenesisInitResult {
  config: ChainConfig;
  admin: Signer;
  regulator: Signer;
  /** The one-off key that signed the genesis block; its private key was never written. */
  genesisKeyId: Uint8Array;
  nodeKeyIds: Uint8Array[];
}

/**
 * A consortium's genesis from the organisations' node PUBLIC keys (the key ceremony,
 * docs/consortium.md "On separate machines"). The genesis block registers the admin, the
 * regulator, a one-off genesis key and the node keys. The genesis key signs block 0 (a block
 * signature must be by a key with the node role after the block) and is then forgotten: its
 * private key exists only in this process. It stays a registered node key that never signs,
 * so the quorum is written into the config, computed over the organisations' keys only.
 * Each organisation then makes its node directory with joinGenesis.
 */
export async function initGenesis(o: GenesisInitOptions): Promise<GenesisInitResult> {
  const n = o.nodePublicKeys.length;
  if (n < 1 || n > CONSORTIUM_NODES_MAX) {
    throw new RangeError(`a consortium has 1..${CONSORTIUM_NODES_MAX} node keys, got ${n}`);
  }
  const ids = o.nodePublicKeys.map((pk) => keyIdOf(pk));
  const unique = new Set(ids.map((id) => toHex(id)));
  if (unique.size !== n) throw new Error('the same node key is given twice (each node needs its own)');
  if (o.quorum !== undefined && (!Number.isSafeInteger(o.quorum) || o.quorum < 1 || o.quorum > n)) {
    throw new RangeError(`quorum must be an integer in 1..${n} (the nodes), got ${String(o.quorum)}`);
  }
  const consortium: ConsortiumConfig = {
    quorum: o.quorum ?? quorumDefault(n),
    ...(o.requireRegulator === true ? { required: [toHex(ids[0])] } : {}),
  };
  const genesis = generateSigner();
  const r = await initChain({
    dir: o.dir, chainId: o.chainId, node: genesis, writeNodeKey: false, clock: o.clock, consortium,
    otherNodes: o.nodePublicKeys.map((publicKey) => ({ publicKey })),
  });
  genesis.privateKey.fill(0);
  return { config: r.config, admin: r.admin, regulator: r.regulator, genesisKeyId: genesis.keyId, nodeKeyIds: ids };
}


/** The ROLE_NODE public keys that `dir`'s genesis block registers, and its config. */
async function genesisNodeKeys(dir: string): Promise<{ config: ChainConfig; keys: Uint8Array[] }> {
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  try {
    const config = await readChainConfig(db, dir);
    const raw = await db.get(blockKey(0));
    if (!raw) throw new Error(`${dir}: the chain has no genesis block`);
    const b = decodeBlock(raw);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < b.count; i++) {
      const rec = decode(b.records, i * RECORD_BYTES);
      const body = rec.body as { publicKey?: Uint8Array; roles?: number };
      if (rec.kind === 'register_key' && b.codes[i] === 0 && ((body.roles ?? 0) & ROLE_NODE) !== 0) {
        keys.push(body.publicKey!);
      }
    }
    return { config, keys };
  } finally {
    await db.close();
  }
}

/**
 * An organisation's node directory from a received genesis directory and its own key pair
 * (`<keyBase>.key`, mode 0600, and `<keyBase>.pub`, as gmledger keygen writes them): the
 * key must be a node key that the genesis registered. The node directory gets the chain,
 * keys/node.key and node.pub, and only the public keys of the admin and the regulator.
 */
export async function joinGenesis(o: { from: string; dir: string; keyBase: string }): Promise<Signer> {
  const privateKey = await readPrivateKeyFile(`${o.keyBase}.key`, 'make it with gmledger keygen');
  const publicKey = await readPublicKeyFile(`${o.keyBase}.pub`);
  if (!equalBytes(sm2Backend.getPublicKey(privateKey), publicKey)) {
    throw new Error(`${o.keyBase}.key and ${o.keyBase}.pub are not one key pair`);
  }
  const node = signerFromKeyPair({ privateKey, publicKey });
  if (!(await exists(join(o.from, 'db')))) throw new Error(`${o.from} holds no gmledger chain`);
  const { config, keys } = await genesisNodeKeys(o.from);
  if (!config.consortium) throw new Error(`${o.from} is not a consortium's chain`);
  if (!keys.some((k) => equalBytes(k, publicKey))) {
    throw new Error(`${o.keyBase}.pub (key ${toHex(node.keyId)}) is not a node key of the genesis in ${o.from}: ` +
      'send this .pub file to the founder before gmledger init ' +
      '(a node added later: docs/consortium.md, Adding a node)');
  }
  await joinNodeDir({ from: o.from, dir: o.dir, node });
  for (const name of ['admin', 'regulator']) {
    const pub = join(o.from, 'keys', `${name}.pub`);
    if (await exists(pub)) await cp(pub, join(o.dir, 'keys', `${name}.pub`));
  }
  return node;
}
