import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  merkleConsistencyProof, merkleProof, merkleRoot, toHex, verifyMerkleConsistency, verifyMerkleProof,
} from 'gmledger';
import { consistency, mth, path } from './helpers/rfc6962.js';
import { merkleRootPacked } from '../dist/src/crypto/merkle.js';

const hex = (a: Uint8Array[]) => a.map(toHex);
const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(randomBytes(i % 7 === 3 ? 100 : 32)));
const flip = (d: Uint8Array, bit = 0) => { const c = d.slice(); c[bit >> 3] ^= 1 << (bit & 7); return c; };

for (const alg of ['sm3', 'sha256'] as const) {
  describe(`Merkle (${alg}) against an independent RFC 6962 implementation`, () => {
    const all = leavesOf(300);

    it('roots for every size 0..300', () => {
      for (let n = 0; n <= 300; n++) {
        const d = all.slice(0, n);
        if (toHex(merkleRoot(d, alg)) !== toHex(mth(alg, d))) throw new Error(`root mismatch at n=${n}`);
      }
    });

    it('inclusion proofs for every size 1..300 and every index, and they verify', () => {
      for (let n = 1; n <= 300; n++) {
        const d = all.slice(0, n);
        const root = mth(alg, d);
        for (let i = 0; i < n; i++) {
          const proof = merkleProof(d, i, alg);
          if (hex(proof).join() !== hex(path(alg, i, d)).join()) throw new Error(`proof mismatch n=${n} i=${i}`);
          if (!verifyMerkleProof(d[i], i, n, proof, root, alg)) throw new Error(`proof rejected n=${n} i=${i}`);
        }
      }
    });

    it('tampered leaves, proofs, indices, sizes and roots are rejected', () => {
      for (const n of [1, 2, 3, 5, 8, 13, 64, 100, 255]) {
        const d = all.slice(0, n);
        const root = merkleRoot(d, alg);
        for (let i = 0; i < n; i += Math.max(1, n >> 3)) {
          const proof = merkleProof(d, i, alg);
          expect(verifyMerkleProof(flip(d[i]), i, n, proof, root, alg)).toBe(false);
          expect(verifyMerkleProof(d[i], i, n, proof, flip(root, 77), alg)).toBe(false);
          if (n > 1) {
            expect(verifyMerkleProof(d[i], (i + 1) % n, n, proof, root, alg)).toBe(false);
            for (let p = 0; p < proof.length; p++) {
              const bad = proof.slice(); bad[p] = flip(bad[p], 200);
              expect(verifyMerkleProof(d[i], i, n, bad, root, alg)).toBe(false);
            }
            expect(verifyMerkleProof(d[i], i, n, proof.slice(1), root, alg)).toBe(false);
            expect(verifyMerkleProof(d[i], i, n, [...proof, proof[0]], root, alg)).toBe(false);
          }
          // A leaf is not an interior node: presenting a node's preimage as a leaf fails.
          expect(verifyMerkleProof(root, 0, 1, [], root, alg)).toBe(false);
        }
      }
    });

    it('consistency proofs for every pair m ≤ n ≤ 64 and random pairs up to 300 verify', () => {
      const pairs: [number, number][] = [];
      for (let n = 1; n <= 64; n++) for (let m = 1; m <= n; m++) pairs.push([m, n]);
      for (let t = 0; t < 200; t++) {
        const n = 1 + Math.floor(Math.random() * 300);
        pairs.push([1 + Math.floor(Math.random() * n), n]);
      }
      for (const [m, n] of pairs) {
        const d = all.slice(0, n);
        const proof = merkleConsistencyProof(d, m, alg);
        if (hex(proof).join() !== hex(consistency(alg, m, d)).join()) throw new Error(`consistency mismatch m=${m} n=${n}`);
        const oldRoot = mth(alg, d.slice(0, m)), newRoot = mth(alg, d);
        if (!verifyMerkleConsistency(m, n, proof, oldRoot, newRoot, alg)) throw new Error(`rejected m=${m} n=${n}`);
        if (m < n) {
          if (verifyMerkleConsistency(m, n, proof, flip(oldRoot), newRoot, alg)) throw new Error(`bad old root accepted m=${m} n=${n}`);
          if (verifyMerkleConsistency(m, n, proof, oldRoot, flip(newRoot), alg)) throw new Error(`bad new root accepted m=${m} n=${n}`);
          for (let p = 0; p < proof.length; p++) {
            const bad = proof.slice(); bad[p] = flip(bad[p], 9);
            if (verifyMerkleConsistency(m, n, bad, oldRoot, newRoot, alg)) throw new Error(`tampered proof accepted m=${m} n=${n} p=${p}`);
          }
          // Swapping the two trees' roots must fail.
          if (verifyMerkleConsistency(m, n, proof, newRoot, oldRoot, alg)) throw new Error(`swapped roots accepted m=${m} n=${n}`);
        }
      }
    });
  });
}

