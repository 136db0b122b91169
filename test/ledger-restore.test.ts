// Restore on start (src/ledger/restore.ts): the account image and log written by
// checkpoints, read back in bulk; format 1 stores (one key per account) still open and are
// rewritten; the bulk state-tree build agrees with the incremental one.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { acceptAllVerifier, chainFixture, rec, roles, signer } from './helpers/ledger.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { RocksDb, WriteBatch } from '../dist/native/rocksdb.js';
import {
  META_CHECKPOINT, P_ACCOUNT, P_ACCOUNT_IMAGE, P_ACCOUNT_LOG, decodeCheckpoint, encodeCheckpoint, indexKey,
} from '../dist/src/store/store.js';
import { LOG_VALUES_MAX, PARALLEL_TREE_MIN, lastRestoreStats, readStoredAccounts } from '../dist/src/ledger/restore.js';
import { StateTree } from '../dist/src/ledger/statetree.js';
import { merkleProof, merkleRoot } from '../dist/src/crypto/merkle.js';

const open: Ledger[] = [];
afterEach(async () => { for (const l of open.splice(0)) await l.close().catch(() => {}); });

const ACCOUNTS = 1100;

async function keysOf(dir: string, prefix: number): Promise<Uint8Array[]> {
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  const out: Uint8Array[] = [];
  try {
    for await (const [k] of db.range({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) })) out.push(k);
  } finally {
    await db.close();
  }
  return out;
}

function snapshot(l: Ledger): { bytes: Uint8Array; root: Uint8Array; transfers: Uint8Array } {
  return {
    bytes: l.state.accounts.bytes.slice(0, l.state.accounts.count * 128),
    transfers: l.state.transfers.bytes.slice(0, l.state.transfers.count * 128),
    root: l.state.tree.root(),
  };
}

/** A chain with ACCOUNTS accounts; `checkpointBlocks` 1, so every block writes a checkpoint. */
async function withAccounts() {
  const fx = await chainFixture({ checkpointBlocks: 1, blockMaxMs: 1 });
  open.push(fx.ledger);
  const op = signer(2);
  const r = await fx.ledger.submit([rec({ kind: 'register_key', id: 10n, publicKey: op.publicKey, roles: roles.ROLE_OPERATOR | roles.ROLE_PARTICIPANT, ledger: 1 }, fx.admin)]);
  expect(r[0].name).toBe('ok');
  const accounts = [];
  for (let i = 0; i < ACCOUNTS; i++) accounts.push(rec({ kind: 'create_account', id: BigInt(100 + i), ledger: 1, code: 1, controller: op.keyId }, op));
  expect((await fx.ledger.submit(accounts)).every((x) => x.code === 0)).toBe(true);
  let next = 10_000n;
  const transfer = async (pairs: [number, number][]) => {
    const res = await fx.ledger.submit(pairs.map(([d, c]) => rec({ kind: 'transfer', id: next++, debitAccountId: BigInt(100 + d), creditAccountId: BigInt(100 + c), amount: 1n, ledger: 1, code: 1 }, op)));
    expect(res.every((x) => x.code === 0)).toBe(true);
  };
  return { ...fx, op, transfer };
}

async function reopen(dir: string, before: ReturnType<typeof snapshot>): Promise<Ledger> {
  const l = await Ledger.open({ dir, verifier: acceptAllVerifier, blockMaxMs: 1, checkpointBlocks: 1 });
  open.push(l);
  const after = snapshot(l);
  expect(after.root).toEqual(before.root);
  expect(Buffer.compare(after.bytes, before.bytes)).toBe(0);
  expect(Buffer.compare(after.transfers, before.transfers)).toBe(0);
  return l;
}

