// An independent, plain-TypeScript RFC 6962 implementation over node:crypto, written
// straight from the RFC's recursive definitions, used as the oracle for the WASM core.

import { createHash } from 'node:crypto';

export type Alg = 'sm3' | 'sha256';

function h(alg: Alg, ...parts: Uint8Array[]): Uint8Array {
  const hash = createHash(alg);
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function k(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// Subtree heads memoised by (first leaf object, length, alg): callers pass slices of fixed
// leaf arrays, so that pair names one subtree, and the oracle stays fast over many proofs.
const memo = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

export function mth(alg: Alg, d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return h(alg);
  let byLength = memo.get(d[0]);
  if (!byLength) memo.set(d[0], (byLength = new Map()));
  const key = `${alg}:${d.length}`;
  let value = byLength.get(key);
  if (!value) byLength.set(key, (value = mthUncached(alg, d)));
  return value;
}

function mthUncached(alg: Alg, d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return h(alg, LEAF, d[0]);
  const s = k(d.length);
  return h(alg, NODE, mth(alg, d.slice(0, s)), mth(alg, d.slice(s)));
}

export function path(alg: Alg, m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  if (m < s) return [...path(alg, m, d.slice(0, s)), mth(alg, d.slice(s))];
  return [...path(alg, m - s, d.slice(s)), mth(alg, d.slice(0, s))];
}

function subproof(alg: Alg, m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(alg, d)];
  const s = k(n);
  if (m <= s) return [...subproof(alg, m, d.slice(0, s), b), mth(alg, d.slice(s))];
  return [...subproof(alg, m - s, d.slice(s), false), mth(alg, d.slice(0, s))];
}

export function consistency(alg: Alg, m: number, d: Uint8Array[]): Uint8Array[] {
  return subproof(alg, m, d, true);
}
