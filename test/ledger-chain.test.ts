// Blocks, storage, restart, queries and proofs through the embedding API.
import { afterEach, describe, expect, it } from 'vitest';
import { acceptAllVerifier, chainFixture, rec, roles, signer } from './helpers/ledger.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { verifyInclusionProof, verifyAccountProof, decodeHeader } from '../dist/src/codec/block.js';
import { RocksDb, WriteBatch } from '../dist/native/rocksdb.js';
import { blockKey } from '../dist/src/store/store.js';
import { TRANSFER_PENDING } from '../dist/src/codec/record.js';
import { join } from 'node:path';
import { sm3 } from '../dist/src/crypto/hash.js';
import { spawnSync } from 'node:child_process';

const open: Ledger[] = [];
afterEach(async () => { for (const l of open.splice(0)) await l.close().catch(() => {}); });

async function populated() {
  const fx = await chainFixture();
  open.push(fx.ledger);
  const alice = signer(3), bob = signer(4), op = signer(2);
  const r0 = await fx.ledger.submit([
    rec({ kind: 'register_key', id: 10n, publicKey: alice.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
    rec({ kind: 'register_key', id: 11n, publicKey: bob.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
    rec({ kind: 'register_key', id: 12n, publicKey: op.publicKey, roles: roles.ROLE_OPERATOR, ledger: 1 }, fx.admin),
    rec({ kind: 'create_account', id: 100n, ledger: 1, code: 1, controller: alice.keyId }, alice),
    rec({ kind: 'create_account', id: 101n, ledger: 1, code: 1, controller: bob.keyId }, bob),
  ]);
  expect(r0.map((r) => r.name)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  const transfers = [];
  for (let i = 0; i < 50; i++) {
    transfers.push(rec({ kind: 'transfer', id: 1000n + BigInt(i), debitAccountId: 100n, creditAccountId: 101n, amount: BigInt(i + 1), ledger: 1, code: 1 }, alice));
  }
  const r1 = await fx.ledger.submit(transfers);
  expect(r1.every((r) => r.code === 0)).toBe(true);
  const r2 = await fx.ledger.submit([
    rec({ kind: 'anchor', id: 5000n, digest: new Uint8Array(32).fill(9), metadata: new Uint8Array(32).fill(1) }, alice),
    rec({ kind: 'transfer', id: 2000n, debitAccountId: 101n, creditAccountId: 100n, amount: 3n, ledger: 1, code: 1, flags: TRANSFER_PENDING, timeout: 3600 }, bob),
  ]);
  expect(r2.map((r) => r.code)).toEqual([0, 0]);
  return { ...fx, alice, bob, op };
}

describe('ledger on disk', () => {
  it('submits, queries, proves, and emits block events', async () => {
    const fx = await populated();
    const { ledger } = fx;
    const blocks: number[] = [];
    ledger.on('block', (e) => {
      blocks.push(e.height);
      expect(e.records.length).toBe(e.count * 256);
      expect(e.codes.length).toBe(e.count);
    });
    const r = await ledger.submit([rec({ kind: 'transfer', id: 3000n, debitAccountId: 100n, creditAccountId: 101n, amount: 1n, ledger: 1, code: 1 }, fx.alice)]);
    expect(r[0]).toMatchObject({ code: 0, name: 'ok' });
    expect(blocks).toContain(r[0].height);
    const a = ledger.getAccount(100n)!;
    expect(a.debitsPosted).toBe(1276n);
    expect(a.creditsPending).toBe(3n);
    expect(ledger.getTransfer(2000n)!.status).toBe('pending');
    const tx = await ledger.getTransaction(1010n);
    expect(tx!.decoded.kind).toBe('transfer');
    expect(tx!.decoded.body.amount).toBe(11n);
    const block = await ledger.getBlock(0);
    expect(block!.header.height).toBe(0);
    expect(block!.codes).toEqual([0, 0, 0]);
    // Paged account history by time.
    const p1 = await ledger.accountTransfers(101n, { limit: 20 });
    expect(p1.transfers.length).toBe(20);
    const p2 = await ledger.accountTransfers(101n, { limit: 20, after: p1.next });
    const p3 = await ledger.accountTransfers(101n, { limit: 20, after: p2.next });
    expect(p1.transfers.length + p2.transfers.length + p3.transfers.length).toBe(52);
    expect(p3.next).toBeUndefined();
    const ids = [...p1.transfers, ...p2.transfers, ...p3.transfers].map((t) => t.decoded.id);
    expect(new Set(ids).size).toBe(52);
    const times = [...p1.transfers, ...p2.transfers, ...p3.transfers].map((t) => t.timeMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Reverse pages give the same transfers newest first.
    const back: bigint[] = [];
    let after: Uint8Array | undefined;
    do {
      const page = await ledger.accountTransfers(101n, { limit: 7, reverse: true, after });
      back.push(...page.transfers.map((t) => t.decoded.id as bigint));
      after = page.next;
    } while (after);
    expect(back).toEqual([...ids].reverse());
    // Time window [from, to): only the transfers of block times in it.
    const mid = times[30];
    const win = await ledger.accountTransfers(101n, { fromMs: mid, toMs: mid + 1, limit: 1000 });
    expect(win.transfers.length).toBe(times.filter((t) => t === mid).length);
    // Inclusion proof, checked with the public pieces only.
    const proof = (await ledger.proveTransaction(1020n))!;
    expect(verifyInclusionProof(proof, ledger.nodePublicKey)).toBe(true);
    const forged = { ...proof, record: proof.record.slice() };
    forged.record[100] ^= 1;
    expect(verifyInclusionProof(forged)).toBe(false);
    // Anchor receipt.
    const receipt = (await ledger.anchorReceipt(5000n))!;
    expect(verifyInclusionProof(receipt.proof, ledger.nodePublicKey)).toBe(true);
    expect(receipt.commitTimeMs).toBe(decodeHeader(receipt.proof.header).timeMs);
    // Account state proof.
    const ap = (await ledger.proveAccount(101n))!;
    expect(verifyAccountProof(ap, ledger.nodePublicKey)).toBe(true);
    const bad = { ...ap, entry: ap.entry.slice() };
    bad.entry[70] ^= 1;
    expect(verifyAccountProof(bad)).toBe(false);
  });

  it('account history: every transfer once per side, in order, across restarts and pending/post', async () => {
    const fx = await populated();
    const { ledger } = fx;
    // 100 ↔ 101 traffic from populated(), plus a third account seen only on some transfers.
    await ledger.submit([rec({ kind: 'create_account', id: 102n, ledger: 1, code: 1, controller: fx.alice.keyId }, fx.alice)]);
    const mixed = [];
    for (let i = 0; i < 30; i++) {
      const [d, c] = i % 3 === 0 ? [100n, 102n] : i % 3 === 1 ? [102n, 101n] : [101n, 100n];
      mixed.push(rec({ kind: 'transfer', id: 8000n + BigInt(i), debitAccountId: d, creditAccountId: c, amount: 1n, ledger: 1, code: 1 },
        d === 101n ? fx.bob : fx.alice));
    }
    expect((await ledger.submit(mixed)).every((r) => r.code === 0)).toBe(true);
    const post = await ledger.submit([rec({ kind: 'transfer', id: 8100n, pendingId: 2000n, flags: 4 }, fx.bob)]);
    expect(post[0].name).toBe('ok');
    // Expected: every successful transfer entry naming the account, in chain order.
    const expected = (acct: bigint, l: Ledger = ledger): bigint[] => {
      const out: bigint[] = [];
      for (let t = 0; t < l.state.transfers.count; t++) {
        const v = l.getTransfer(BigInt(l.state.transfers.entry(t).reduce((s, b, i) => i < 16 ? s + (BigInt(b) << BigInt(8 * i)) : s, 0n)))!;
        if (v.debitAccountId === acct || v.creditAccountId === acct) out.push(v.id);
      }
      return out;
    };
    const all = async (l: Ledger, acct: bigint, reverse: boolean, limit: number): Promise<bigint[]> => {
      const ids: bigint[] = [];
      let after: Uint8Array | undefined;
      do {
        const page = await l.accountTransfers(acct, { limit, reverse, after });
        expect(page.transfers.length).toBeLessThanOrEqual(limit);
        ids.push(...page.transfers.map((t) => t.decoded.id as bigint));
        after = page.next;
      } while (after);
      return ids;
    };
    for (const acct of [100n, 101n, 102n]) {
      const want = expected(acct);
      expect(want.length).toBeGreaterThan(10);
      expect(await all(ledger, acct, false, 4)).toEqual(want);
      expect(await all(ledger, acct, true, 5)).toEqual([...want].reverse());
    }
    expect((await ledger.accountTransfers(999n)).transfers).toEqual([]);
    // A cursor from another account, or not a transfer id, is refused.
    const p102 = await ledger.accountTransfers(102n, { limit: 1 });
    const first102 = p102.next!;
    expect(first102.length).toBe(16);
    const onlyOn100And101 = new Uint8Array(16); onlyOn100And101[0] = 0xe8; onlyOn100And101[1] = 0x03; // id 1000
    await expect(ledger.accountTransfers(102n, { after: onlyOn100And101 })).rejects.toThrow(/cursor/);
    await expect(ledger.accountTransfers(100n, { after: new Uint8Array(5) })).rejects.toThrow(/cursor/);
    // The lists are rebuilt from the slab after a restart (nothing of them is stored).
    await ledger.close();
    const again = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier, blockMaxMs: 5 });
    open.push(again);
    for (const acct of [100n, 101n, 102n]) expect(await all(again, acct, false, 7)).toEqual(expected(acct, again));
    // New transfers after the lists were built are caught up on the next query.
    await again.submit([rec({ kind: 'transfer', id: 8200n, debitAccountId: 102n, creditAccountId: 100n, amount: 1n, ledger: 1, code: 1 }, fx.alice)]);
    const newest = await again.accountTransfers(102n, { limit: 1, reverse: true });
    expect(newest.transfers[0].decoded.id).toBe(8200n);
    expect(await all(again, 100n, true, 9)).toEqual([...expected(100n, again)].reverse());
  });

  it('durable reads: made durable first, appends behind them wait and apply in order', async () => {
    const fx = await populated();
    const { ledger } = fx;
    const t = (id: bigint, amount: bigint) => rec({ kind: 'transfer', id, debitAccountId: 100n, creditAccountId: 101n, amount, ledger: 1, code: 1 }, fx.alice);
    const before = ledger.getAccount(101n)!.creditsPosted;
    // A sits in the open block (applied, not durable) when the durable read starts; B and C arrive after it.
    const a = ledger.submit([t(9001n, 7n)]);
    await new Promise((r) => setImmediate(r));
    expect(ledger.getAccount(101n)!.creditsPosted).toBe(before + 7n); // current state: A applied, not yet durable
    const read = ledger.getAccountDurable(101n);
    const b = ledger.submit([t(9002n, 100n)]);
    const c = ledger.submit([t(9003n, 1000n)]);
    const seen = (await read)!;
    expect(seen.creditsPosted).toBe(before + 7n); // A made durable and counted; B and C held back
    expect((await a)[0].name).toBe('ok');
    const [rb, rc] = await Promise.all([b, c]);
    expect([rb[0].name, rc[0].name]).toEqual(['ok', 'ok']);
    expect(rb[0].height! < rc[0].height! || (rb[0].height === rc[0].height && rb[0].index! < rc[0].index!)).toBe(true);
    expect(rb[0].height!).toBeGreaterThan((await a)[0].height!);
    expect((await ledger.getAccountDurable(101n))!.creditsPosted).toBe(before + 1107n);
    // Concurrent durable reads share one moment and all return.
    const many = await Promise.all([ledger.getAccountDurable(100n), ledger.proveAccount(101n), ledger.getAccountDurable(101n)]);
    expect(many[2]!.creditsPosted).toBe(before + 1107n);
  });

  it('durable reads keep raw appends in arrival order, refuse async reads; the closed store refuses reads', async () => {
    const fx = await populated();
    const { ledger } = fx;
    const anchorRec = (id: bigint) => rec({ kind: 'anchor', id, digest: new Uint8Array(32).fill(3) }, fx.alice);
    const read = ledger.durableRead(() => 'read');
    const first = ledger.append(anchorRec(901n), 1);
    // Queued behind the read's flush: must still apply after `first`, which arrived earlier.
    const second = ledger.flush().then(() => ledger.append(anchorRec(902n), 1));
    expect(await read).toBe('read');
    const [a, b] = await Promise.all([first, second]);
    expect(b.height > a.height || (b.height === a.height && b.first > a.first)).toBe(true);
    expect(Array.from(a.codes)).toEqual([0]);
    expect(Array.from(b.codes)).toEqual([0]);
    await expect(ledger.durableRead(async () => 1)).rejects.toThrow(/synchronous/);
    // Appends held behind a refused read still go through.
    expect((await ledger.submit([anchorRec(903n)]))[0].name).toBe('ok');
    await ledger.close();
    await expect(ledger.getBlock(0)).rejects.toThrow(/store is closed/);
    await expect(ledger.accountTransfers(101n, { limit: 1 })).rejects.toThrow(/store is closed/);
  });

  it('finds a transaction by tx hash only with the tx hash index on', async () => {
    const fx = await chainFixture({ txHashIndex: true });
    open.push(fx.ledger);
    const alice = signer(3);
    const r = rec({ kind: 'register_key', id: 10n, publicKey: alice.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin);
    const a = rec({ kind: 'anchor', id: 11n, digest: new Uint8Array(32).fill(4) }, alice);
    const res = await fx.ledger.submit([r, a]);
    expect(res.map((x) => x.name)).toEqual(['ok', 'ok']);
    const hash = sm3(a);
    const tx = (await fx.ledger.getTransaction(hash))!;
    expect(tx).toMatchObject({ height: res[1].height, index: res[1].index, name: 'ok' });
    expect(Buffer.from(tx.record).equals(Buffer.from(a))).toBe(true);
    const proof = (await fx.ledger.proveTransaction(hash))!;
    expect(verifyInclusionProof(proof, fx.ledger.nodePublicKey)).toBe(true);
    expect(await fx.ledger.getTransaction(new Uint8Array(32))).toBeUndefined();
    await fx.ledger.close();
    const off = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier });
    open.push(off);
    await expect(off.getTransaction(hash)).rejects.toThrow(/txHashIndex/);
  });

  it('restarts from the last durable block with identical state', async () => {
    const fx = await populated();
    const before = fx.ledger.state.tree.root();
    const height = fx.ledger.height;
    const acct = fx.ledger.getAccount(101n);
    await fx.ledger.close();
    const again = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier, blockMaxMs: 5 });
    open.push(again);
    expect(again.height).toBe(height);
    expect(again.state.tree.root()).toEqual(before);
    expect(again.getAccount(101n)).toEqual(acct);
    // Idempotency and pending state survive the restart.
    const r = await again.submit([
      rec({ kind: 'transfer', id: 1000n, debitAccountId: 100n, creditAccountId: 101n, amount: 1n, ledger: 1, code: 1 }, fx.alice),
      rec({ kind: 'transfer', id: 2001n, pendingId: 2000n, flags: 4, amount: 2n }, fx.bob),
      rec({ kind: 'anchor', id: 5000n, digest: new Uint8Array(32).fill(9), metadata: new Uint8Array(32).fill(1) }, fx.alice),
    ]);
    expect(r.map((x) => x.name)).toEqual(['exists', 'ok', 'exists']);
    expect(again.getAccount(100n)!.creditsPosted).toBe(2n);
    const root = again.state.tree.root();
    await again.close();
    // The post changed an older transfer entry: it must survive another restart.
    const third = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier });
    expect(third.getTransfer(2000n)!.status).toBe('posted_pending');
    expect(third.getTransfer(2001n)!.amount).toBe(2n);
    expect(third.state.tree.root()).toEqual(root);
    await third.close();
    const report = await verifyChain(fx.dir, { verifier: acceptAllVerifier });
    expect(report).toMatchObject({ ok: true });
    expect(report.height).toBe(again.height);
  });

  it('replays the blocks after the last checkpoint on start (process exits without close)', async () => {
    const fx = await populated();
    await fx.ledger.close();
    const records = [];
    for (let b = 0; b < 6; b++) {
      records.push(Buffer.from(rec({ kind: 'transfer', id: 8000n + BigInt(b), debitAccountId: 100n, creditAccountId: 101n, amount: 10n, ledger: 1, code: 1,
        flags: b === 2 ? TRANSFER_PENDING : 0, timeout: 0 }, fx.alice)).toString('hex'));
    }
    records.push(Buffer.from(rec({ kind: 'transfer', id: 8100n, pendingId: 2000n, flags: 8 }, fx.bob)).toString('hex'));
    const script = `
      import { Ledger } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'ledger', 'ledger.js'))};
      const verifier = { name: 'TEST-ONLY', async verifyRecords(_b, n, k) { return Uint8Array.from({ length: n }, (_, i) => (k[i] ? 1 : 0)); } };
      const ledger = await Ledger.open({ dir: ${JSON.stringify(fx.dir)}, verifier, blockMaxMs: 1, checkpointBlocks: 1000 });
      for (const hex of ${JSON.stringify(records)}) {
        const r = await ledger.submit([Buffer.from(hex, 'hex')]);
        if (r[0].code !== 0) throw new Error('submit failed: ' + r[0].name);
      }
      process.stdout.write(String(ledger.height));
      process.exit(0); // no close(): the state entries after the checkpoint are never written
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const height = Number(child.stdout);
    const again = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier });
    open.push(again);
    expect(again.height).toBe(height);
    expect(again.getAccount(100n)!.debitsPosted).toBe(1275n + 50n);
    expect(again.getAccount(100n)!.debitsPending).toBe(10n);
    expect(again.getTransfer(2000n)!.status).toBe('voided');
    expect(again.getAccount(101n)!.debitsPending).toBe(0n);
    await again.close();
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
  });

  it('pending time-outs expire by block time, across a restart', async () => {
    const fx = await populated();
    let now = Date.now() + 10_000;
    const clock = () => now;
    await fx.ledger.close();
    const a = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier, blockMaxMs: 2, clock });
    const r = await a.submit([rec({ kind: 'transfer', id: 7000n, debitAccountId: 100n, creditAccountId: 101n, amount: 9n, ledger: 1, code: 1, flags: TRANSFER_PENDING, timeout: 2 }, fx.alice)]);
    expect(r[0].name).toBe('ok');
    expect(a.getAccount(100n)!.debitsPending).toBe(9n);
    await a.close();
    now += 1999;
    const b = await Ledger.open({ dir: fx.dir, verifier: acceptAllVerifier, blockMaxMs: 2, clock });
    open.push(b);
    await b.submit([rec({ kind: 'anchor', id: 7001n, digest: new Uint8Array(32).fill(2) }, fx.alice)]);
    expect(b.getTransfer(7000n)!.status).toBe('pending');
    now += 1;
    await b.submit([rec({ kind: 'anchor', id: 7002n, digest: new Uint8Array(32).fill(2) }, fx.alice)]);
    expect(b.getTransfer(7000n)!.status).toBe('expired');
    expect(b.getAccount(100n)!.debitsPending).toBe(0n);
    const post = await b.submit([rec({ kind: 'transfer', id: 7003n, pendingId: 7000n, flags: 4 }, fx.alice)]);
    expect(post[0].name).toBe('pending_transfer_expired');
    await b.close();
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
  });

  it('admission: unknown signer, bad structure, open chains never reach a block', async () => {
    const fx = await populated();
    const stranger = signer(13);
    const wrongChain = rec({ kind: 'anchor', id: 9n, digest: new Uint8Array(32).fill(1), chainId: 99 }, fx.alice);
    const reserved = rec({ kind: 'anchor', id: 9n, digest: new Uint8Array(32).fill(1) }, fx.alice);
    reserved[200 - 10] = 1; // body byte 190: reserved for anchors
    const r = await fx.ledger.submit([
      rec({ kind: 'anchor', id: 9n, digest: new Uint8Array(32).fill(1) }, stranger),
      wrongChain, reserved,
      rec({ kind: 'anchor', id: 10n, digest: new Uint8Array(32).fill(1), flags: 1 }, fx.alice),
      rec({ kind: 'anchor', id: 11n, digest: new Uint8Array(32).fill(1), flags: 1 }, stranger),
      rec({ kind: 'anchor', id: 12n, digest: new Uint8Array(32).fill(1) }, fx.alice),
      rec({ kind: 'anchor', id: 13n, digest: new Uint8Array(32).fill(1), flags: 1 }, fx.alice),
    ]);
    expect(r.map((x) => x.name)).toEqual(['signer_key_not_found', 'wrong_chain', 'reserved_field',
      'linked_event_failed_admission', 'signer_key_not_found', 'linked_event_failed_admission', 'linked_event_chain_open']);
    expect(r.every((x) => x.height === undefined)).toBe(true);
    const badVersion = rec({ kind: 'anchor', id: 14n, digest: new Uint8Array(32).fill(1) }, fx.alice);
    badVersion[0] = 2;
    const badKind = rec({ kind: 'anchor', id: 15n, digest: new Uint8Array(32).fill(1) }, fx.alice);
    badKind[1] = 42;
    const badSig = rec({ kind: 'anchor', id: 16n, digest: new Uint8Array(32).fill(1) }, fx.alice);
    badSig.fill(0, 223, 255);
    const flag = rec({ kind: 'anchor', id: 17n, digest: new Uint8Array(32).fill(1) }, fx.alice);
    flag[2] = 2;
    expect((await fx.ledger.submit([badVersion, badKind, badSig, flag])).map((x) => x.name))
      .toEqual(['bad_version', 'bad_kind', 'bad_signature_encoding', 'reserved_flag']);
    const many = new Uint8Array(8191 * 256);
    const big = await fx.ledger.submitBatch(many);
    expect(big.codes.every((c) => c === 11)).toBe(true); // batch_too_large
    await expect(fx.ledger.submitBatch(new Uint8Array(300))).rejects.toThrow(RangeError);
  });

  it('turns submits away with ledger_unavailable beyond the in-flight bound', async () => {
    const fx = await chainFixture({ inFlightMaxRecords: 3, blockMaxMs: 50 });
    open.push(fx.ledger);
    const anchor = (id: bigint) => rec({ kind: 'anchor', id, digest: new Uint8Array(32).fill(1) }, fx.admin);
    const first = fx.ledger.submit([anchor(100n), anchor(101n)]);
    const second = fx.ledger.submit([anchor(102n), anchor(103n)]);
    expect((await second).map((r) => r.name)).toEqual(['ledger_unavailable', 'ledger_unavailable']);
    expect((await first).map((r) => r.name)).toEqual(['ok', 'ok']);
    expect((await fx.ledger.submit([anchor(102n), anchor(103n)])).map((r) => r.name)).toEqual(['ok', 'ok']);
  });

  it('verify finds a flipped byte in a stored block and names it', async () => {
    const fx = await populated();
    await fx.ledger.close();
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
    const db = await RocksDb.open(join(fx.dir, 'db'));
    const v = (await db.get(blockKey(2)))!.slice();
    v[256 + 256 * 3 + 100] ^= 0x01; // a byte inside record 3 of block 2
    const wb = new WriteBatch();
    wb.put(blockKey(2), v);
    await db.write(wb, true);
    await db.close();
    const report = await verifyChain(fx.dir, { verifier: acceptAllVerifier });
    expect(report.ok).toBe(false);
    expect(report.badHeight).toBe(2);
    expect(report.error).toMatch(/block 2/);
  });
});

describe('keys registered in the same batch', () => {
  it('a record may be signed by a key registered earlier in its batch, not later', async () => {
    const fx = await chainFixture();
    open.push(fx.ledger);
    const k1 = signer(20), k2 = signer(21);
    const r = await fx.ledger.submit([
      rec({ kind: 'register_key', id: 50n, publicKey: k1.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
      rec({ kind: 'anchor', id: 51n, digest: new Uint8Array(32).fill(1) }, k1),
      rec({ kind: 'anchor', id: 52n, digest: new Uint8Array(32).fill(1) }, k2),
      rec({ kind: 'register_key', id: 53n, publicKey: k2.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
    ]);
    expect(r.map((x) => x.name)).toEqual(['ok', 'ok', 'signer_key_not_found', 'ok']);
    await fx.ledger.close();
    expect((await verifyChain(fx.dir, { verifier: acceptAllVerifier })).ok).toBe(true);
  });
});