describe('Merkle roots of packed fixed-size leaves', () => {
  for (const alg of ['sm3', 'sha256'] as const) {
    it(`${alg}: equal the independent RFC 6962 root for sizes 0..70 and leaf sizes 32 and 34`, () => {
      for (const leafBytes of [32, 34]) {
        for (let n = 0; n <= 70; n++) {
          const packed = new Uint8Array(randomBytes(n * leafBytes));
          const leaves = Array.from({ length: n }, (_, i) => packed.slice(i * leafBytes, (i + 1) * leafBytes));
          expect(toHex(merkleRootPacked(packed, n, leafBytes, alg))).toBe(toHex(mth(alg, leaves)));
        }
      }
      expect(() => merkleRootPacked(new Uint8Array(31), 1, 32, alg)).toThrow(RangeError);
    });
  }
});

describe('Merkle bad input', () => {
  const d = leavesOf(5);
  const root = merkleRoot(d);
  const proof = merkleProof(d, 2);
  it('index out of range is a RangeError, never a trap', () => {
    expect(() => merkleProof(d, 5)).toThrow(RangeError);
    expect(() => merkleProof(d, -1)).toThrow(RangeError);
    expect(() => merkleProof([], 0)).toThrow(RangeError);
    expect(() => merkleProof(d, 1.5)).toThrow(TypeError);
    expect(() => verifyMerkleProof(d[2], 7, 5, proof, root)).toThrow(RangeError);
    expect(() => verifyMerkleProof(d[2], 0, -1, proof, root)).toThrow(RangeError);
  });
  it('wrong types and digest lengths are specific errors', () => {
    expect(() => merkleRoot('x' as never)).toThrow(TypeError);
    expect(() => merkleRoot([d[0], 'x' as never])).toThrow(TypeError);
    expect(() => verifyMerkleProof(d[2], 2, 5, proof, root.subarray(1))).toThrow(RangeError);
    expect(() => verifyMerkleProof(d[2], 2, 5, [proof[0].subarray(0, 31), ...proof.slice(1)], root)).toThrow(RangeError);
    expect(() => verifyMerkleProof(d[2], 2, 5, new Array(65).fill(root), root)).toThrow(RangeError);
    expect(() => merkleRoot(d, 'md5' as never)).toThrow(TypeError);
    expect(() => merkleConsistencyProof(d, 0)).toThrow(RangeError);
    expect(() => merkleConsistencyProof(d, 6)).toThrow(RangeError);
    expect(() => verifyMerkleConsistency(2, 5, [], root.subarray(2), root)).toThrow(RangeError);
  });
  it('nonsense sizes verify as false', () => {
    expect(verifyMerkleConsistency(0, 5, [], root, root)).toBe(false);
    expect(verifyMerkleConsistency(5, 4, [], root, root)).toBe(false);
    expect(verifyMerkleConsistency(5, 5, [], root, root)).toBe(true);
    expect(verifyMerkleConsistency(5, 5, [root], root, root)).toBe(false);
  });
});
