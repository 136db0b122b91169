// The real path: `gmledger init`, records signed with SM2, the default (SM2) verifier,
// and `gmledger verify` — which fails, naming the block, when a stored byte is flipped.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger, records, signerFromKeyPair, sm2, fromHex, ROLE_PARTICIPANT, resultName } from '../dist/src/index.js';
import { RocksDb, WriteBatch } from '../dist/native/rocksdb.js';
import { blockKey } from '../dist/src/store/store.js';
import { tempDir } from './helpers/ledger.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('gmledger init / verify with real SM2', () => {
  it('init, submit signed records, verify, detect tampering', async () => {
    const dir = join(tempDir(), 'chain');
    const init = cli('init', dir, '--chain-id', '4242');
    expect(init.status, init.stderr).toBe(0);
    for (const name of ['admin', 'regulator', 'node']) {
      expect(statSync(join(dir, 'keys', `${name}.key`)).mode & 0o777).toBe(0o600);
    }
    const load = (name: string) => {
      const privateKey = fromHex(readFileSync(join(dir, 'keys', `${name}.key`), 'utf8').trim());
      return signerFromKeyPair({ privateKey, publicKey: sm2.getPublicKey(privateKey) });
    };
    const admin = load('admin');
    const alice = signerFromKeyPair(sm2.generateKeyPair());
    const ledger = await Ledger.open({ dir, blockMaxMs: 2 });
    expect(ledger.info().verifier).toMatch(/^sm2\//);
    const forged = records.anchor({ chainId: 4242, id: 8n, digest: new Uint8Array(32).fill(1) }, alice);
    forged[60] ^= 1; // inside the signed message (signer field) → unknown key
    const tampered = records.anchor({ chainId: 4242, id: 9n, digest: new Uint8Array(32).fill(1) }, alice);
    tampered[70] ^= 1; // inside the digest → signature no longer matches
    const r = await ledger.submit([
      records.registerKey({ chainId: 4242, id: 10n, publicKey: alice.publicKey, roles: ROLE_PARTICIPANT }, admin),
      records.createAccount({ chainId: 4242, id: 1n, ledger: 1, code: 1, controller: alice.keyId }, alice),
      records.createAccount({ chainId: 4242, id: 2n, ledger: 1, code: 1, controller: alice.keyId }, alice),
      records.transfer({ chainId: 4242, id: 3n, debitAccountId: 1n, creditAccountId: 2n, amount: 10n, ledger: 1, code: 1 }, alice),
      forged, tampered,
    ]);
    expect(r.map((x) => x.name)).toEqual(['ok', 'ok', 'ok', 'ok', 'signer_key_not_found', 'bad_signature']);
    const r2 = await ledger.submit([records.transfer({ chainId: 4242, id: 4n, debitAccountId: 1n, creditAccountId: 2n, amount: 5n, ledger: 1, code: 1 }, alice)]);
    expect(resultName(r2[0].code)).toBe('ok');
    const height = ledger.height;
    await ledger.close();

    const ok = cli('verify', dir);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, height, records: 3 + 4 + 1 });

    // Flip one byte of block 1's header signature.
    const db = await RocksDb.open(join(dir, 'db'));
    const v = (await db.get(blockKey(1)))!.slice();
    v[200] ^= 0x80;
    const wb = new WriteBatch();
    wb.put(blockKey(1), v);
    await db.write(wb, true);
    await db.close();
    const bad = cli('verify', dir);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, badHeight: 1 });
    expect(bad.stderr).toMatch(/block 1: signature 0: bad header signature/);
  });
});
