// Multilateral netting of a clearing cycle and gridlock resolution (docs/clearing.md): pure
// functions of the cycle's obligations and its members' available funds, so the state
// machine, the tests' independent model and the benchmark all run exactly this.

import {
  A_CREDITS_POSTED, A_DEBITS_PENDING, A_DEBITS_POSTED, ENTRY_WORDS, T_AMOUNT, wordsU128,
} from '../../codec/entries.js';
import type { Cycle } from './state.js';

function bigOfLimbs(l: Float64Array, at: number): bigint {
  // Each limb is an exact sum of 32-bit values below 2^53 (CYCLE_OBLIGATIONS_MAX).
  return BigInt(l[at]) + (BigInt(l[at + 1]) << 32n) + (BigInt(l[at + 2]) << 64n) + (BigInt(l[at + 3]) << 96n);
}

export interface NetResult {
  gross: bigint;
  net: bigint;
  positions: bigint[];
  removed: Uint8Array;
  removedCount: number;
  removedGross: bigint;
  rounds: number;
}

/** Available funds of an account: credits posted − debits posted − debits pending (may be negative). */
export function available(aw: Uint32Array, a: number): bigint {
  const e = a * ENTRY_WORDS;
  return wordsU128(aw, e + A_CREDITS_POSTED) - wordsU128(aw, e + A_DEBITS_POSTED) - wordsU128(aw, e + A_DEBITS_PENDING);
}

/**
 * Multilateral net positions of `cycle`, with gridlock resolution: while a net debtor's
 * debit exceeds what it has available (or its cap), the debtor with the largest shortfall
 * (lowest member slot on a tie) has its obligations removed, latest submitted first, until
 * it is covered; then every position is recomputed and the next shortfall taken. This is
 * the sequential-removal heuristic of Bech and Soramäki (2001), "Gridlock resolution in
 * interbank payment systems" (as in TARGET2's partial optimisation); it terminates because
 * every round removes at least one obligation or covers a debtor, and never splits one.
 */
export function netCycle(cycle: Cycle, tw: Uint32Array, availableOf: (slot: number) => bigint): NetResult {
  const m = cycle.members.length;
  const n = cycle.n;
  const { out, inn, gross } = grossSums(cycle, tw);
  const avail: bigint[] = [];
  for (let s = 0; s < m; s++) avail.push(availableOf(s));
  const shortfall = (s: number): bigint => {
    const need = out[s] - inn[s];
    if (need <= 0n) return 0n;
    let short = need - avail[s];
    const cap = cycle.caps[s];
    if (cap !== undefined && need - cap > short) short = need - cap;
    return short > 0n ? short : 0n;
  };
  const { obl, from, to } = cycle;
  const removed = new Uint8Array(n);
  let removedCount = 0;
  let removedGross = 0n;
  let rounds = 0;
  // Per member, where the backward walk over its obligations (latest first) has got to:
  // each walk only moves back, so all rounds together read the obligations at most once per
  // member that falls short.
  const cursor = new Int32Array(m).fill(n - 1);
  for (;;) {
    let worst = -1;
    let worstShort = 0n;
    for (let s = 0; s < m; s++) {
      const sh = shortfall(s);
      if (sh > worstShort) { worst = s; worstShort = sh; }
    }
    if (worst < 0) break;
    rounds++;
    let k = cursor[worst];
    let short = worstShort;
    while (k >= 0 && short > 0n) {
      if (from[k] === worst) {
        const a = wordsU128(tw, obl[k] * ENTRY_WORDS + T_AMOUNT);
        removed[k] = 1;
        removedCount++;
        removedGross += a;
        out[worst] -= a;
        inn[to[k]] -= a;
        short = shortfall(worst);
      }
      k--;
    }
    cursor[worst] = k;
  }
  const positions: bigint[] = [];
  let net = 0n;
  let sum = 0n;
  for (let s = 0; s < m; s++) {
    const p = inn[s] - out[s];
    positions.push(p);
    if (p < 0n) net -= p;
    sum += p;
  }
  if (sum !== 0n) throw new Error('netting: the net positions do not sum to zero');
  return { gross: gross - removedGross, net, positions, removed, removedCount, removedGross, rounds };
}

/** Each member's gross outgoing and incoming sums, and the cycle's gross, in one pass over the obligations. */
function grossSums(cycle: Cycle, tw: Uint32Array): { out: bigint[]; inn: bigint[]; gross: bigint } {
  const m = cycle.members.length;
  const n = cycle.n;
  const outL = new Float64Array(m * 4);
  const inL = new Float64Array(m * 4);
  const { obl, from, to } = cycle;
  for (let k = 0; k < n; k++) {
    const e = obl[k] * ENTRY_WORDS + T_AMOUNT;
    const f = from[k] * 4;
    const t = to[k] * 4;
    const a0 = tw[e], a1 = tw[e + 1], a2 = tw[e + 2], a3 = tw[e + 3];
    outL[f] += a0; outL[f + 1] += a1; outL[f + 2] += a2; outL[f + 3] += a3;
    inL[t] += a0; inL[t + 1] += a1; inL[t + 2] += a2; inL[t + 3] += a3;
  }
  const out: bigint[] = [];
  const inn: bigint[] = [];
  let gross = 0n;
  for (let s = 0; s < m; s++) {
    out.push(bigOfLimbs(outL, s * 4));
    inn.push(bigOfLimbs(inL, s * 4));
    gross += out[s];
  }
  return { out, inn, gross };
}

