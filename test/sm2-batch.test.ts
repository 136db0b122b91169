// SM2 batch verification: the random-linear-combination path for hinted signatures,
// per-signature fallback, unhinted and malformed items, the packed layout.

import { describe, expect, it } from 'vitest';
import { sm2 } from 'gmledger';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n;
const be32 = (v: bigint): Uint8Array => Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));

type Item = sm2.VerifyBatchItem;

// Deterministic PRNG for test layout (positions of bad items), not for keys.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

const keys = Array.from({ length: 40 }, () => sm2.generateKeyPair());

function makeBatch(n: number, seed: number): { items: Item[]; expected: boolean[] } {
  const rand = rng(seed);
  const items: Item[] = [];
  const expected: boolean[] = [];
  for (let i = 0; i < n; i++) {
    // repeated keys: a few hot keys take most items
    const kp = keys[rand() < 0.5 ? Math.floor(rand() * 4) : Math.floor(rand() * keys.length)];
    const msg = enc(`payment ${seed}/${i}`);
    const hinted = rand() < 0.8;
    const id = rand() < 0.1 ? enc(`user-${i % 3}`) : undefined;
    const sig = hinted ? sm2.signRecoverable(msg, kp.privateKey, { id }) : sm2.sign(msg, kp.privateKey, { id });
    items.push({ msg, signature: sig, publicKey: kp.publicKey, id });
    expected.push(true);
  }
  return { items, expected };
}

function corrupt(items: Item[], expected: boolean[], seed: number, count: number): void {
  const rand = rng(seed);
  for (let c = 0; c < count; c++) {
    const i = Math.floor(rand() * items.length);
    const it = items[i];
    const kind = c % 6;
    if (kind === 0) items[i] = { ...it, msg: enc('forged') };
    else if (kind === 1) { const s = it.signature.slice(); s[40] ^= 4; items[i] = { ...it, signature: s }; }
    else if (kind === 2) items[i] = { ...it, publicKey: keys[(keys.indexOf(keys.find((k) => k.publicKey === it.publicKey)!) + 1) % keys.length].publicKey };
    else if (kind === 3) items[i] = { ...it, signature: it.signature.subarray(0, 63) };
    else if (kind === 4) { const s = it.signature.slice(); s[10] ^= 1; items[i] = { ...it, signature: s }; }
    else items[i] = { ...it, id: enc('someone else') };
    expected[i] = false;
  }
}

