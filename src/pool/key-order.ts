// Batch order by signer key. The hinted batch equation (assembly/sm2/batch.ts) pays, per
// distinct key in a chunk of up to 512 items, for the key's table, its Z_A and a full
// 256-bit term of the multi-scalar multiplication — about as much as one verification.
// Records arrive round robin over their signers (64 keys in a 256-record frame: 4 each), so
// cutting a batch by position hands every part every key: two parts of 128 cost each key
// twice. Grouping by key first keeps each key's items together, so contiguous parts (and the
// core's 512-item chunks) see as few distinct keys as possible. Only the order changes:
// every item is still verified on its own terms, and answers go back to their positions.

/** Anything with a public key (VerifyBatchItem, VerifyItem). */
interface Keyed { publicKey: Uint8Array }

/**
 * A permutation of [0, items.length) that lists items grouped by public key (groups in
 * order of first appearance, items in order within a group), or undefined if the items
 * are already grouped (then the identity order is as good). Keys are told apart by a few
 * bytes of x: two keys that collide share a group, which costs nothing but locality.
 */
export function keyOrder(items: readonly Keyed[]): Uint32Array | undefined {
  const n = items.length;
  if (n < 2) return undefined;
  const groupOf = new Int32Array(n);
  const ids = new Map<number, number>();
  let groups = 0;
  let sorted = true;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const it = items[i] as Keyed | null | undefined;
    const pk = it !== null && typeof it === 'object' ? it.publicKey : undefined;
    // Anything malformed is the packer's to report, at its own index: keep the order.
    if (!(pk instanceof Uint8Array) || pk.length < 7) return undefined;
    // 6 bytes of x (public keys are 04‖x‖y or 02/03‖x; x is uniformly random).
    const h = pk[1] * 2 ** 40 + pk[2] * 2 ** 32 + pk[3] * 2 ** 24 + pk[4] * 2 ** 16 + pk[5] * 2 ** 8 + pk[6];
    let g = ids.get(h);
    if (g === undefined) { g = groups++; ids.set(h, g); }
    else if (g !== last) sorted = false; // a key seen again after another one
    groupOf[i] = g;
    last = g;
  }
  if (sorted || groups === n) return undefined;
  // counting sort by group: stable
  const start = new Uint32Array(groups + 1);
  for (let i = 0; i < n; i++) start[groupOf[i] + 1]++;
  for (let g = 0; g < groups; g++) start[g + 1] += start[g];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[start[groupOf[i]]++] = i;
  return order;
}
