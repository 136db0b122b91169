// Creating a chain: chain id, key files (mode 0600), config, and the genesis block (height
// 0) that registers the admin (self-signed bootstrap), regulator and node keys on-chain.

import { randomInt } from 'node:crypto';
import { mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { RocksDb, WriteBatch } from '../../native/rocksdb.js';
import { ROLE_ADMIN, ROLE_NODE, ROLE_REGULATOR } from '../codec/record.js';
import { toHex } from '../crypto/bytes.js';
import { META_CONFIG } from '../store/store.js';
import { Ledger, type ChainConfig } from '../ledger/ledger.js';
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
    createdAt: (options.clock ?? Date.now)(),
  };
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: true });
  const wb = new WriteBatch();
  wb.put(META_CONFIG, new TextEncoder().encode(JSON.stringify(config)));
  await db.write(wb, true);
  await db.close();
  const ledger = await Ledger.open({
    dir, nodePrivateKey: node.privateKey, verifier: options.verifier, blockMaxMs: 1, clock: options.clock,
    genesis: true,
  });
  try {
    const genesis = [
      records.registerKey({ chainId, id: 1n, publicKey: admin.publicKey, roles: ROLE_ADMIN }, admin),
      records.registerKey({ chainId, id: 2n, publicKey: regulator.publicKey, roles: ROLE_REGULATOR }, admin),
      records.registerKey({ chainId, id: 3n, publicKey: node.publicKey, roles: ROLE_NODE }, admin),
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
