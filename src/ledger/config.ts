// The chain's configuration, stored under META_CONFIG at `gmledger init`.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '../crypto/bytes.js';
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
  /**
   * Present on a consortium's chains (docs/consortium.md): when a block is final. The node
   * keys themselves are on the chain (register_key with ROLE_NODE).
   */
  consortium?: ConsortiumConfig;
}

export interface ConsortiumConfig {
  /** Signatures that make a block final; default more than two thirds of the node keys. */
  quorum?: number;
  /** Hex key ids of node keys that must sign every certificate (e.g. the regulator's node). */
  required?: string[];
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
  const c = config.consortium;
  if (c !== undefined && (typeof c !== 'object' || c === null ||
      (c.quorum !== undefined && (!Number.isSafeInteger(c.quorum) || c.quorum < 1)) ||
      (c.required !== undefined && (!Array.isArray(c.required) ||
        !c.required.every((id) => typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)))))) {
    throw new Error(`${dir}: the chain config's consortium section is malformed`);
  }
  return config;
}

/**
 * The node's SM2 private key from `<dir>/keys/node.key` (64 hex characters). A missing,
 * empty, malformed or group/world-readable file is refused with a message naming it and
 * saying what to do: the key signs every block header.
 */
export async function readNodeKey(dir: string): Promise<Uint8Array> {
  return readPrivateKeyFile(join(dir, 'keys', 'node.key'),
    'it is made by gmledger init, or pass LedgerOptions.nodePrivateKey');
}

/**
 * An SM2 private key file (64 hex characters) that only its owner can read; `origin` says
 * where such a file comes from, for the message when it cannot be read; `what` names the key
 * in messages (the node's by default: the CLI's signing keys say "the key").
 */
export async function readPrivateKeyFile(file: string, origin: string, what = 'node'): Promise<Uint8Array> {
  const name = what === 'node' ? 'the node key' : `the ${what} key`;
  let mode: number;
  let text: string;
  try {
    mode = (await stat(file)).mode;
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`${file}: cannot read ${name} (${why}); ${origin}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8);
    throw new Error(`${file}: ${what === 'node' ? 'the node\'s' : `the ${what}`} private key is readable by other ` +
      `users (mode ${octal}); run chmod 600 ${file}`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new Error(`${file}: not a ${what === 'node' ? 'node' : 'private'} key (expected 64 hex characters, found ${
      text.length === 0 ? 'an empty file' : `${text.length} characters`})`);
  }
  return fromHex(text);
}
