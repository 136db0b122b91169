// RocksDB key layout (docs/storage.md) and the typed reads and writes over it. One
// WriteBatch per block carries the block and every state change it caused, so a block is
// either wholly on disk or not at all.

import { RocksDb, WriteBatch } from '../../native/rocksdb.js';
import { setU32, setU64, u32, u64 } from '../codec/record.js';
import type { KeyEntry, OpEntry } from '../codec/entries.js';

export const P_META = 0x4d;       // 'M'
export const P_BLOCK = 0x42;      // 'B' + height u64 BE
export const P_ACCOUNT = 0x41;    // 'A' + entry index u32 BE: format 1 only (one key per account); see P_ACCOUNT_IMAGE
export const P_ACCOUNT_IMAGE = 0x49; // 'I' + first entry index u32 BE: account entries end to end,
                                     // CHUNK_ENTRIES a value
export const P_ACCOUNT_LOG = 0x44;   // 'D' + checkpoint height u64 BE + part u32 BE: account entries a
                                     // checkpoint wrote after the image
export const P_TRANSFER = 0x50;   // 'P' + first entry index u32 BE: transfer entries end to end
                                  // (CHUNK_ENTRIES a value; older stores: a checkpoint's all in one)
export const P_TRANSFER_UPDATE = 0x51; // 'Q' + entry index u32 BE: latest bytes of an older entry a block changed
export const P_KEY = 0x4b;        // 'K' + key index u32 BE
export const P_OP = 0x4f;         // 'O' + id u128 (16 raw bytes)
export const P_HALT = 0x48;       // 'H' + ledger u32 BE
export const P_REFUSED = 0x52;    // 'R' + transfer id (16 raw bytes): where the latest transfer with this id
                                  // refused by the state machine is
export const P_CERTIFICATE = 0x43; // 'C' + height u64 BE: the block's quorum certificate (n × 96-byte entries)
export const P_EVIDENCE = 0x45;    // 'E' + UTF-8 text key: a consortium misbehaviour seen here (JSON)
export const P_APP = 0x5a;        // 'Z' + app u8 + app key: state of an application (src/apps), at checkpoints
export const P_TX = 0x58;         // 'X' + tx hash (32): only with LedgerOptions.txHashIndex

export const META_CONFIG = new Uint8Array([P_META, 0x63]);   // 'Mc': chain config (JSON)
export const META_POSITION = new Uint8Array([P_META, 0x70]); // 'Mp': height u64 LE ‖ stream seq u64 LE (consortium)
export const META_FINAL = new Uint8Array([P_META, 0x66]);    // 'Mf': consortium: highest certified height u64 LE
export const META_TIP = new Uint8Array([P_META, 0x74]);      // 'Mt': height u64 LE ‖ time u64 LE ‖ hash 32
export const META_CHECKPOINT = new Uint8Array([P_META, 0x6b]); // 'Mk': the checkpoint (below)

/**
 * Entries per 'I' and 'P' value: 64 KiB values. Larger ones cost resident memory on every
 * start: each read of a multi-MiB value makes glibc's malloc raise its mmap threshold, and
 * the libuv threads' heaps then keep up to twice that size each (measured: four 33 MiB
 * values left 160 MiB resident after they were freed).
 */
export const CHUNK_ENTRIES = 512;

/**
 * The checkpoint marker. Format 1 (8 bytes, older stores): the height alone, accounts
 * under 'A'. Format 2 (32 bytes): height u64 LE ‖ format u32 LE (2) ‖ accounts u32 LE ‖
 * transfers u32 LE ‖ keys u32 LE ‖ image accounts u32 LE ‖ log entries u32 LE: the
 * entry counts let a start reserve its tables once and check it read them all.
 */
export interface Checkpoint {
  height: number;
  format: 1 | 2;
  /** Format 2 only (format 1: -1). */
  accounts: number;
  transfers: number;
  keys: number;
  /** Accounts [0, imageAccounts) are under 'I'. */
  imageAccounts: number;
  /** Entries in the 'D' values (an account may be in several). */
  logEntries: number;
}
export const CHECKPOINT_BYTES = 32;

