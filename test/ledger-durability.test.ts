// Durability when the disk fails: once a block's write fails, no later block may be
// written or acknowledged (the chain on disk would have a hole), and the chain on disk
// still opens at the last good block.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initChain } from '../dist/src/chain/init.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { RocksDb } from '../dist/native/rocksdb.js';
import { records } from '../dist/src/codec/builders.js';

describe('a failed block write', () => {
  it('stops the ledger: later blocks are neither written nor acknowledged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gmledger-eio-'));
    const orig = RocksDb.prototype.write;
    try {
      const { admin, config } = await initChain({ dir, chainId: 7 });
      const ledger = await Ledger.open({ dir, blockMaxMs: 5, blockMaxRecords: 1 });
      let writes = 0;
      // The first block's write fails after a delay, so the second block is closed (and
      // queued behind it) before the failure is known.
      RocksDb.prototype.write = function (this: RocksDb, ...args: Parameters<RocksDb['write']>) {
        if (writes++ === 0) return new Promise((_, reject) => setTimeout(() => reject(new Error('EIO injected')), 50));
        return orig.apply(this, args);
      } as RocksDb['write'];
      const anchor = (id: bigint, fill: number) => records.anchor({ chainId: config.chainId, id, digest: new Uint8Array(32).fill(fill) }, admin);
      const a = ledger.submit([anchor(900n, 1)]);
      const b = ledger.submit([anchor(901n, 2)]);
      await expect(a).rejects.toThrow(/could not be written/);
      await expect(b).rejects.toThrow(/could not be written/);
      expect(writes).toBe(1); // the second block never reached the disk
      RocksDb.prototype.write = orig;
      await ledger.close().catch(() => undefined);
      const again = await Ledger.open({ dir });
      expect(again.height).toBe(0);
      await again.close();
    } finally {
      RocksDb.prototype.write = orig;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
