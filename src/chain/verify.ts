// Offline chain verification (`gmledger verify`): replays every block from genesis into a
// fresh state machine and checks header links, every header and record signature, the
// tx, result and state roots, the stored result codes, per-ledger Σ debits = Σ credits,
// and finally that the stored account entries equal the recomputed ones. Stops at the
// first bad block and names it.

import { join } from 'node:path';
import { RocksDb } from '../../native/rocksdb.js';
import {
  FLAG_LINKED, KIND_VOUCH, OFF_FLAGS, OFF_KIND, OFF_SIGNER, RECORD_BYTES, ROLE_NODE, ROLE_OPERATOR, STRUCT_OK, u16,
} from '../codec/record.js';
import { resultName } from '../codec/results.js';
import { isVouchedForm, scanVouchGroups } from '../codec/vouch.js';
import { checkBatchStructure } from '../codec/validate.js';
import { equalBytes, toHex } from '../crypto/bytes.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import {
  SIGNATURE_ENTRY_BYTES, type StoredBlock, decodeBlock, decodeHeader, encodeHeader, headerHash, resultRoot,
  signatureEntries, txHashes, txRoot, verifyHeaderSignature,
} from '../codec/block.js';
import {
  META_TIP, META_CHECKPOINT, decodeCheckpoint, P_BLOCK, P_TRANSFER, P_TRANSFER_UPDATE, decodeTip, readBe32,
  P_HALT, P_KEY, P_OP, encodeKey, encodeOp, P_CERTIFICATE, heightKey,
} from '../store/store.js';
import { verifyCertificate } from '../codec/certificate.js';
import { LedgerState } from '../ledger/state.js';
import {
  A_LEDGER, A_DEBITS_PENDING, A_DEBITS_POSTED, A_CREDITS_PENDING, A_CREDITS_POSTED, ENTRY_BYTES, ENTRY_WORDS, wordsU128,
} from '../codec/entries.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type RecordVerifier, sm2RecordVerifier } from '../ledger/verify.js';
import { type ChainConfig, readChainConfig } from '../ledger/config.js';
import { applyBlockNow } from '../ledger/apply.js';
import { InBatchKeys, signerKey } from '../ledger/keys.js';
import { readStoredAccounts } from '../ledger/restore.js';

export interface VerifyReport {
  ok: boolean;
  blocks: number;
  records: number;
  height: number;
  /** First bad block height (or -1 when the problem is not in a block), and why. */
  badHeight?: number;
  error?: string;
  stateRoot?: string;
  /** A consortium's chain: blocks whose stored quorum certificate was checked, and the highest. */
  certified?: number;
  finalHeight?: number;
}

export interface VerifyOptions {
  verifier?: RecordVerifier;
  /** Called after each verified block, with its height. */
  onProgress?: (height: number) => void;
}

class Bad extends Error {
  constructor(readonly height: number, message: string) { super(message); }
}