/** Format 2 when the counts are given, else format 1 (tests of old stores). */
export function encodeCheckpoint(height: number, counts?: Omit<Checkpoint, 'height' | 'format'>): Uint8Array {
  if (!counts) { const v = new Uint8Array(8); setU64(v, 0, BigInt(height)); return v; }
  const v = new Uint8Array(CHECKPOINT_BYTES);
  setU64(v, 0, BigInt(height)); setU32(v, 8, 2); setU32(v, 12, counts.accounts); setU32(v, 16, counts.transfers);
  setU32(v, 20, counts.keys); setU32(v, 24, counts.imageAccounts); setU32(v, 28, counts.logEntries);
  return v;
}
export function decodeCheckpoint(v: Uint8Array): Checkpoint {
  const height = Number(u64(v, 0));
  if (v.length === 8) {
    return { height, format: 1, accounts: -1, transfers: -1, keys: -1, imageAccounts: -1, logEntries: -1 };
  }
  if (v.length !== CHECKPOINT_BYTES || u32(v, 8) !== 2) {
    throw new Error(`checkpoint marker of an unknown format (${v.length} bytes)`);
  }
  return {
    height, format: 2, accounts: u32(v, 12), transfers: u32(v, 16), keys: u32(v, 20), imageAccounts: u32(v, 24),
    logEntries: u32(v, 28),
  };
}

export const LOCATION_BYTES = 12;  // height u64 BE ‖ index u32 BE

function be32(v: number, b: Uint8Array, o: number): void {
  b[o] = v >>> 24; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}
function be64(v: number, b: Uint8Array, o: number): void {
  be32(Math.floor(v / 0x100000000), b, o);
  be32(v >>> 0, b, o + 4);
}
export function readBe32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function readBe64(b: Uint8Array, o: number): number {
  return readBe32(b, o) * 0x100000000 + readBe32(b, o + 4);
}

export function heightKey(prefix: number, height: number): Uint8Array {
  const k = new Uint8Array(9); k[0] = prefix; be64(height, k, 1); return k;
}
export function blockKey(height: number): Uint8Array {
  return heightKey(P_BLOCK, height);
}
export function indexKey(prefix: number, index: number): Uint8Array {
  const k = new Uint8Array(5); k[0] = prefix; be32(index, k, 1); return k;
}
export function idKey(prefix: number, id: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + id.length); k[0] = prefix; k.set(id, 1); return k;
}
/** Writes u64 BE `a` ‖ u32 BE `b` at `o` (a location: height, index). */
export function writeLocation(out: Uint8Array, o: number, a: number, b: number): void {
  be64(a, out, o); be32(b, out, o + 8);
}
export function readLocation(v: Uint8Array): { height: number; index: number } {
  return { height: readBe64(v, 0), index: readBe32(v, 8) };
}
export function encodeTip(height: number, timeMs: number, hash: Uint8Array): Uint8Array {
  const v = new Uint8Array(48); setU64(v, 0, BigInt(height)); setU64(v, 8, BigInt(timeMs)); v.set(hash, 16); return v;
}
export function decodeTip(v: Uint8Array): { height: number; timeMs: number; hash: Uint8Array } {
  return { height: Number(u64(v, 0)), timeMs: Number(u64(v, 8)), hash: v.slice(16, 48) };
}

export function encodeKey(k: KeyEntry): Uint8Array {
  const v = new Uint8Array(65 + 1 + 4 + 8);
  v.set(k.publicKey, 0); v[65] = k.roles; setU32(v, 66, k.ledger); setU64(v, 70, BigInt(k.height));
  return v;
}
export function decodeKey(index: number, v: Uint8Array, keyId: Uint8Array): KeyEntry {
  return { index, keyId, publicKey: v.slice(0, 65), roles: v[65], ledger: u32(v, 66), height: Number(u64(v, 70)) };
}

export function encodeOp(op: OpEntry): Uint8Array {
  const v = new Uint8Array(1 + 2 + 127 + 8 + 4);
  v[0] = op.kind; v[1] = op.flags & 0xff; v[2] = op.flags >>> 8; v.set(op.body, 3);
  setU64(v, 130, BigInt(op.height)); setU32(v, 138, op.index);
  return v;
}
export function decodeOp(v: Uint8Array): OpEntry {
  return {
    kind: v[0], flags: v[1] | (v[2] << 8), body: v.slice(3, 130), height: Number(u64(v, 130)), index: u32(v, 138),
  };
}

export { RocksDb, WriteBatch };