describe('account image and log', () => {
  it('logs few changed accounts per checkpoint, merges the log, and reads it back', async () => {
    const fx = await withAccounts();
    // A handful of hot accounts, one block each: log values, merged as they pile up.
    for (let b = 0; b < LOG_VALUES_MAX + 20; b++) await fx.transfer([[b % 7, 7 + (b % 5)]]);
    const before = snapshot(fx.ledger);
    await fx.ledger.close();
    open.length = 0;
    const log = await keysOf(fx.dir, P_ACCOUNT_LOG);
    expect(log.length).toBeGreaterThan(0);
    expect(log.length).toBeLessThanOrEqual(LOG_VALUES_MAX);
    expect((await keysOf(fx.dir, P_ACCOUNT_IMAGE)).length).toBeGreaterThan(0);
    expect(await keysOf(fx.dir, P_ACCOUNT)).toEqual([]);
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
    let l = await reopen(fx.dir, before);
    const touch = async (from: number, to: number, id: bigint) => {
      const records = [];
      for (let i = from; i + 1 < to; i += 2) records.push(rec({ kind: 'transfer', id: id + BigInt(i), debitAccountId: BigInt(100 + i), creditAccountId: BigInt(101 + i), amount: 2n, ledger: 1, code: 1 }, fx.op));
      expect((await l.submit(records)).every((x) => x.code === 0)).toBe(true);
    };
    // 520 accounts in one checkpoint (under half of them): a log value in two parts.
    await touch(20, 540, 900_000n);
    const parts = snapshot(l);
    await l.close();
    open.length = 0;
    expect((await keysOf(fx.dir, P_ACCOUNT_LOG)).filter((k) => k[12] === 1).length).toBe(1);
    l = await reopen(fx.dir, parts);
    // Past half the accounts: the image again (three chunks), and the log is dropped.
    await touch(540, ACCOUNTS, 910_000n);
    const again = snapshot(l);
    await l.close();
    open.length = 0;
    expect(await keysOf(fx.dir, P_ACCOUNT_LOG)).toEqual([]);
    expect((await keysOf(fx.dir, P_ACCOUNT_IMAGE)).length).toBe(3);
    await reopen(fx.dir, again);
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
  });

  it('a start after a crash replays on top of the image and the log', async () => {
    const fx = await withAccounts();
    for (let b = 0; b < 10; b++) await fx.transfer([[b, b + 1], [b + 2, 200 + b]]);
    const logged = snapshot(fx.ledger);
    await fx.ledger.close();
    open.length = 0;
    expect((await keysOf(fx.dir, P_ACCOUNT_LOG)).length).toBeGreaterThan(0);
    // Blocks with no checkpoint after them, then a copy of the files as a crash leaves them.
    const l = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier, blockMaxMs: 1, checkpointBlocks: 1000 });
    open.push(l);
    for (let b = 0; b < 10; b++) {
      const res = await l.submit([rec({ kind: 'transfer', id: 700_000n + BigInt(b), debitAccountId: BigInt(100 + b), creditAccountId: BigInt(150 + b), amount: 5n, ledger: 1, code: 1 }, fx.op)]);
      expect(res[0].code).toBe(0);
    }
    await l.flush();
    const before = snapshot(l);
    expect(Buffer.compare(before.bytes, logged.bytes)).not.toBe(0);
    const { cpSync } = await import('node:fs');
    const copy = fx.dir + '-crash';
    cpSync(fx.dir, copy, { recursive: true });
    await reopen(copy, before);
  });
});

describe('large states', () => {
  it('build the state tree on two threads and index while reading', async () => {
    const fx = await chainFixture({ blockMaxMs: 1 });
    open.push(fx.ledger);
    const op = signer(2);
    expect((await fx.ledger.submit([rec({ kind: 'register_key', id: 10n, publicKey: op.publicKey, roles: roles.ROLE_OPERATOR | roles.ROLE_PARTICIPANT, ledger: 1 }, fx.admin)]))[0].name).toBe('ok');
    const n = PARALLEL_TREE_MIN + 3000;
    for (let first = 0; first < n; first += 8190) {
      const batch = [];
      for (let i = first; i < Math.min(n, first + 8190); i++) batch.push(rec({ kind: 'create_account', id: BigInt(1 + i), ledger: 1, code: 1, controller: op.keyId }, op));
      expect((await fx.ledger.submit(batch)).every((x) => x.code === 0)).toBe(true);
    }
    const transfers = [];
    for (let i = 0; i < 3000; i++) transfers.push(rec({ kind: 'transfer', id: 50_000_000n + BigInt(i), debitAccountId: BigInt(1 + ((i * 7919) % n)), creditAccountId: BigInt(1 + ((i * 104729 + 1) % n)), amount: 1n, ledger: 1, code: 1 }, op));
    expect((await fx.ledger.submit(transfers)).every((x) => x.code === 0)).toBe(true);
    const before = snapshot(fx.ledger);
    await fx.ledger.close();
    open.length = 0;
    const l = await reopen(fx.dir, before);
    expect(lastRestoreStats).toMatchObject({ accounts: n, transfers: 3000, format: 2, treeThreads: 2 });
    expect(l.getAccount(BigInt(n))?.index).toBe(n - 1);
    expect(l.getTransfer(50_000_002n)?.amount).toBe(1n);
  });
});