export async function verifyChain(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  const report: VerifyReport = { ok: false, blocks: 0, records: 0, height: -1 };
  try {
    let config: ChainConfig;
    try { config = await readChainConfig(db, dir); } catch (e) { throw new Bad(-1, (e as Error).message); }
    const state = new LedgerState({ alg: config.alg, validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
    const run: Run = {
      db, config, state, verifier: options.verifier ?? sm2RecordVerifier(), prevHash: new Uint8Array(DIGEST_BYTES),
      prevTime: 0,
    };
    // Stored state entries are as of the checkpoint block; compare them when the replay is there.
    const ckRaw = await db.get(META_CHECKPOINT);
    const checkpoint = ckRaw ? decodeCheckpoint(ckRaw).height : -1;
    if (checkpoint < 0) await compareStored(db, state);
    let expect = 0;
    for await (const [k, v] of db.range({ gte: new Uint8Array([P_BLOCK]), lt: new Uint8Array([P_BLOCK + 1]) })) {
      const height = readBe32(k, 1) * 0x100000000 + readBe32(k, 5);
      if (height !== expect) throw new Bad(expect, `block ${expect} is missing (next stored block is ${height})`);
      report.records += await verifyBlock(run, height, v, report);
      report.blocks++;
      report.height = height;
      expect++;
      if (height === checkpoint) {
        await compareStored(db, state).catch((e: unknown) => {
          throw e instanceof Bad ? new Bad(height, `checkpoint: ${e.message}`) : e;
        });
      }
      options.onProgress?.(height);
    }
    await verifyTip(run, report, checkpoint);
    report.ok = true;
    report.stateRoot = toHex(state.tree.root());
    return report;
  } catch (err) {
    if (err instanceof Bad) {
      report.badHeight = err.height;
      report.error = err.height >= 0 ? `block ${err.height}: ${err.message}` : err.message;
      return report;
    }
    throw err;
  } finally {
    await db.close();
  }
}

/** The replay so far: the state after the last verified block, and that block's hash and time. */
interface Run {
  db: RocksDb;
  config: ChainConfig;
  state: LedgerState;
  verifier: RecordVerifier;
  prevHash: Uint8Array;
  prevTime: number;
}

/** Verifies block `height` (its stored value `v`) and applies it; returns its record count. */
async function verifyBlock(run: Run, height: number, v: Uint8Array, report: VerifyReport): Promise<number> {
  const { config, state } = run;
  let b: StoredBlock;
  try { b = decodeBlock(v); } catch (e) { throw new Bad(height, (e as Error).message); }
  const h = decodeHeader(b.header);
  if (h.height !== height) throw new Bad(height, `header says height ${h.height}`);
  if (h.chainId !== config.chainId) throw new Bad(height, 'wrong chain id');
  if (h.alg !== config.alg) throw new Bad(height, 'wrong hash algorithm');
  if (!equalBytes(h.prevHash, run.prevHash)) throw new Bad(height, 'previous header hash does not link');
  if (h.timeMs < run.prevTime) throw new Bad(height, 'block time goes backwards');
  // A consortium cuts a block from the stream even when every batch in it was refused.
  if (h.count === 0 && !config.consortium) throw new Bad(height, 'empty block');
  if (b.count > 0 && (u16(b.records, (b.count - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) {
    throw new Bad(height, 'block ends inside a linked chain');
  }
  if (config.consortium) await checkCertificate(run, height, b, report);
  const { hashes, laterGateways } = await checkRecords(run, height, b);
  // Replay, through the one apply path the live ledger uses.
  const { codes, stateRoot } = applyBlockNow(state, { height, timeMs: h.timeMs, records: b.records, count: b.count });
  for (const at of laterGateways) {
    const k = state.keyById(b.records, at * RECORD_BYTES + OFF_SIGNER);
    if (!k || (k.roles & ROLE_OPERATOR) === 0) {
      throw new Bad(height, `record ${at}: vouch by a key without the operator role`);
    }
  }
  for (let i = 0; i < b.count; i++) {
    if (codes[i] !== b.codes[i]) {
      throw new Bad(height, `record ${i}: stored result ${b.codes[i]}, replay gives ${codes[i]}`);
    }
  }
  if (!equalBytes(txRoot(hashes, config.alg), h.txRoot)) throw new Bad(height, 'tx root mismatch');
  if (!equalBytes(resultRoot(hashes, codes, config.alg), h.resultRoot)) throw new Bad(height, 'result root mismatch');
  if (!equalBytes(stateRoot, h.stateRoot)) throw new Bad(height, 'state root mismatch');
  if (h.accounts !== state.accounts.count) throw new Bad(height, 'account count mismatch');
  // The whole header, rebuilt from the replay, must be byte-identical.
  const rebuilt = encodeHeader({
    alg: config.alg, chainId: config.chainId, height, prevHash: run.prevHash, txRoot: h.txRoot,
    resultRoot: h.resultRoot, stateRoot, timeMs: h.timeMs, count: b.count, accounts: state.accounts.count,
  });
  if (!equalBytes(rebuilt, b.header)) throw new Bad(height, 'header bytes differ from the header rebuilt by replay');
  checkSignatures(state, height, b);
  run.prevHash = headerHash(b.header);
  run.prevTime = h.timeMs;
  return b.count;
}

/**
 * A consortium block's stored certificate, if any: a quorum of the node keys registered
 * before the block (the state before it is applied) signed its header, required keys included.
 */
async function checkCertificate(run: Run, height: number, b: StoredBlock, report: VerifyReport): Promise<void> {
  const cert = await run.db.get(heightKey(P_CERTIFICATE, height));
  if (!cert) return;
  const nodes = run.state.keys.filter((k) => (k.roles & ROLE_NODE) !== 0);
  const required = (run.config.consortium!.required ?? []).map((id) => {
    const k = nodes.find((n) => toHex(n.keyId) === id);
    if (!k) throw new Bad(height, `certificate: required node ${id} is not a node key of the chain`);
    return k.publicKey;
  });
  let check;
  try {
    check = verifyCertificate(b.header, cert, {
      members: nodes.map((k) => k.publicKey), quorum: run.config.consortium!.quorum, required,
    });
  } catch (e) {
    throw new Bad(height, `certificate: ${(e as Error).message}`);
  }
  if (!check.ok) throw new Bad(height, `certificate: ${check.reason ?? 'invalid'}`);
  report.certified = (report.certified ?? 0) + 1;
  report.finalHeight = height;
}

/**
 * Every signature beside the header: at least one; each by a distinct key that holds the
 * node role in the state after the block, and valid over the header bytes.
 */
function checkSignatures(state: LedgerState, height: number, b: StoredBlock): void {
  const entries = signatureEntries(b.signatures);
  if (entries.length === 0) throw new Bad(height, 'block carries no signature');
  const seen = new Set<string>();
  for (const [k, e] of entries.entries()) {
    const id = toHex(e.keyId);
    if (seen.has(id)) throw new Bad(height, `signature ${k}: the same key signs twice`);
    seen.add(id);
    const node = state.keyById(e.keyId);
    if (!node || (node.roles & ROLE_NODE) === 0) {
      throw new Bad(height, `signature ${k}: by a key without the node role`);
    }
    const signature = b.signatures.subarray(k * SIGNATURE_ENTRY_BYTES, (k + 1) * SIGNATURE_ENTRY_BYTES);
    if (!verifyHeaderSignature(b.header, signature, node.publicKey)) {
      throw new Bad(height, `signature ${k}: bad header signature`);
    }
  }
}

/**
 * The block's records as admission saw them: structure, signer keys (registered before the
 * block, else registered earlier in it), vouch groups, signatures. Returns the tx hashes
 * and the vouches whose gateway was registered inside this block (their role is checked
 * against the state after the block).
 */
async function checkRecords(
  run: Run, height: number, b: StoredBlock,
): Promise<{ hashes: Uint8Array[]; laterGateways: number[] }> {
  const { config, state } = run;
  const n = b.count;
  const structure = checkBatchStructure(b.records, n, config.chainId);
  // A vouch's signer is its gateway; records in vouched form have no signature of their own.
  const keys: (Uint8Array | null)[] = new Array(n).fill(null);
  const inBlock = new InBatchKeys(b.records, n);
  for (let i = 0; i < n; i++) {
    const o = i * RECORD_BYTES;
    inBlock.advanceTo(i);
    if (structure[i] !== STRUCT_OK && b.records[o + OFF_KIND] !== KIND_VOUCH) continue;
    keys[i] = signerKey(state, inBlock, b.records, o) ?? null;
  }
  const hashes = txHashes(b.records, n, config.alg); // tx-root leaves; also what vouch digests are built on
  const vouchCodes = new Uint16Array(n);
  const laterGateways: number[] = [];
  const groups = scanVouchGroups(b.records, n, config.chainId, config.alg, structure, (rec, o) => {
    const known = state.keyById(rec, o);
    if (known) return known;
    const at = (o - OFF_SIGNER) / RECORD_BYTES;
    const pk = keys[at];
    if (pk === null) return undefined;
    laterGateways.push(at);
    return { publicKey: pk, roles: ROLE_OPERATOR };
  }, vouchCodes, true, hashes);
  for (let i = 0; i < n; i++) {
    if (vouchCodes[i] !== 0) throw new Bad(height, `record ${i}: vouch group refused (${resultName(vouchCodes[i])})`);
  }
  const vouched = new Uint8Array(n); // 1: covered by a vouch group (no signature of its own)
  for (const g of groups) for (let j = g.at + 1; j <= g.at + g.count; j++) vouched[j] = 1;
  for (let i = 0; i < n; i++) {
    if (vouched[i] === 1) continue;
    const o = i * RECORD_BYTES;
    if (structure[i] !== STRUCT_OK && b.records[o + OFF_KIND] !== KIND_VOUCH) {
      throw new Bad(height, isVouchedForm(b.records, o)
        ? `record ${i}: vouched record outside a vouch group`
        : `record ${i} is malformed (structure code ${structure[i]})`);
    }
    if (keys[i] === null) throw new Bad(height, `record ${i}: signer key unknown`);
  }
  const sigOk = await run.verifier.verifyRecords(b.records, n, keys);
  for (let i = 0; i < n; i++) {
    if (vouched[i] === 0 && sigOk[i] !== 1) {
      throw new Bad(height, b.records[i * RECORD_BYTES + OFF_KIND] === KIND_VOUCH
        ? `record ${i}: bad vouch signature`
        : `record ${i}: bad signature`);
    }
  }
  return { hashes, laterGateways };
}

/** After the last block: the tip record, the checkpoint's height, Σ debits = Σ credits per ledger. */
async function verifyTip(run: Run, report: VerifyReport, checkpoint: number): Promise<void> {
  const tipRaw = await run.db.get(META_TIP);
  if (checkpoint > report.height) throw new Bad(-1, `checkpoint ${checkpoint} is past the last block ${report.height}`);
  if (report.blocks > 0) {
    if (!tipRaw) throw new Bad(-1, 'tip record missing');
    const tip = decodeTip(tipRaw);
    if (tip.height !== report.height || !equalBytes(tip.hash, run.prevHash)) {
      throw new Bad(tip.height, 'tip does not match the last block');
    }
  }
  for (const [ledger, s] of ledgerSums(run.state)) {
    if (s.dp !== s.cp || s.dpo !== s.cpo) throw new Bad(-1, `ledger ${ledger}: Σ debits ≠ Σ credits`);
  }
}

/** Compares the stored state entries (as of the checkpoint) with the replayed state. */
async function compareStored(db: RocksDb, state: LedgerState): Promise<void> {
  // Accounts as a start loads them (restore.ts: the image and the log, or one key each in a format 1 store).
  let accounts: { count: number; bytes: Uint8Array };
  try {
    accounts = await readStoredAccounts(db);
  } catch (e) {
    throw new Bad(-1, `stored account entries: ${(e as Error).message}`);
  }
  if (accounts.count !== state.accounts.count) {
    throw new Bad(-1, `store holds ${accounts.count} accounts, the records create ${state.accounts.count}`);
  }
  for (let idx = 0; idx < accounts.count; idx++) {
    const at = idx * ENTRY_BYTES;
    const replayed = state.accounts.bytes.subarray(at, at + ENTRY_BYTES);
    if (!equalBytes(accounts.bytes.subarray(at, at + ENTRY_BYTES), replayed)) {
      throw new Bad(-1, `stored account entry ${idx} differs from the balances recomputed from the records`);
    }
  }
  // Stored transfer entries ('P' chunks, then 'Q' overrides) against the replayed ones.
  const stored = new Uint8Array(state.transfers.count * ENTRY_BYTES);
  let t = 0;
  for await (const [k, v] of db.range({ gte: new Uint8Array([P_TRANSFER]), lt: new Uint8Array([P_TRANSFER + 1]) })) {
    if (readBe32(k, 1) !== t || t * ENTRY_BYTES + v.length > stored.length || v.length % ENTRY_BYTES !== 0) {
      throw new Bad(-1, `stored transfer entries at ${readBe32(k, 1)} are unexpected`);
    }
    stored.set(v, t * ENTRY_BYTES);
    t += v.length / ENTRY_BYTES;
  }
  if (t !== state.transfers.count) {
    throw new Bad(-1, `store holds ${t} transfers, the records create ${state.transfers.count}`);
  }
  await compareStoredRegistry(db, state);
  const updates = { gte: new Uint8Array([P_TRANSFER_UPDATE]), lt: new Uint8Array([P_TRANSFER_UPDATE + 1]) };
  for await (const [k, v] of db.range(updates)) {
    const idx = readBe32(k, 1);
    if (idx >= t || v.length !== ENTRY_BYTES) throw new Bad(-1, `stored transfer update ${idx} is unexpected`);
    stored.set(v, idx * ENTRY_BYTES);
  }
  for (let x = 0; x < t; x++) {
    const at = x * ENTRY_BYTES;
    if (!equalBytes(stored.subarray(at, at + ENTRY_BYTES), state.transfers.bytes.subarray(at, at + ENTRY_BYTES))) {
      throw new Bad(-1, `stored transfer entry ${x} differs from the one recomputed from the records`);
    }
  }
}

/**
 * Compares the stored keys, request ids (ops) and halts with the replayed ones. The state
 * root covers accounts only, so without this a changed key entry (a participant given the
 * admin role, say) or a forged halt would load on the next start unnoticed.
 */
async function compareStoredRegistry(db: RocksDb, state: LedgerState): Promise<void> {
  let i = 0;
  for await (const [k, v] of db.range({ gte: new Uint8Array([P_KEY]), lt: new Uint8Array([P_KEY + 1]) })) {
    const idx = readBe32(k, 1);
    if (idx !== i || idx >= state.keys.length) throw new Bad(-1, `stored key entry ${idx} is unexpected`);
    if (!equalBytes(v, encodeKey(state.keys[idx]))) {
      throw new Bad(-1, `stored key entry ${idx} differs from the one the records register`);
    }
    i++;
  }
  if (i !== state.keys.length) throw new Bad(-1, `store holds ${i} keys, the records register ${state.keys.length}`);
  let ops = 0;
  for await (const [k, v] of db.range({ gte: new Uint8Array([P_OP]), lt: new Uint8Array([P_OP + 1]) })) {
    const op = state.ops.get(String.fromCharCode(...k.subarray(1, 17)));
    if (op === undefined || !equalBytes(v, encodeOp(op))) {
      throw new Bad(-1, `stored request ${toHex(k.subarray(1, 17))} differs from the records`);
    }
    ops++;
  }
  if (ops !== state.ops.size) throw new Bad(-1, `store holds ${ops} requests, the records make ${state.ops.size}`);
  const halts = new Set<number>();
  for await (const [k] of db.range({ gte: new Uint8Array([P_HALT]), lt: new Uint8Array([P_HALT + 1]) })) {
    halts.add(readBe32(k, 1));
  }
  if (halts.size !== state.halted.size || [...halts].some((l) => !state.halted.has(l))) {
    throw new Bad(-1,
      `stored halted ledgers [${[...halts].join(', ')}] differ from the records' [${[...state.halted].join(', ')}]`);
  }
}

/** Per-ledger sums of debits and credits, pending and posted. */
export function ledgerSums(state: LedgerState): Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }> {
  const out = new Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }>();
  const w = state.accounts.words;
  for (let i = 0; i < state.accounts.count; i++) {
    const e = i * ENTRY_WORDS;
    const l = w[e + A_LEDGER];
    const s = out.get(l) ?? { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n };
    s.dp += wordsU128(w, e + A_DEBITS_PENDING); s.dpo += wordsU128(w, e + A_DEBITS_POSTED);
    s.cp += wordsU128(w, e + A_CREDITS_PENDING); s.cpo += wordsU128(w, e + A_CREDITS_POSTED);
    out.set(l, s);
  }
  return out;
}
