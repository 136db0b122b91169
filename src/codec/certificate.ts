// Quorum certificates (docs/consortium.md "Finality"): a block is final when a quorum of the
// consortium's node keys have signed the same 160-byte header. A certificate is the
// signature entries of those nodes (n × 96 bytes: key id ‖ r‖s, sorted by key id), so a
// light client holding only the consortium's public keys can check a header, and with an
// inclusion proof, a transaction — without trusting the node that answered.

import { toHex } from '../crypto/bytes.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { keyIdOf } from '../crypto/signer.js';
import {
  BLOCK_SIGNATURES_MAX, HEADER_BYTES, type InclusionProof, SIGNATURE_ENTRY_BYTES, signatureEntries,
  verifyInclusionProof,
} from './block.js';

const PUBLIC_KEY_BYTES = 65;

/** Who can finalise a block: the node keys, how many must sign, and keys that must be among them. */
export interface ConsortiumKeys {
  /** The node public keys (65 bytes each) that count towards the quorum. */
  members: Uint8Array[];
  /** Signatures needed; default quorumDefault(members.length) = more than two thirds. */
  quorum?: number;
  /** Public keys that must have signed (e.g. the regulator's node); default none. */
  required?: Uint8Array[];
}

export interface CertificateCheck {
  ok: boolean;
  /** Hex key ids of the members whose valid signature the certificate carries. */
  signers: string[];
  /** Why it is not a certificate of the header, when ok is false. */
  reason?: string;
}

/** More than two thirds of `n` members: ⌊2n/3⌋ + 1 (4 → 3, 3 → 3, 7 → 5). */
export function quorumDefault(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** The certificate of signature entries (each 96 bytes): sorted by key id, one per key. */
export function buildCertificate(entries: Uint8Array[]): Uint8Array {
  const byId = new Map<string, Uint8Array>();
  for (const e of entries) {
    if (!(e instanceof Uint8Array) || e.length !== SIGNATURE_ENTRY_BYTES) {
      throw new RangeError(`a signature entry is ${SIGNATURE_ENTRY_BYTES} bytes`);
    }
    byId.set(toHex(e.subarray(0, 32)), e);
  }
  if (byId.size > BLOCK_SIGNATURES_MAX) throw new RangeError(`at most ${BLOCK_SIGNATURES_MAX} signatures`);
  const ids = [...byId.keys()].sort();
  const out = new Uint8Array(ids.length * SIGNATURE_ENTRY_BYTES);
  ids.forEach((id, k) => out.set(byId.get(id)!, k * SIGNATURE_ENTRY_BYTES));
  return out;
}

function checkKeys(c: ConsortiumKeys): { quorum: number; byId: Map<string, Uint8Array>; required: string[] } {
  if (typeof c !== 'object' || c === null || !Array.isArray(c.members)) {
    throw new TypeError('consortium must be { members: Uint8Array[], quorum?, required? }');
  }
  if (c.members.length === 0 || c.members.length > BLOCK_SIGNATURES_MAX) {
    throw new RangeError(`consortium.members must hold 1..${BLOCK_SIGNATURES_MAX} public keys`);
  }
  const byId = new Map<string, Uint8Array>();
  for (const pk of c.members) {
    if (!(pk instanceof Uint8Array) || pk.length !== PUBLIC_KEY_BYTES) {
      throw new RangeError(`consortium.members: each is a ${PUBLIC_KEY_BYTES}-byte public key`);
    }
    byId.set(toHex(keyIdOf(pk)), pk);
  }
  const quorum = c.quorum ?? quorumDefault(byId.size);
  if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > byId.size) {
    throw new RangeError(`consortium.quorum must be an integer in 1..${byId.size} (the members), ` +
      `got ${String(quorum)}`);
  }
  const required = (c.required ?? []).map((pk) => {
    if (!(pk instanceof Uint8Array) || pk.length !== PUBLIC_KEY_BYTES) {
      throw new RangeError(`consortium.required: each is a ${PUBLIC_KEY_BYTES}-byte public key`);
    }
    return toHex(keyIdOf(pk));
  });
  return { quorum, byId, required };
}

/**
 * Checks that `certificate` (n × 96 bytes) holds valid SM2 signatures of `header` by at
 * least `quorum` distinct members, including every required key. An entry by a non-member,
 * a repeated key or an invalid signature makes the whole certificate invalid: a node never
 * stores one like that, so it is a forgery or corruption.
 */
export function verifyCertificate(header: Uint8Array, certificate: Uint8Array, consortium: ConsortiumKeys):
CertificateCheck {
  const { quorum, byId, required } = checkKeys(consortium);
  if (!(header instanceof Uint8Array) || header.length !== HEADER_BYTES) {
    return { ok: false, signers: [], reason: `header must be ${HEADER_BYTES} bytes` };
  }
  if (!(certificate instanceof Uint8Array) || certificate.length % SIGNATURE_ENTRY_BYTES !== 0) {
    return { ok: false, signers: [], reason: `certificate must be whole ${SIGNATURE_ENTRY_BYTES}-byte entries` };
  }
  const entries = signatureEntries(certificate);
  const ids: string[] = [];
  const items = [];
  for (const [k, e] of entries.entries()) {
    const id = toHex(e.keyId);
    const pk = byId.get(id);
    if (!pk) return { ok: false, signers: ids, reason: `entry ${k}: key ${id} is not a member` };
    if (ids.includes(id)) return { ok: false, signers: ids, reason: `entry ${k}: key ${id} signs twice` };
    ids.push(id);
    items.push({ msg: header, signature: e.signature, publicKey: pk });
  }
  // One batch call for every entry (byId is keyed by SM3 of each member key, so ids match).
  const valid = sm2Backend.verifyBatch(items);
  const bad = valid.findIndex((v) => v !== true);
  if (bad >= 0) return { ok: false, signers: ids.slice(0, bad), reason: `entry ${bad}: bad signature by ${ids[bad]}` };
  const signers = ids;
  if (signers.length < quorum) {
    return { ok: false, signers, reason: `${signers.length} of ${byId.size} members signed; the quorum is ${quorum}` };
  }
  const missing = required.filter((id) => !signers.includes(id));
  if (missing.length > 0) return { ok: false, signers, reason: `required signer(s) missing: ${missing.join(', ')}` };
  return { ok: true, signers };
}

/**
 * The light client's check of a transaction: the Merkle path to the header's tx root, and
 * the header's certificate against the consortium's keys. True only if both hold.
 */
export function verifyFinalProof(p: InclusionProof, consortium: ConsortiumKeys): CertificateCheck {
  if (!p || !(p.certificate instanceof Uint8Array)) {
    return { ok: false, signers: [], reason: 'the proof carries no certificate (the block is not final yet?)' };
  }
  if (!verifyInclusionProof(p)) return { ok: false, signers: [], reason: 'the Merkle path does not reach the header' };
  return verifyCertificate(p.header, p.certificate, consortium);
}
