import { createHash as nodeHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHash, hash, hashBatch, sha256, sm3, toHex } from 'gmledger';
import { hashPacked } from '../dist/src/crypto/hash.js';

const enc = (s: string) => new TextEncoder().encode(s);
const ref = (alg: string, d: Uint8Array) => nodeHash(alg).update(d).digest('hex');

// Deterministic PRNG so failures reproduce.
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
}

describe('SM3 standard vectors (GB/T 32905-2016 appendix A)', () => {
  it('A.1: "abc"', () => {
    expect(toHex(sm3(enc('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  });
  it('A.2: "abcd" x 16 (512 bits)', () => {
    expect(toHex(sm3(enc('abcd'.repeat(16))))).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  });
  it('empty message', () => {
    expect(toHex(sm3(new Uint8Array(0)))).toBe('1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b');
  });
});

describe('SHA-256 standard vectors (FIPS 180-4 examples)', () => {
  it('"abc"', () => {
    expect(toHex(sha256(enc('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  it('empty message', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  it('448-bit message', () => {
    expect(toHex(sha256(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))))
      .toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  it('one million "a"', () => {
    expect(toHex(sha256(new Uint8Array(1_000_000).fill(0x61))))
      .toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });
});

describe('one-shot against node:crypto', () => {
  for (const alg of ['sm3', 'sha256'] as const) {
    it(`${alg}: every length 0..4096`, () => {
      const data = new Uint8Array(randomBytes(4096));
      for (let len = 0; len <= 4096; len++) {
        const msg = data.subarray(0, len);
        const got = toHex(hash(msg, alg));
        if (got !== ref(alg, msg)) throw new Error(`${alg} mismatch at length ${len}`);
      }
    });
    it(`${alg}: respects byteOffset of views into a larger buffer`, () => {
      const big = new Uint8Array(randomBytes(1000));
      for (const [off, len] of [[1, 0], [3, 64], [17, 500], [999, 1]]) {
        const view = big.subarray(off, off + len);
        expect(toHex(hash(view, alg))).toBe(ref(alg, view));
      }
      const nb = randomBytes(300); // a Buffer is a Uint8Array view into a shared pool
      expect(toHex(hash(nb, alg))).toBe(ref(alg, nb));
    });
    it(`${alg}: inputs larger than one chunk (3 MiB + 5)`, () => {
      const msg = new Uint8Array(randomBytes(3 * 1024 * 1024 + 5));
      expect(toHex(hash(msg, alg))).toBe(ref(alg, msg));
    });
  }
});

describe('streaming', () => {
  for (const alg of ['sm3', 'sha256'] as const) {
    it(`${alg}: random chunkings equal the one-shot digest`, () => {
      const next = rng(alg === 'sm3' ? 7 : 11);
      for (let trial = 0; trial < 300; trial++) {
        const len = Math.floor(next() * 1200);
        const msg = new Uint8Array(randomBytes(len));
        const h = createHash(alg);
        let at = 0;
        while (at < len) {
          const step = Math.floor(next() * (next() < 0.5 ? 70 : 300));
          h.update(msg.subarray(at, at + step));
          at += step;
        }
        expect(toHex(h.digest())).toBe(ref(alg, msg));
      }
    });
    it(`${alg}: interleaved contexts do not disturb each other`, () => {
      const a = createHash(alg), b = createHash(alg);
      a.update(enc('hello ')); b.update(enc('other '));
      sm3(enc('unrelated one-shot in between'));
      a.update(enc('world')); b.update(enc('stream'));
      expect(toHex(a.digest())).toBe(ref(alg, enc('hello world')));
      expect(toHex(b.digest())).toBe(ref(alg, enc('other stream')));
    });
  }
  it('digest() twice and update() after digest() throw', () => {
    const h = createHash('sm3').update(enc('x'));
    h.digest();
    expect(() => h.digest()).toThrow(/finalized/);
    expect(() => h.update(enc('y'))).toThrow(/finalized/);
  });
});

describe('batch', () => {
  for (const alg of ['sm3', 'sha256'] as const) {
    it(`${alg}: one digest per message, in order`, () => {
      const msgs = Array.from({ length: 500 }, (_, i) => new Uint8Array(randomBytes(i % 150)));
      const out = hashBatch(msgs, alg);
      expect(out.length).toBe(msgs.length);
      msgs.forEach((m, i) => expect(toHex(out[i])).toBe(ref(alg, m)));
      expect(hashBatch([], alg)).toEqual([]);
    });
    it(`${alg}: packed fixed-size messages (records end to end) against node:crypto`, () => {
      for (const [count, size] of [[0, 256], [1, 256], [7, 256], [513, 256], [9, 0], [10, 33], [64, 64]]) {
        const data = new Uint8Array(randomBytes(count * size));
        const out = hashPacked(data, count, size, alg);
        expect(out.length).toBe(count * 32);
        for (let i = 0; i < count; i++) {
          if (toHex(out.subarray(i * 32, i * 32 + 32)) !== ref(alg, data.subarray(i * size, (i + 1) * size))) {
            throw new Error(`${alg} packed mismatch: ${count} × ${size}, message ${i}`);
          }
        }
      }
      expect(() => hashPacked(new Uint8Array(10), 3, 4, alg)).toThrow(RangeError);
    });
    it(`${alg}: equal-length runs (the four-lane path) for every length 0..300, and mixed groups`, () => {
      for (let len = 0; len <= 300; len++) {
        const msgs = Array.from({ length: 9 }, () => new Uint8Array(randomBytes(len)));
        if (len % 3 === 0) msgs[5] = new Uint8Array(randomBytes(len + 1)); // breaks the second group
        const out = hashBatch(msgs, alg);
        msgs.forEach((m, i) => {
          if (toHex(out[i]) !== ref(alg, m)) throw new Error(`${alg} batch mismatch, length ${len}, message ${i}`);
        });
      }
    });
  }
});

describe('bad input', () => {
  it('non-Uint8Array data is a TypeError', () => {
    for (const bad of ['abc', 42, null, undefined, [1, 2], new ArrayBuffer(4), new Uint16Array(2)]) {
      expect(() => sm3(bad as never)).toThrow(TypeError);
      expect(() => sha256(bad as never)).toThrow(TypeError);
      expect(() => createHash('sm3').update(bad as never)).toThrow(TypeError);
    }
    expect(() => hashBatch([new Uint8Array(1), 'x' as never])).toThrow(/messages\[1\]/);
  });
  it('unknown algorithm is a TypeError', () => {
    expect(() => createHash('md5' as never)).toThrow(TypeError);
    expect(() => hash(new Uint8Array(1), 'sha1' as never)).toThrow(TypeError);
  });
});

describe('memory stays flat', () => {
  it('hashing 256 MiB in 1 MiB calls does not grow WASM memory past the first call', async () => {
    const { core } = await import('../dist/src/crypto/wasm.js');
    const msg = new Uint8Array(1 << 20);
    sm3(msg);
    const before = core.memory.buffer.byteLength;
    const h = createHash('sm3');
    for (let i = 0; i < 256; i++) { sm3(msg); h.update(msg); }
    h.digest();
    expect(core.memory.buffer.byteLength).toBe(before);
    // Same instance as the one 'gmledger' uses: a larger batch does grow it.
    hashBatch([new Uint8Array(before)]);
    expect(core.memory.buffer.byteLength).toBeGreaterThan(before);
  });
});
