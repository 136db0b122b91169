// Creating a chain: chain id, key files (mode 0600), config, and the genesis block (height
// 0) that registers the admin (self-signed bootstrap), regulator and node keys on-chain.

import { randomInt } from 'node:crypto';
import { cp, mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { RocksDb, WriteBatch } from '../../native/rocksdb.js';
import { ROLE_ADMIN, ROLE_NODE, ROLE_REGULATOR } from '../codec/record.js';
import { toHex } from '../crypto/bytes.js';
import { META_CONFIG } from '../store/store.js';
import { Ledger, type ChainConfig } from '../ledger/ledger.js';
import { type ConsortiumConfig, readChainConfig } from '../ledger/config.js';
import { type Signer, generateSigner, records } from '../codec/builders.js';
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
  otherNodes?: Signer[];
  consortium?: ConsortiumConfig;
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
  for (const [name, s] of [['admin', admin], ['regulator', regulator], ['node', node]] as const) {
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
    await mkdir(join(dirs[k], 'keys'), { recursive: true, mode: 0o700 });
    await cp(join(dirs[0], 'db'), join(dirs[k], 'db'), { recursive: true });
    await writeFile(join(dirs[k], 'keys', 'node.key'), toHex(nodes[k].privateKey) + '\n', { mode: 0o600 });
    await writeFile(join(dirs[k], 'keys', 'node.pub'), toHex(nodes[k].publicKey) + '\n', { mode: 0o644 });
    for (const name of ['admin', 'regulator']) {
      await cp(join(dirs[0], 'keys', `${name}.pub`), join(dirs[k], 'keys', `${name}.pub`));
    }
    await writeConfig(dirs[k], {
      ...r.config, nodeKeyId: toHex(nodes[k].keyId), nodePublicKey: toHex(nodes[k].publicKey),
    }, false);
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
