// What the console checks itself, with the WASM core, instead of trusting the node that
// answered (docs/protocol.md §6, docs/consortium.md): a transaction's inclusion proof, an
// anchor receipt, a block's header and signatures, a quorum certificate — against the node
// public keys the console trusts (pinned under Access, or the genesis block's node keys).
// Each check returns { ok, checks: [{ name, ok, detail }] }: ok only if every check holds.

import { verifyInclusionProof, verifyCertificate, quorumDefault } from './dist/src/client/index.js';
import { decodeHeader, headerHash, verifyHeaderSignature } from './dist/src/codec/block.js';
import { decode, ROLE_NODE } from './dist/src/codec/record.js';
import { hex, unhex } from './util.js';

/** An inclusion proof as the SDK takes it, from its JSON form (/proofs, /anchors): hex → bytes. */
export function proofFromJson(j) {
  return {
    record: unhex(j.record), index: j.index, treeSize: j.treeSize, proof: j.proof.map(unhex),
    header: unhex(j.header), signatures: unhex(j.signatures),
    certificate: j.certificate === undefined ? undefined : unhex(j.certificate),
  };
}

/**
 * The header's signatures and certificate against the trusted node keys: some trusted key
 * must have signed it; a certificate, when the node gives one, must be a quorum of them.
 */
export function headerChecks(header, signatures, certificate, trust) {
  const checks = [];
  const keys = trust?.nodeKeys ?? [];
  if (keys.length === 0) {
    checks.push({ name: 'signed by a trusted node key', ok: false, detail: 'no trusted node key (see Access)' });
    return checks;
  }
  const by = keys.filter((pk) => verifyHeaderSignature(header, signatures, pk)).map((pk) => trust.keyIds.get(pk));
  checks.push({
    name: 'signed by a trusted node key', ok: by.length > 0,
    detail: by.length > 0 ? `valid SM2 signature by ${by.join(', ')}` : 'no valid signature by a trusted node key',
  });
  if (certificate !== undefined) {
    const quorum = trust.quorum ?? quorumDefault(keys.length);
    let c;
    try {
      c = verifyCertificate(header, certificate, { members: keys, quorum });
    } catch (e) {
      c = { ok: false, signers: [], reason: String(e?.message ?? e) };
    }
    checks.push({
      name: 'quorum certificate (final)', ok: c.ok,
      detail: c.ok ? `${c.signers.length} of ${keys.length} node keys, quorum ${quorum}` : c.reason,
    });
  }
  return checks;
}

const result = (checks) => ({ ok: checks.length > 0 && checks.every((c) => c.ok), checks });

/**
 * A transaction's (or anchor's) inclusion proof, JSON as the node sends it. `expect` names
 * what was asked for: { height?, index?, id?, kind?, record? (hex) } — a valid proof of some
 * other record is not an answer.
 */
export function verifyInclusion(json, trust, expect = {}) {
  const checks = [];
  let p;
  try {
    p = proofFromJson(json);
  } catch (e) {
    return result([{ name: 'proof decodes', ok: false, detail: String(e?.message ?? e) }]);
  }
  const path = p.header.length === 160 && verifyInclusionProof({ ...p, certificate: undefined });
  checks.push({ name: 'Merkle path to the header\'s tx root', ok: path,
    detail: `record ${p.index} of ${p.treeSize}` });
  checks.push(...headerChecks(p.header, p.signatures, p.certificate, trust));
  if (p.header.length === 160) {
    const h = decodeHeader(p.header);
    if (expect.height !== undefined) {
      checks.push({ name: 'block height', ok: h.height === expect.height, detail: `${h.height}` });
    }
  }
  if (expect.index !== undefined) checks.push({ name: 'index', ok: p.index === expect.index, detail: `${p.index}` });
  if (expect.record !== undefined) {
    checks.push({ name: 'the record asked for', ok: hex(p.record) === expect.record.toLowerCase(), detail: '' });
  }
  if (expect.id !== undefined || expect.kind !== undefined) {
    const d = decode(p.record);
    const ok = (expect.id === undefined || d.id === BigInt(expect.id)) && (expect.kind === undefined ||
      d.kind === expect.kind);
    checks.push({ name: 'record id and kind', ok, detail: `${d.kind} ${d.id}` });
  }
  return result(checks);
}

/** A block (/blocks/<h>): the header bytes say what the JSON says, and a trusted node signed them. */
export function verifyBlock(json, trust, height) {
  const checks = [];
  let header;
  try {
    header = unhex(json.headerBytes);
  } catch {
    return result([{ name: 'header decodes', ok: false, detail: 'headerBytes is not hex' }]);
  }
  if (header.length !== 160) return result([{ name: 'header is 160 bytes', ok: false, detail: `${header.length}` }]);
  const h = decodeHeader(header);
  const j = json.header;
  const same = h.height === j.height && h.chainId === j.chainId && h.count === j.count && h.timeMs === j.timeMs &&
    hex(h.prevHash) === j.prevHash && hex(h.txRoot) === j.txRoot && hex(h.resultRoot) === j.resultRoot &&
    hex(h.stateRoot) === j.stateRoot && h.accounts === j.accounts && json.count === h.count &&
    json.codes.length === h.count;
  checks.push({ name: 'decoded header matches the signed bytes', ok: same, detail: '' });
  checks.push({ name: 'block height', ok: h.height === height, detail: `${h.height}` });
  checks.push(...headerChecks(header, unhex(json.signatures),
    json.certificate === undefined ? undefined : unhex(json.certificate), trust));
  return { ...result(checks), hash: hex(headerHash(header)), header: h };
}

/**
 * The node keys registered in a genesis block, from its records' inclusion proofs (JSON):
 * register_key records with the node role. What the console trusts when nothing is pinned.
 */
export function genesisNodeKeys(proofs) {
  const keys = [];
  for (const j of proofs) {
    const d = decode(unhex(j.record));
    if (d.kind === 'register_key' && (d.body.roles & ROLE_NODE) !== 0) keys.push(d.body.publicKey);
  }
  return keys;
}
