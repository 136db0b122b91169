// The incremental state tree against merkleRoot / merkleProof computed from scratch.
import { describe, expect, it } from 'vitest';
import { StateTree } from '../dist/src/ledger/statetree.js';
import { merkleRoot, merkleProof } from '../dist/src/crypto/merkle.js';

describe('incremental state tree', () => {
  it('matches a from-scratch RFC 6962 tree after random appends and updates', () => {
    let seed = 5;
    const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 0x100000000; };
    const W = 32;
    const source = new Uint32Array(700 * W);
    const tree = new StateTree(128);
    let size = 0;
    const leaves = () => Array.from({ length: size }, (_, i) => new Uint8Array(source.buffer, i * 128, 128).slice());
    expect(tree.root()).toEqual(merkleRoot([]));
    for (let round = 0; round < 60; round++) {
      const grow = Math.floor(rnd() * (round < 5 ? 40 : 12));
      const dirty: number[] = [];
      for (let i = size; i < size + grow; i++) { for (let w = 0; w < W; w++) source[i * W + w] = (rnd() * 2 ** 32) >>> 0; dirty.push(i); }
      const touched = size === 0 ? 0 : Math.floor(rnd() * 10);
      for (let t = 0; t < touched; t++) {
        const i = Math.floor(rnd() * size);
        source[i * W + Math.floor(rnd() * W)] ^= 1 + Math.floor(rnd() * 255);
        dirty.push(i);
      }
      size += grow;
      tree.update(size, dirty, source);
      const all = leaves();
      expect(tree.size).toBe(size);
      expect(tree.root(), `round ${round}, size ${size}`).toEqual(merkleRoot(all));
      if (size > 0) {
        const i = Math.floor(rnd() * size);
        expect(tree.proof(i)).toEqual(merkleProof(all, i));
      }
    }
  });
});
