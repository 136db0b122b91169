// The 256-byte record: layout as fixed in docs/protocol.md, structural validation.
import { describe, expect, it } from 'vitest';
import {
  Kind, RECORD_BYTES, checkStructure, decode, encode, STRUCT_OK, STRUCT_BAD_VERSION, STRUCT_BAD_KIND, STRUCT_BAD_CHAIN,
  STRUCT_RESERVED_FLAG, STRUCT_RESERVED_FIELD, STRUCT_BAD_SIGNATURE_ENCODING, FLAG_LINKED, TRANSFER_PENDING,
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS,
} from '../dist/src/codec/record.js';
import { sm3 } from '../dist/src/crypto/hash.js';
import { checkBatchStructure } from '../dist/src/codec/validate.js';
import { sm2 } from '../dist/src/index.js';
import { buildRecord, signerFromKeyPair } from '../dist/src/codec/builders.js';
import { sm2RecordVerifier } from '../dist/src/ledger/verify.js';

const signed = (b: Uint8Array) => { b.fill(1, 191, 255); b[255] = 0xff; return b; };
const signer = new Uint8Array(32).fill(0xab);

describe('record layout', () => {
  it('matches a record built byte by byte from docs/protocol.md §7', () => {
    const rec = new Uint8Array(256);
    const dv = new DataView(rec.buffer);
    rec[0] = 1; rec[1] = 3;
    dv.setUint16(2, 0, true);
    dv.setUint32(4, 0x01020304, true);
    dv.setBigUint64(8, 1700000000123n, true);
    dv.setBigUint64(16, 0x1122n, true); dv.setBigUint64(24, 0x33n, true);
    rec.set(signer, 32);
    dv.setBigUint64(64, 7n, true); dv.setBigUint64(80, 8n, true); dv.setBigUint64(96, 1000n, true);
    dv.setBigUint64(104, 1n, true); // amount high half: amount = 2^64 + 1000
    dv.setUint32(144, 5, true); dv.setUint16(148, 9, true);
    const enc = encode({ kind: 'transfer', chainId: 0x01020304, timestamp: 1700000000123n, id: (0x33n << 64n) | 0x1122n, signer,
      debitAccountId: 7n, creditAccountId: 8n, amount: (1n << 64n) + 1000n, ledger: 5, code: 9 });
    expect(enc).toEqual(rec);
    const d = decode(enc);
    expect(d).toMatchObject({ version: 1, kind: 'transfer', chainId: 0x01020304, id: (0x33n << 64n) | 0x1122n });
    expect(d.body).toMatchObject({ debitAccountId: 7n, creditAccountId: 8n, amount: (1n << 64n) + 1000n, ledger: 5, code: 9 });
  });

  it('every kind round-trips and passes structure', () => {
    const pk = new Uint8Array(65).fill(2); pk[0] = 4;
    const all = [
      encode({ kind: 'register_key', chainId: 1, id: 1n, signer, publicKey: pk, roles: 4, ledger: 3 }),
      encode({ kind: 'create_account', chainId: 1, id: 2n, signer, ledger: 1, code: 2, userData: 5n, controller: signer, flags: ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS }),
      encode({ kind: 'transfer', chainId: 1, id: 3n, signer, debitAccountId: 1n, creditAccountId: 2n, amount: 3n, pendingId: 0n, userData: 9n, ledger: 1, code: 1, timeout: 60, flags: TRANSFER_PENDING | FLAG_LINKED }),
      encode({ kind: 'anchor', chainId: 1, id: 4n, signer, digest: new Uint8Array(32).fill(7), metadata: new Uint8Array(32).fill(8) }),
      encode({ kind: 'freeze_account', chainId: 1, id: 5n, signer, accountId: 2n }),
      encode({ kind: 'unfreeze_account', chainId: 1, id: 6n, signer, accountId: 2n }),
      encode({ kind: 'halt_ledger', chainId: 1, id: 7n, signer, ledger: 1 }),
      encode({ kind: 'resume_ledger', chainId: 1, id: 8n, signer, ledger: 1 }),
    ];
    all.forEach((r, i) => {
      expect(r.length).toBe(RECORD_BYTES);
      expect(r[1]).toBe(i + 1);
      expect(checkStructure(signed(r), 0, 1)).toBe(STRUCT_OK);
      expect(decode(r).kind).toBe(Object.keys(Kind)[i]);
    });
    expect(decode(all[0]).body).toMatchObject({ roles: 4, ledger: 3 });
    expect(decode(all[2]).body).toMatchObject({ timeout: 60, userData: 9n });
  });

  it('structure checks', () => {
    const base = () => signed(encode({ kind: 'anchor', chainId: 1, id: 4n, signer, digest: new Uint8Array(32).fill(7) }));
    const cases: [string, (b: Uint8Array) => void, number][] = [
      ['version', (b) => { b[0] = 2; }, STRUCT_BAD_VERSION],
      ['kind 0', (b) => { b[1] = 0; }, STRUCT_BAD_KIND],
      ['kind 9', (b) => { b[1] = 9; }, STRUCT_BAD_KIND],
      ['chain', (b) => { b[4] = 2; }, STRUCT_BAD_CHAIN],
      ['flag', (b) => { b[2] = 2; }, STRUCT_RESERVED_FLAG],
      ['flag hi', (b) => { b[3] = 1; }, STRUCT_RESERVED_FLAG],
      ['body tail', (b) => { b[190] = 1; }, STRUCT_RESERVED_FIELD],
      ['r zero', (b) => { b.fill(0, 191, 223); }, STRUCT_BAD_SIGNATURE_ENCODING],
      ['s zero', (b) => { b.fill(0, 223, 255); }, STRUCT_BAD_SIGNATURE_ENCODING],
      ['hint', (b) => { b[255] = 4; }, STRUCT_BAD_SIGNATURE_ENCODING],
      ['linked ok', (b) => { b[2] = 1; }, STRUCT_OK],
    ];
    for (const [name, mutate, code] of cases) {
      const b = base();
      mutate(b);
      expect(checkStructure(b, 0, 1), name).toBe(code);
    }
    const t = signed(encode({ kind: 'transfer', chainId: 1, id: 4n, signer }));
    t[150] = 1;
    expect(checkStructure(t, 0, 1)).toBe(STRUCT_RESERVED_FIELD);
    const pk = new Uint8Array(65).fill(2); pk[0] = 4;
    const k = signed(encode({ kind: 'register_key', chainId: 1, id: 4n, signer, publicKey: pk, roles: 0 }));
    k[131] = 1;
    expect(checkStructure(k, 0, 1)).toBe(STRUCT_RESERVED_FIELD);
    const a = signed(encode({ kind: 'create_account', chainId: 1, id: 4n, signer, ledger: 0, code: 0, controller: signer }));
    a[70] = 1;
    expect(checkStructure(a, 0, 1)).toBe(STRUCT_RESERVED_FIELD);
  });

  it('the WASM batch check agrees with checkStructure on randomly mutated records', () => {
    let seed = 99;
    const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 0x100000000; };
    const pk = new Uint8Array(65).fill(2); pk[0] = 4;
    const bases = [
      encode({ kind: 'register_key', chainId: 5, id: 1n, signer, publicKey: pk, roles: 4, ledger: 3 }),
      encode({ kind: 'create_account', chainId: 5, id: 2n, signer, ledger: 1, code: 2, controller: signer }),
      encode({ kind: 'transfer', chainId: 5, id: 3n, signer, debitAccountId: 1n, creditAccountId: 2n, amount: 3n, ledger: 1, code: 1, timeout: 9 }),
      encode({ kind: 'anchor', chainId: 5, id: 4n, signer, digest: new Uint8Array(32).fill(7) }),
      encode({ kind: 'freeze_account', chainId: 5, id: 5n, signer, accountId: 2n }),
      encode({ kind: 'resume_ledger', chainId: 5, id: 8n, signer, ledger: 1 }),
    ];
    const n = 3000;
    const batch = new Uint8Array(n * 256);
    for (let i = 0; i < n; i++) {
      const r = signed(bases[i % bases.length].slice());
      const flips = Math.floor(rnd() * 3);
      for (let f = 0; f < flips; f++) {
        const at = rnd() < 0.3 ? Math.floor(rnd() * 8) : Math.floor(rnd() * 256);
        r[at] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
      }
      if (rnd() < 0.05) r.fill(0, 191, 223);
      batch.set(r, i * 256);
    }
    const wasm = checkBatchStructure(batch, n, 5);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      expect(wasm[i], `record ${i}`).toBe(checkStructure(batch, i * 256, 5));
      seen.add(wasm[i]);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('signatures: SM2 over bytes [0,191) with the default ID; any bit flip fails', async () => {
    const kp = sm2.generateKeyPair();
    const s = signerFromKeyPair(kp);
    expect(s.keyId).toEqual(sm3(kp.publicKey));
    const rec = buildRecord({ kind: 'anchor', chainId: 1, id: 9n, digest: new Uint8Array(32).fill(3) }, s);
    expect(sm2.verify(rec.subarray(0, 191), rec.subarray(191, 255), kp.publicKey)).toBe(true);
    const batch = new Uint8Array(256 * 4);
    for (let i = 0; i < 4; i++) batch.set(rec, i * 256);
    batch[256 + 50] ^= 1;        // message byte
    batch[512 + 200] ^= 1;       // signature byte
    batch[768 + 255] = 0xff;     // hint dropped: still valid
    const ok = await sm2RecordVerifier().verifyRecords(batch, 4, [kp.publicKey, kp.publicKey, kp.publicKey, kp.publicKey]);
    expect(Array.from(ok)).toEqual([1, 0, 0, 1]);
  });
});
