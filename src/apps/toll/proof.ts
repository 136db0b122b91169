// Building the two-tier cross-chain proof of a trip (docs/toll.md, "Two tiers") from a
// provincial ledger (or anything with its reader's proveTransaction / getBlock) and the
// national one (anchorReceipt). The proof is checked by verifyTollCrossProof (sdk.ts).

import { H_ALG, decodeHeader, type InclusionProof } from '../../codec/block.js';
import { hash } from '../../crypto/hash.js';
import { merkleProof } from '../../crypto/merkle.js';
import { type TollCrossProof, tollAnchorId } from './sdk.js';

/** What a block read gives (the ledger's BlockView has these). */
export interface ProvincialBlock { headerBytes: Uint8Array; records: Uint8Array[]; codes: number[] }
export interface ProvincialSource {
  proveTransaction(where: bigint): Promise<InclusionProof | undefined>;
  getBlock(height: number): Promise<ProvincialBlock | undefined>;
}
export interface NationalSource {
  anchorReceipt(anchorId: bigint): Promise<{ proof: InclusionProof } | undefined>;
}

/**
 * The cross-chain proof of trip `tripId`: its inclusion and result in the provincial block,
 * the provincial headers up to block `anchoredHeight` (≥ the trip's block), and the
 * national anchor of that header. Undefined if the trip, a block or the anchor is missing.
 */
export async function buildTollCrossProof(provincial: ProvincialSource, national: NationalSource, tripId: bigint,
  anchoredHeight: number): Promise<TollCrossProof | undefined> {
  const trip = await provincial.proveTransaction(tripId);
  if (trip === undefined) return undefined;
  const height = decodeHeader(trip.header).height;
  if (anchoredHeight < height) return undefined;
  const block = await provincial.getBlock(height);
  if (block === undefined) return undefined;
  const alg = trip.header[H_ALG] === 1 ? 'sha256' : 'sm3';
  const leaves = block.records.map((r, i) => {
    const leaf = new Uint8Array(34);
    leaf.set(hash(r, alg));
    leaf[32] = block.codes[i] & 0xff;
    leaf[33] = block.codes[i] >>> 8;
    return leaf;
  });
  const links: Uint8Array[] = [];
  let last = trip.header;
  for (let h = height + 1; h <= anchoredHeight; h++) {
    const b = await provincial.getBlock(h);
    if (b === undefined) return undefined;
    links.push(b.headerBytes);
    last = b.headerBytes;
  }
  const receipt = await national.anchorReceipt(tollAnchorId(last));
  if (receipt === undefined) return undefined;
  return {
    trip, result: { code: block.codes[trip.index], proof: merkleProof(leaves, trip.index, alg) }, links,
    anchor: receipt.proof,
  };
}
