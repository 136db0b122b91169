// Worker pool: same answers as sm2.verifyBatch, batches crossing threads packed.

import { afterAll, describe, expect, it } from 'vitest';
import { createVerifyPool, sm2 } from 'gmledger';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('createVerifyPool', () => {
  const pool = createVerifyPool({ threads: 2, minPart: 64 });
  afterAll(() => pool.close());

  it('refuses nonsense options', () => {
    for (const minPart of [0, -1, 1.5, Number.NaN]) expect(() => createVerifyPool({ threads: 1, minPart })).toThrow(RangeError);
    expect(() => createVerifyPool({ threads: 0 })).toThrow(RangeError);
  });

  it('matches sm2.verifyBatch on a mixed batch with bad items', async () => {
    const keys = Array.from({ length: 16 }, () => sm2.generateKeyPair());
    const items: sm2.VerifyBatchItem[] = [];
    for (let i = 0; i < 600; i++) {
      const kp = keys[i % keys.length];
      const msg = enc(`pool ${i}`);
      const sig = i % 4 === 0 ? sm2.sign(msg, kp.privateKey) : sm2.signRecoverable(msg, kp.privateKey);
      items.push({ msg, signature: sig, publicKey: kp.publicKey });
    }
    for (const i of [3, 77, 301, 599]) items[i] = { ...items[i], msg: enc('tampered') };
    items[150] = { ...items[150], signature: items[150].signature.subarray(0, 5) };
    const want = sm2.verifyBatch(items);
    expect(want.filter((x) => !x).length).toBe(5);
    expect(await pool.verifyBatch(items)).toEqual(want);
    expect(await pool.verifyBatch(items.slice(0, 3))).toEqual(want.slice(0, 3));
    expect(await pool.verifyBatch([])).toEqual([]);
    const packed = sm2.packBatch(items);
    const res = await pool.verifyPacked(packed, items.length);
    expect(Array.from(res, (x) => x === 1)).toEqual(want);
    expect(packed.byteLength).toBe(0); // transferred
  });

  it('rejects bad options and use after close', async () => {
    expect(() => createVerifyPool({ threads: 0 })).toThrow(RangeError);
    const p = createVerifyPool({ threads: 1 });
    await p.close();
    await expect(p.verifyBatch([])).resolves.toEqual([]);
    await expect(p.verifyPacked(new Uint8Array(0), 0)).rejects.toThrow(/closed/);
  });
});
