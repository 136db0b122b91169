// `gmledger verify` must catch a tampered key registry, request log or halt list, not only
// accounts and blocks: the state root covers accounts alone, and a key given the admin role
// on disk would otherwise load on the next start unnoticed.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { RocksDb, WriteBatch } from '../dist/native/rocksdb.js';
import { generateSigner, records } from '../dist/src/codec/builders.js';
import { ROLE_ADMIN, ROLE_PARTICIPANT } from '../dist/src/codec/record.js';
import { P_HALT, P_KEY } from '../dist/src/store/store.js';

async function chainWithParticipant(): Promise<{ dir: string; keyIndex: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'gmledger-tamper-'));
  const { admin, config } = await initChain({ dir, chainId: 7 });
  const ledger = await Ledger.open({ dir, blockMaxMs: 5 });
  const p = generateSigner();
  const [r] = await ledger.submit([records.registerKey({ chainId: config.chainId, id: 100n, publicKey: p.publicKey, roles: ROLE_PARTICIPANT }, admin)]);
  expect(r.name).toBe('ok');
  const keyIndex = ledger.state.keys.length - 1;
  await ledger.close();
  expect((await verifyChain(dir)).ok).toBe(true);
  return { dir, keyIndex };
}

async function tamper(dir: string, edit: (db: RocksDb, wb: WriteBatch) => Promise<void>): Promise<void> {
  const db = await RocksDb.open(join(dir, 'db'));
  const wb = new WriteBatch();
  await edit(db, wb);
  await db.write(wb, true);
  await db.close();
}

describe('verify finds tampered registry entries', () => {
  it('a participant key given the admin role on disk', async () => {
    const { dir, keyIndex } = await chainWithParticipant();
    try {
      await tamper(dir, async (db, wb) => {
        const k = new Uint8Array([P_KEY, 0, 0, 0, keyIndex]);
        const v = Uint8Array.from((await db.get(k))!);
        v[65] = ROLE_ADMIN;
        wb.put(k, v);
      });
      const report = await verifyChain(dir);
      expect(report.ok).toBe(false);
      expect(report.error).toMatch(/key entry/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a forged halt', async () => {
    const { dir } = await chainWithParticipant();
    try {
      await tamper(dir, async (_db, wb) => { wb.put(new Uint8Array([P_HALT, 0, 0, 0, 1]), new Uint8Array([1])); });
      const report = await verifyChain(dir);
      expect(report.ok).toBe(false);
      expect(report.error).toMatch(/halted/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