describe('sm2.verifyBatch', () => {
  it('accepts a clean batch of 1,000 (mixed hinted/unhinted, repeated keys, custom IDs)', () => {
    const { items, expected } = makeBatch(1000, 1);
    expect(sm2.verifyBatch(items)).toEqual(expected);
  });

  it('takes the fast path: a clean batch passes the batch equation, a bad item fails only its chunk', async () => {
    const { core } = await import('../dist/src/crypto/wasm.js');
    const { items, expected } = makeBatch(1000, 4); // two chunks of 512 and 488
    const before = core.sm2BatchFallbacks();
    expect(sm2.verifyBatch(items)).toEqual(expected);
    expect(core.sm2BatchFallbacks() - before).toBe(0);
    const hinted = items.findIndex((it, i) => i >= 600 && it.signature.length === 65);
    // Change s, not the message: R is still recovered from (r, e, hint), so the item stays in
    // the batch equation and must make it fail (a changed e could make R unrecoverable,
    // which sends the item to the one-by-one path before the equation).
    const sig = items[hinted].signature.slice();
    sig[40] ^= 1;
    items[hinted] = { ...items[hinted], signature: sig };
    expected[hinted] = false;
    expect(sm2.verifyBatch(items)).toEqual(expected);
    expect(core.sm2BatchFallbacks() - before).toBe(1);
  });

  it('finds exactly the bad signatures in random places', () => {
    const { items, expected } = makeBatch(1000, 2);
    corrupt(items, expected, 99, 7);
    const got = sm2.verifyBatch(items);
    expect(got).toEqual(expected);
    // agrees with one-by-one verification
    for (let i = 0; i < items.length; i += 37) {
      expect(sm2.verify(items[i].msg, items[i].signature, items[i].publicKey, { id: items[i].id })).toBe(expected[i]);
    }
  });

  it('wrong hints never change an answer', () => {
    const kp = keys[0];
    const items: Item[] = [];
    const expected: boolean[] = [];
    for (let i = 0; i < 300; i++) {
      const msg = enc(`h${i}`);
      const sig = sm2.signRecoverable(msg, kp.privateKey);
      if (i % 5 === 1) sig[64] ^= 1;        // wrong parity: good signature
      if (i % 5 === 2) sig[64] |= 2;        // claims x1 >= n: good signature
      if (i % 5 === 3) sig[64] = 0xfc | sig[64]; // junk high bits
      let msgUsed = msg;
      if (i % 50 === 4) msgUsed = enc('bad'); // bad signature with its original (now wrong) hint
      items.push({ msg: msgUsed, signature: sig, publicKey: kp.publicKey });
      expected.push(msgUsed === msg);
    }
    expect(sm2.verifyBatch(items)).toEqual(expected);
    // a batch made only of good signatures with wrong hints
    const onlyWrong = items.filter((_, i) => i % 5 === 1 && i % 50 !== 4);
    expect(sm2.verifyBatch(onlyWrong).every(Boolean)).toBe(true);
  });

  it('a bad signature cannot hide behind a hint for the wrong R', () => {
    const kp = keys[1];
    const msg = enc('target');
    const good = sm2.signRecoverable(msg, kp.privateKey);
    // flip s: (r, s') with the same hint must fail, in every batch position
    const bad = good.slice(); bad[63] ^= 1;
    for (const pos of [0, 5, 9]) {
      const items: Item[] = Array.from({ length: 10 }, (_, i) => {
        const m = enc(`filler ${i}`);
        return { msg: m, signature: sm2.signRecoverable(m, kp.privateKey), publicKey: kp.publicKey };
      });
      items[pos] = { msg, signature: bad, publicKey: kp.publicKey };
      const got = sm2.verifyBatch(items);
      expect(got[pos]).toBe(false);
      expect(got.filter(Boolean).length).toBe(9);
    }
  });

  it('rejects malformed items without failing the rest', () => {
    const kp = keys[2];
    const msg = enc('m');
    const sig = sm2.signRecoverable(msg, kp.privateKey);
    const r = sig.subarray(0, 32);
    const s = sig.subarray(32, 64);
    const cat = (...p: Uint8Array[]): Uint8Array => Uint8Array.from(p.flatMap((x) => Array.from(x)));
    const items: Item[] = [
      { msg, signature: sig, publicKey: kp.publicKey },
      { msg, signature: cat(new Uint8Array(32), s, sig.subarray(64)), publicKey: kp.publicKey },   // r = 0
      { msg, signature: cat(r, new Uint8Array(32), sig.subarray(64)), publicKey: kp.publicKey },   // s = 0
      { msg, signature: cat(be32(N), s, sig.subarray(64)), publicKey: kp.publicKey },              // r = n
      { msg, signature: cat(r, be32(N), sig.subarray(64)), publicKey: kp.publicKey },              // s = n
      { msg, signature: cat(r, be32(N - BigInt('0x' + Buffer.from(r).toString('hex'))), sig.subarray(64)), publicKey: kp.publicKey }, // t = 0
      { msg, signature: sig.subarray(0, 10), publicKey: kp.publicKey },
      { msg, signature: sig, publicKey: new Uint8Array(65) },
      { msg, signature: sig, publicKey: kp.publicKey.subarray(0, 64) },
      { msg, signature: sig, publicKey: Uint8Array.of(4, ...be32(2n ** 256n - 1n), ...kp.publicKey.subarray(33)) },
      { msg, signature: sig, publicKey: sm2.compressPublicKey(kp.publicKey) },
      { msg, signature: sig, publicKey: kp.publicKey, id: new Uint8Array(9000) },
      { msg: new Uint8Array(0), digest: sm2.digest(msg, kp.publicKey), signature: sig, publicKey: kp.publicKey },
      { msg, digest: new Uint8Array(31), signature: sig, publicKey: kp.publicKey },
    ];
    expect(sm2.verifyBatch(items)).toEqual([
      true, false, false, false, false, false, false, false, false, false, true, false, true, false,
    ]);
    expect(sm2.verifyBatch([])).toEqual([]);
    expect(() => sm2.verifyBatch('x' as unknown as Item[])).toThrow(TypeError);
    expect(() => sm2.verifyBatch([{ msg: 'x', signature: sig, publicKey: kp.publicKey } as unknown as Item])).toThrow(TypeError);
    expect(() => sm2.verifyBatch(new Array(sm2.SM2_BATCH_MAX + 1))).toThrow(RangeError);
  });

  it('packed layout: a message range inside the records area marks the item invalid', () => {
    const kp = sm2.generateKeyPair();
    // Item 1 signs the 65-byte public key, which is also what record 0 begins with, so
    // pointing its message at record 0 would read the same bytes — the rule must still refuse.
    const items = [
      { msg: new Uint8Array([9, 9, 9]), signature: sm2.sign(new Uint8Array([9, 9, 9]), kp.privateKey), publicKey: kp.publicKey },
      { msg: kp.publicKey, signature: sm2.sign(kp.publicKey, kp.privateKey), publicKey: kp.publicKey },
    ];
    const packed = sm2.packBatch(items);
    expect(Array.from(sm2.verifyBatchPacked(packed.slice(), 2))).toEqual([1, 1]);
    new DataView(packed.buffer, packed.byteOffset).setUint32(sm2.SM2_ITEM_BYTES + 76, 0, true);
    expect(Array.from(sm2.verifyBatchPacked(packed, 2))).toEqual([1, 0]);
  });

  it('packed layout: packBatch + verifyBatchPacked gives the same answers', () => {
    const { items, expected } = makeBatch(300, 3);
    corrupt(items, expected, 5, 4);
    const packed = sm2.packBatch(items);
    expect(packed.length).toBeGreaterThanOrEqual(items.length * sm2.SM2_ITEM_BYTES);
    const copy = packed.slice();
    const res = sm2.verifyBatchPacked(packed, items.length);
    expect(Array.from(res, (x) => x === 1)).toEqual(expected);
    expect(packed).toEqual(copy); // input untouched
    // lying offsets are rejected, not read out of bounds
    const evil = packed.slice();
    new DataView(evil.buffer).setUint32(76, 0x7fffffff, true);
    const evilCopy = evil.slice();
    expect(sm2.verifyBatchPacked(evil, items.length)[0]).toBe(0);
    expect(evil).toEqual(evilCopy);
    expect(() => sm2.verifyBatchPacked(packed.subarray(0, 100), 1)).toThrow(RangeError);
  });
});
