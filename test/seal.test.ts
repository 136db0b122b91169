// Sealing off the sequencer's thread: the worker's roots are the inline roots, the state
// tree handed to it stays the tree a from-scratch build gives (read back through the
// caller's adopted views), and a chain sealed on the worker verifies offline.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeSeal, SealWorker, SEAL_WORKER_MIN_RECORDS, type SealChunk } from '../dist/src/ledger/seal.js';
import { StateTree } from '../dist/src/ledger/statetree.js';
import { txHashes, txRoot, resultRoot } from '../dist/src/codec/block.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { acceptAllVerifier, chainFixture, rec, roles, signer } from './helpers/ledger.js';

const workers: SealWorker[] = [];
afterEach(async () => { for (const w of workers.splice(0)) await w.close(); });

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => out.set(h, i * 32));
  return out;
}

describe('block seal', () => {
  it('worker and inline seals agree with the tree functions, for mixed chunks and a growing state tree', async () => {
    for (const alg of ['sm3', 'sha256'] as const) {
      const mine = new StateTree(128, alg);
      const w = new SealWorker(mine, 128);
      workers.push(w);
      await w.start();
      // The reference: the whole tree rebuilt from all leaves after every block.
      const leaves: Uint32Array[] = [];
      // Small blocks first (inline), then the worker takes over at the first large one.
      for (const sizes of [[3, 4], [1, 2], [SEAL_WORKER_MIN_RECORDS], [700, 5, 900], [2], [1, SEAL_WORKER_MIN_RECORDS * 2 + 3]]) {
        const chunkRecords = sizes.map((n) => new Uint8Array(randomBytes(n * 256)));
        const total = sizes.reduce((a, b) => a + b, 0);
        const codes = new Uint16Array(total).map(() => Math.floor(Math.random() * 70));
        const hashes = chunkRecords.flatMap((r) => txHashes(r, r.length / 256, alg));
        // State: touch a few old leaves, append some new ones.
        const size = leaves.length + 1 + Math.floor(Math.random() * 300);
        const dirty = new Set<number>();
        for (let k = 0; k < 40 && leaves.length > 0; k++) dirty.add(Math.floor(Math.random() * leaves.length));
        for (let i = leaves.length; i < size; i++) dirty.add(i);
        const sorted = Int32Array.from(dirty).sort();
        const packed = new Uint32Array(sorted.length * 32);
        sorted.forEach((i, k) => {
          leaves[i] = new Uint32Array(randomBytes(128).buffer);
          packed.set(leaves[i], k * 32);
        });
        const ref = new StateTree(128, alg);
        const all = new Uint32Array(size * 32);
        leaves.forEach((l, i) => all.set(l, i * 32));
        ref.update(size, Array.from({ length: size }, (_, i) => i), all);
        // Every other chunk arrives as hashes already known (a trusted batch's).
        const chunks: SealChunk[] = chunkRecords.map((r, k) => (k % 2 === 1 ? { hashes: concat(txHashes(r, r.length / 256, alg)) } : { records: r }));
        const got = await w.seal({ alg, chunks, codes, wantHashes: true, tree: { size, dirty: sorted, leaves: packed } });
        expect(hex(got.txRoot)).toBe(hex(txRoot(hashes, alg)));
        expect(hex(got.resultRoot)).toBe(hex(resultRoot(hashes, codes, alg)));
        expect(hex(got.hashes!)).toBe(hex(concat(hashes)));
        expect(hex(got.stateRoot!)).toBe(hex(ref.root()));
        // The caller's tree (views of the worker's levels once it took over) answers as the reference.
        expect(mine.size).toBe(size);
        expect(hex(mine.root())).toBe(hex(ref.root()));
        for (const i of [0, size - 1, Math.floor(size / 2)]) expect(mine.proof(i).map(hex)).toEqual(ref.proof(i).map(hex));
      }
      // A different code changes the result root only; computeSeal without a tree update leaves the tree.
      const records = new Uint8Array(randomBytes(5 * 256));
      const a = computeSeal({ alg, chunks: [{ records }], codes: new Uint16Array(5), wantHashes: false }, new StateTree(128, alg));
      const b = computeSeal({ alg, chunks: [{ records }], codes: Uint16Array.of(0, 0, 0, 0, 1), wantHashes: false }, new StateTree(128, alg));
      expect(hex(a.txRoot)).toBe(hex(b.txRoot));
      expect(hex(a.resultRoot)).not.toBe(hex(b.resultRoot));
      expect(a.stateRoot).toBeUndefined();
      expect(a.hashes).toBeUndefined();
    }
  });

  it('refuses malformed jobs, inline and on the worker, and all work once closed or failed', async () => {
    const w = new SealWorker(new StateTree(128), 128);
    workers.push(w);
    await w.start();
    const n = SEAL_WORKER_MIN_RECORDS;
    await expect(w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(100) }], codes: new Uint16Array(1), wantHashes: false })).rejects.toThrow(/whole records/);
    await expect(w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(n * 256) }], codes: new Uint16Array(n + 1), wantHashes: false })).rejects.toThrow(/result codes/);
    // After a failure on the worker the tree may be half updated: nothing more is sealed.
    await expect(w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(n * 256) }], codes: new Uint16Array(n), wantHashes: false })).rejects.toThrow(/result codes/);
    await w.close();
    await expect(w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(256) }], codes: new Uint16Array(1), wantHashes: false })).rejects.toThrow(/closed/);
    const tree = new StateTree(128);
    expect(() => tree.updatePacked(2, Int32Array.of(1, 0), new Uint32Array(64))).toThrow(/increasing/);
    expect(() => tree.updatePacked(2, Int32Array.of(1), new Uint32Array(32))).toThrow(/new leaf/);
    expect(() => tree.updatePacked(2, Int32Array.of(0, 1), new Uint32Array(32))).toThrow(/leaf words/);
  });

  it('a failed worker does not keep the process alive', () => {
    // A child whose seal worker fails and which never calls close() must still exit.
    const script = `
      import { SealWorker } from ${JSON.stringify(new URL('../dist/src/ledger/seal.js', import.meta.url).href)};
      import { StateTree } from ${JSON.stringify(new URL('../dist/src/ledger/statetree.js', import.meta.url).href)};
      const w = new SealWorker(new StateTree(128), 128);
      await w.start();
      const n = 512;
      const bad = w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(n * 256) }], codes: new Uint16Array(n + 1), wantHashes: false });
      const good = w.seal({ alg: 'sm3', chunks: [{ records: new Uint8Array(n * 256) }], codes: new Uint16Array(n), wantHashes: false });
      const r = await Promise.allSettled([bad, good]);
      console.log(r.map((x) => x.status).join(','));
    `;
    // From a file: a process run with -e exits after the script whatever still holds it.
    const file = join(mkdtempSync(join(tmpdir(), 'gmledger-seal-')), 'child.mjs');
    writeFileSync(file, script);
    const out = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    expect(out.signal, out.stderr).toBeNull();
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe('rejected,rejected');
  });

  it('a ledger whose blocks were sealed on the worker verifies offline, and proves accounts', async () => {
    const fx = await chainFixture({ blockMaxMs: 50 });
    const alice = signer(3);
    const setup = await fx.ledger.submit([
      rec({ kind: 'register_key', id: 10n, publicKey: alice.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
      ...Array.from({ length: 40 }, (_, i) => rec({ kind: 'create_account', id: 100n + BigInt(i), ledger: 1, code: 1, controller: alice.keyId }, alice)),
    ]);
    expect(setup.every((r) => r.code === 0)).toBe(true);
    const n = SEAL_WORKER_MIN_RECORDS + 200;
    const heights = new Set<number>();
    for (let b = 0; b < 3; b++) {
      const batch = [];
      for (let i = 0; i < n; i++) {
        const d = 100n + BigInt((b * 7 + i) % 40), c = 100n + BigInt((b * 7 + i + 1 + (i % 5)) % 40);
        batch.push(rec({ kind: 'transfer', id: BigInt(1 + b * n + i), debitAccountId: d, creditAccountId: c, amount: 1n, ledger: 1, code: 1 }, alice));
      }
      const r = await fx.ledger.submit(batch);
      expect(r.every((x) => x.code === 0)).toBe(true);
      heights.add(r[0].height!);
      // Small blocks after the worker took over are sealed there too.
      const small = await fx.ledger.submit([rec({ kind: 'create_account', id: 500n + BigInt(b), ledger: 1, code: 1, controller: alice.keyId }, alice)]);
      expect(small[0].code).toBe(0);
    }
    expect(heights.size).toBe(3);
    const { verifyAccountProof } = await import('../dist/src/codec/block.js');
    for (const id of [100n, 120n, 139n, 502n]) expect(verifyAccountProof((await fx.ledger.proveAccount(id))!, fx.ledger.nodePublicKey)).toBe(true);
    await fx.ledger.close();
    expect(await verifyChain(fx.dir, { verifier: acceptAllVerifier })).toMatchObject({ ok: true });
  });
});
