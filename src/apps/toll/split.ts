// The split of one trip's toll among the sections it traversed (docs/toll.md, "The split").
// Pure integer arithmetic on numbers that stay below 2^53, shared by the state machine, the
// SDK and the reports: the same inputs give the same parts everywhere.

/** Vehicle classes a rule version prices (1..16). */
export const TOLL_CLASSES = 16;
/** Sections one trip may traverse. */
export const TRIP_SECTIONS_MAX = 16;
/** Rule modes: a fee per section and class (the toll must equal their sum), or shares in basis points. */
export const MODE_FEE = 1;
export const MODE_SHARE = 2;
/** The largest share value of a section (basis points). */
export const SHARE_MAX = 10_000;
/** toll_rule actions; blacklist actions and modes (docs/protocol.md). */
export const RULE_SECTION = 1;
export const RULE_ACTIVATE = 2;
export const BLACKLIST_ADD_VEHICLE = 1;
export const BLACKLIST_REMOVE_VEHICLE = 2;
export const BLACKLIST_ADD_ACCOUNT = 3;
export const BLACKLIST_REMOVE_ACCOUNT = 4;
export const BLACKLIST_REFUSE = 1;
export const BLACKLIST_FLAG = 2;

/**
 * Shares `toll` among `n` legs by `weights` (each ≥ 1): the largest-remainder rule.
 * part_k = ⌊toll·w_k / W⌋ with W = Σ w; the fen left over (fewer than n) go one each to the
 * legs with the largest remainders toll·w_k mod W, the earlier leg first on a tie. Exact for
 * toll < 2^32 and w_k ≤ 10,000 (toll·w_k < 2^46). Σ parts = toll always.
 */
export function splitShares(toll: number, weights: ArrayLike<number>, n: number, parts: Float64Array): void {
  let total = 0;
  for (let k = 0; k < n; k++) total += weights[k];
  let given = 0;
  for (let k = 0; k < n; k++) {
    const a = toll * weights[k];
    let q = Math.floor(a / total);
    if (q * total > a) q--;                 // guard the division's rounding (a < 2^53: exact products)
    else if ((q + 1) * total <= a) q++;
    parts[k] = q;
    given += q;
  }
  let left = toll - given;
  // Remainders are recomputed exactly from the parts (no floating division is trusted for them).
  const taken = new Uint8Array(n);
  while (left > 0) {
    let best = -1;
    let bestRem = -1;
    for (let k = 0; k < n; k++) {
      if (taken[k] !== 0) continue;
      const rem = toll * weights[k] - parts[k] * total;
      if (rem > bestRem) { best = k; bestRem = rem; }
    }
    taken[best] = 1;
    parts[best] += 1;
    left--;
  }
}