describe('format 1 stores', () => {
  it('open, verify, and are rewritten with the account image', async () => {
    const fx = await withAccounts();
    for (let b = 0; b < 5; b++) await fx.transfer([[b, b + 3]]);
    const before = snapshot(fx.ledger);
    await fx.ledger.close();
    open.length = 0;
    // Rewrite the store as the previous format: one 'A' key per account, an 8-byte marker.
    const db = await RocksDb.open(join(fx.dir, 'db'), { createIfMissing: false });
    const { count, bytes } = await readStoredAccounts(db);
    expect(count).toBe(ACCOUNTS);
    const ck = decodeCheckpoint((await db.get(META_CHECKPOINT))!);
    expect(ck).toMatchObject({ format: 2, accounts: ACCOUNTS });
    const wb = new WriteBatch();
    for (const prefix of [P_ACCOUNT_IMAGE, P_ACCOUNT_LOG]) {
      for await (const [k] of db.range({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) })) wb.del(k);
    }
    for (let i = 0; i < count; i++) wb.put(indexKey(P_ACCOUNT, i), bytes.slice(i * 128, (i + 1) * 128));
    wb.put(META_CHECKPOINT, encodeCheckpoint(ck.height));
    await db.write(wb, true);
    await db.close();
    expect((await keysOf(fx.dir, P_ACCOUNT)).length).toBe(ACCOUNTS);
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
    const l = await reopen(fx.dir, before);
    await l.close();
    open.length = 0;
    expect(await keysOf(fx.dir, P_ACCOUNT)).toEqual([]);
    expect((await keysOf(fx.dir, P_ACCOUNT_IMAGE)).length).toBe(3);
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
    await reopen(fx.dir, before);
  });

  it('a tampered image entry fails the state root check', async () => {
    const fx = await withAccounts();
    await fx.transfer([[1, 2]]);
    await fx.ledger.close();
    open.length = 0;
    const db = await RocksDb.open(join(fx.dir, 'db'), { createIfMissing: false });
    const [k] = await (async () => { const out = []; for await (const [key] of db.range({ gte: new Uint8Array([P_ACCOUNT_IMAGE]), lt: new Uint8Array([P_ACCOUNT_IMAGE + 1]) })) out.push(key); return out; })();
    const v = Uint8Array.from((await db.get(k))!);
    v[128 * 5 + 40] ^= 1;
    const wb = new WriteBatch();
    wb.put(k, v);
    await db.write(wb, true);
    await db.close();
    await expect(Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier })).rejects.toThrow(/state root/);
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(false);
  });
});

describe('state tree bulk build', () => {
  it('matches the from-scratch tree and keeps updating like the incremental one', () => {
    let seed = 11;
    const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 0x100000000; };
    const W = 32;
    const source = new Uint32Array(1100 * W);
    for (let i = 0; i < source.length; i++) source[i] = (rnd() * 2 ** 32) >>> 0;
    const leaves = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(source.buffer, i * 128, 128).slice());
    for (const size of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 127, 128, 129, 1000]) {
      const tree = new StateTree(128);
      tree.rebuild(size, source);
      const all = leaves(size);
      expect(tree.size).toBe(size);
      expect(tree.root(), `size ${size}`).toEqual(merkleRoot(all));
      if (size > 0) expect(tree.proof(size - 1)).toEqual(merkleProof(all, size - 1));
      // Then incremental updates on top: appends and changed leaves.
      const grown = Math.min(size + 70, 1100);
      const dirty: number[] = [];
      for (let i = size; i < grown; i++) dirty.push(i);
      if (size > 0) { const i = Math.floor(rnd() * size); source[i * W] ^= 1; dirty.push(i); }
      tree.update(grown, dirty, source);
      expect(tree.root(), `size ${size} → ${grown}`).toEqual(merkleRoot(leaves(grown)));
    }
  });
});
