// The rare branch: x1 ≥ n, where x1 is the x coordinate of R = s·G + t·P (about 2^-128 of
// honest signatures). A valid signature for it can't come from signing, so it is built
// backwards with the BigInt reference: pick R with x1 in [n, p), random r and s, then
// P = t⁻¹(R − s·G) and e = (r − x1) mod n. Single verification and the batch (with the
// hint's x1 ≥ n bit set, clear, and absent) must all accept it, and reject e + 1.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sm2 } from 'gmledger';
import { G, add, be32, inv, lift, mod, mul, n, neg, p, pub65 } from './helpers/ec-reference.js';

const rand = (): bigint => mod(BigInt('0x' + randomBytes(32).toString('hex')), n - 1n) + 1n;

describe('SM2 with x1 ≥ n', () => {
  it('verifies single and batched, with right, wrong and missing hints', () => {
    const items: sm2.VerifyBatchItem[] = [];
    const expected: boolean[] = [];
    let made = 0;
    for (let x1 = n + BigInt('0x' + randomBytes(8).toString('hex')); made < 6 && x1 < p; x1 += 1n) {
      const R = lift(x1, Number(x1 & 1n));
      if (R === null) continue;
      const r = rand(), s = rand(), t = mod(r + s, n);
      if (t === 0n) continue;
      const P = mul(inv(t, n), add(R, neg(mul(s, G))));
      if (P === null) continue;
      made++;
      const e = mod(r - x1, n);
      const sig = Uint8Array.from([...be32(r), ...be32(s)]);
      const pk = pub65(P);
      for (let sight = 0; sight < 3; sight++) expect(sm2.verifyDigest(be32(e), sig, pk)).toBe(true); // first sight, cache build, cached
      expect(sm2.verifyDigest(be32(e), sig, sm2.compressPublicKey(pk))).toBe(true);
      expect(sm2.verifyDigest(be32(mod(e + 1n, n)), sig, pk)).toBe(false);
      const hint = Number(R[1] & 1n) | 2;
      for (const h of [hint, hint & 1, hint ^ 1, -1]) {
        items.push({ msg: new Uint8Array(0), digest: be32(e), signature: h < 0 ? sig : Uint8Array.from([...sig, h]), publicKey: pk });
        expected.push(true);
      }
      items.push({ msg: new Uint8Array(0), digest: be32(mod(e + 1n, n)), signature: Uint8Array.from([...sig, hint]), publicKey: pk });
      expected.push(false);
    }
    expect(made).toBe(6);
    expect(sm2.verifyBatch(items)).toEqual(expected);
    // Only correctly hinted items: the batch equation itself must accept them.
    const good = items.filter((_, i) => i % 5 === 0);
    expect(sm2.verifyBatch(good).every(Boolean)).toBe(true);
  });
});
