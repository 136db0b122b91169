// The chain's configuration, stored under META_CONFIG at `gmledger init`.

import type { HashAlgorithm } from '../crypto/hash.js';
import { META_CONFIG, type RocksDb } from '../store/store.js';

export interface ChainConfig {
  version: 1;
  chainId: number;
  alg: HashAlgorithm;
  /** The node key (hex): its id, SM3 of the public key, and the 65-byte public key. */
  nodeKeyId: string;
  nodePublicKey: string;
  createdAt: number;
}

/** Reads the chain config of `db`; throws naming `dir` if there is none or it is unreadable. */
export async function readChainConfig(db: RocksDb, dir: string): Promise<ChainConfig> {
  const raw = await db.get(META_CONFIG);
  if (!raw) throw new Error(`${dir} holds no gmledger chain (run gmledger init)`);
  let config: ChainConfig;
  try {
    config = JSON.parse(Buffer.from(raw).toString('utf8')) as ChainConfig;
  } catch (err) {
    throw new Error(`${dir}: the chain config is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (config.version !== 1 || !Number.isSafeInteger(config.chainId) ||
      (config.alg !== 'sm3' && config.alg !== 'sha256')) {
    throw new Error(`${dir}: the chain config is not one this gmledger reads`);
  }
  return config;
}
