// Block roots off the sequencer's thread: the worker's answers are the inline answers, and
// a chain whose large blocks were rooted on the worker verifies offline.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { computeRoots, RootsWorker, ROOTS_WORKER_MIN_RECORDS, type RootsChunk } from '../dist/src/pool/roots.js';
import { txHashes, txRoot, resultRoot } from '../dist/src/chain/block.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { acceptAllVerifier, chainFixture, rec, roles, signer } from './helpers/ledger.js';

const workers: RootsWorker[] = [];
afterEach(async () => { for (const w of workers.splice(0)) await w.close(); });

function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => out.set(h, i * 32));
  return out;
}

describe('block roots', () => {
  it('worker and inline give the same roots and hashes as the tree functions, for mixed chunks', async () => {
    const w = new RootsWorker();
    workers.push(w);
    for (const alg of ['sm3', 'sha256'] as const) {
      for (const sizes of [[ROOTS_WORKER_MIN_RECORDS], [700, 5, 900], [1, ROOTS_WORKER_MIN_RECORDS * 2 + 3], [3, 4]]) {
        const chunkRecords = sizes.map((n) => new Uint8Array(randomBytes(n * 256)));
        const total = sizes.reduce((a, b) => a + b, 0);
        const codes = new Uint16Array(total).map(() => Math.floor(Math.random() * 70));
        const hashes = chunkRecords.flatMap((r) => txHashes(r, r.length / 256, alg));
        const want = { txRoot: txRoot(hashes, alg), resultRoot: resultRoot(hashes, codes, alg) };
        // Every other chunk arrives as hashes already known (a trusted batch's).
        const chunks: RootsChunk[] = chunkRecords.map((r, k) => (k % 2 === 1 ? { hashes: concat(txHashes(r, r.length / 256, alg)) } : { records: r }));
        const inline = computeRoots(chunks, codes, alg, true);
        const viaWorker = await w.compute(chunks, codes.subarray(0), alg, true);
        for (const got of [inline, viaWorker]) {
          expect(Buffer.from(got.txRoot).equals(Buffer.from(want.txRoot))).toBe(true);
          expect(Buffer.from(got.resultRoot).equals(Buffer.from(want.resultRoot))).toBe(true);
          expect(Buffer.from(got.hashes!).equals(Buffer.from(concat(hashes)))).toBe(true);
        }
        // A different code changes the result root, not the tx root.
        const other = codes.slice(); other[total - 1] ^= 1;
        const changed = await w.compute(chunks, other, alg, false);
        expect(Buffer.from(changed.txRoot).equals(Buffer.from(want.txRoot))).toBe(true);
        expect(Buffer.from(changed.resultRoot).equals(Buffer.from(want.resultRoot))).toBe(false);
        expect(changed.hashes).toBeUndefined();
      }
    }
  });

  it('rejects a block whose codes do not match its records, and refuses work once closed', async () => {
    const w = new RootsWorker();
    const records = new Uint8Array(ROOTS_WORKER_MIN_RECORDS * 256);
    await expect(w.compute([{ records }], new Uint16Array(ROOTS_WORKER_MIN_RECORDS + 1), 'sm3', false)).rejects.toThrow(/result codes/);
    await expect(w.compute([{ records: records.subarray(0, 100) }], new Uint16Array(1), 'sm3', false)).rejects.toThrow(/whole records/);
    await w.close();
    await expect(w.compute([{ records }], new Uint16Array(ROOTS_WORKER_MIN_RECORDS), 'sm3', false)).rejects.toThrow(/closed/);
  });

  it('a ledger whose blocks were rooted on the worker verifies offline', async () => {
    const fx = await chainFixture({ blockMaxMs: 50 });
    const alice = signer(3);
    const setup = await fx.ledger.submit([
      rec({ kind: 'register_key', id: 10n, publicKey: alice.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
      rec({ kind: 'create_account', id: 100n, ledger: 1, code: 1, controller: alice.keyId }, alice),
      rec({ kind: 'create_account', id: 101n, ledger: 1, code: 1, controller: alice.keyId }, alice),
    ]);
    expect(setup.every((r) => r.code === 0)).toBe(true);
    const n = ROOTS_WORKER_MIN_RECORDS + 200;
    const heights = new Set<number>();
    for (let b = 0; b < 3; b++) {
      const batch = [];
      for (let i = 0; i < n; i++) {
        batch.push(rec({ kind: 'transfer', id: BigInt(1 + b * n + i), debitAccountId: 100n, creditAccountId: 101n, amount: 1n, ledger: 1, code: 1 }, alice));
      }
      const r = await fx.ledger.submit(batch);
      expect(r.every((x) => x.code === 0)).toBe(true);
      heights.add(r[0].height!);
    }
    expect(heights.size).toBe(3);
    for (const h of heights) expect((await fx.ledger.getBlock(h))!.records.length).toBeGreaterThanOrEqual(n);
    await fx.ledger.close();
    expect(await verifyChain(fx.dir, { verifier: acceptAllVerifier })).toMatchObject({ ok: true });
  });
});
