// Offline chain verification (`gmledger verify`): replays every block from genesis into a
// fresh state machine and checks header links, every header and record signature, the
// tx, result and state roots, the stored result codes, per-ledger Σ debits = Σ credits,
// and finally that the stored account entries equal the recomputed ones. Stops at the
// first bad block and names it.

import { join } from 'node:path';
import { RocksDb } from '../../native/rocksdb.js';
import { FLAG_LINKED, KIND_VOUCH, OFF_FLAGS, OFF_KIND, OFF_SIGNER, RECORD_BYTES, ROLE_NODE, ROLE_OPERATOR, STRUCT_OK, u16 } from '../codec/record.js';
import { resultName } from '../codec/results.js';
import { isVouchedForm, scanVouchGroups } from '../codec/vouch.js';
import { checkBatchStructure } from '../codec/validate.js';
import { equalBytes, toHex } from '../crypto/bytes.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { HEADER_BYTES, HEADER_SIGNED_BYTES, decodeHeader, encodeHeader, headerHash, resultRoot, txHashes, txRoot, verifyHeaderSignature } from '../codec/block.js';
import {
  META_CONFIG, META_TIP, META_CHECKPOINT, decodeCheckpoint, P_BLOCK, P_TRANSFER, P_TRANSFER_UPDATE, decodeBlock, decodeTip, readBe32,
  P_HALT, P_KEY, P_OP, encodeKey, encodeOp,
} from '../store/store.js';
import { LedgerState, A_LEDGER } from '../ledger/state.js';
import { ENTRY_BYTES, ENTRY_WORDS } from '../ledger/tables.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type RecordVerifier, sm2RecordVerifier } from '../ledger/verify.js';
import type { ChainConfig } from '../ledger/ledger.js';
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
}

export interface VerifyOptions {
  verifier?: RecordVerifier;
  /** Called every `progressEvery` blocks. */
  onProgress?: (height: number) => void;
}

class Bad extends Error {
  constructor(readonly height: number, message: string) { super(message); }
}

export async function verifyChain(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const db = await RocksDb.open(join(dir, 'db'), { createIfMissing: false, readOnly: true });
  const report: VerifyReport = { ok: false, blocks: 0, records: 0, height: -1 };
  try {
    const raw = await db.get(META_CONFIG);
    if (!raw) throw new Bad(-1, 'no chain config');
    const config = JSON.parse(Buffer.from(raw).toString('utf8')) as ChainConfig;
    const alg = config.alg;
    const verifier = options.verifier ?? sm2RecordVerifier();
    const state = new LedgerState({ alg, validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
    // Stored state entries are as of the checkpoint block; compare them when the replay is there.
    const ckRaw = await db.get(META_CHECKPOINT);
    const checkpoint = ckRaw ? decodeCheckpoint(ckRaw).height : -1;
    if (checkpoint < 0) await compareStored(db, state);
    let prevHash: Uint8Array = new Uint8Array(DIGEST_BYTES);
    let prevTime = 0;
    let expect = 0;
    for await (const [k, v] of db.range({ gte: new Uint8Array([P_BLOCK]), lt: new Uint8Array([P_BLOCK + 1]) })) {
      const height = readBe32(k, 1) * 0x100000000 + readBe32(k, 5);
      if (height !== expect) throw new Bad(expect, `block ${expect} is missing (next stored block is ${height})`);
      let b: ReturnType<typeof decodeBlock>;
      try { b = decodeBlock(v); } catch (e) { throw new Bad(height, (e as Error).message); }
      const h = decodeHeader(b.header);
      if (h.version !== 1) throw new Bad(height, `header version ${h.version}`);
      if (h.height !== height) throw new Bad(height, `header says height ${h.height}`);
      if (h.chainId !== config.chainId) throw new Bad(height, 'wrong chain id');
      if (h.alg !== alg) throw new Bad(height, 'wrong hash algorithm');
      if (!equalBytes(h.prevHash, prevHash)) throw new Bad(height, 'previous header hash does not link');
      if (h.timeMs < prevTime) throw new Bad(height, 'block time goes backwards');
      if (h.count === 0) throw new Bad(height, 'empty block');
      // Records: structure, keys, signatures, closed chains.
      const n = b.count;
      const structure = checkBatchStructure(b.records, n, config.chainId);
      // Signer keys, resolved as at admission: registered before this block, else by this
      // record or an earlier one of the block (InBatchKeys). A vouch's signer is its gateway.
      // Records in vouched form are skipped: their signer is their group's gateway.
      const keys: (Uint8Array | null)[] = new Array(n).fill(null);
      const inBlock = new InBatchKeys(b.records, n, alg);
      for (let i = 0; i < n; i++) {
        const o = i * RECORD_BYTES;
        inBlock.advanceTo(i);
        if (structure[i] !== STRUCT_OK && b.records[o + OFF_KIND] !== KIND_VOUCH) continue;
        keys[i] = signerKey(state, inBlock, b.records, o) ?? null;
      }
      // Vouch groups (trusted-gateway mode): the same scan as admission. A gateway key
      // registered inside this block has its role checked against the state after the
      // block, below.
      const hashes = txHashes(b.records, n, alg); // tx-root leaves; also what vouch digests are built on
      const vouchCodes = new Uint16Array(n);
      const laterGateways: number[] = []; // their vouches' indexes
      const groups = scanVouchGroups(b.records, n, config.chainId, alg, structure, (rec, o) => {
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
        const s = structure[i];
        const o = i * RECORD_BYTES;
        if (s !== STRUCT_OK && b.records[o + OFF_KIND] !== KIND_VOUCH) {
          throw new Bad(height, isVouchedForm(b.records, o)
            ? `record ${i}: vouched record outside a vouch group`
            : `record ${i} is malformed (structure code ${s})`);
        }
        if (keys[i] === null) throw new Bad(height, `record ${i}: signer key unknown`);
      }
      if ((u16(b.records, (n - 1) * RECORD_BYTES + OFF_FLAGS) & FLAG_LINKED) !== 0) throw new Bad(height, 'block ends inside a linked chain');
      const sigOk = await verifier.verifyRecords(b.records, n, keys);
      for (let i = 0; i < n; i++) {
        if (vouched[i] === 0 && sigOk[i] !== 1) {
          throw new Bad(height, b.records[i * RECORD_BYTES + OFF_KIND] === KIND_VOUCH ? `record ${i}: bad vouch signature` : `record ${i}: bad signature`);
        }
      }
      // Replay.
      state.beginBlock(height, h.timeMs);
      const codes = new Uint16Array(n);
      state.applyBatch(b.records, 0, n, codes, 0, 0);
      const { stateRoot } = state.endBlock();
      for (const at of laterGateways) {
        const k = state.keyById(b.records, at * RECORD_BYTES + OFF_SIGNER);
        if (!k || (k.roles & ROLE_OPERATOR) === 0) throw new Bad(height, `record ${at}: vouch by a key without the operator role`);
      }
      for (let i = 0; i < n; i++) {
        if (codes[i] !== b.codes[i]) throw new Bad(height, `record ${i}: stored result ${b.codes[i]}, replay gives ${codes[i]}`);
      }
      if (!equalBytes(txRoot(hashes, alg), h.txRoot)) throw new Bad(height, 'tx root mismatch');
      if (!equalBytes(resultRoot(hashes, codes, alg), h.resultRoot)) throw new Bad(height, 'result root mismatch');
      if (!equalBytes(stateRoot, h.stateRoot)) throw new Bad(height, 'state root mismatch');
      if (h.accounts !== state.accounts.count) throw new Bad(height, 'account count mismatch');
      // The whole signed part, rebuilt from the replay, must be byte-identical.
      const rebuilt = encodeHeader({
        alg, chainId: config.chainId, height, prevHash, txRoot: h.txRoot, resultRoot: h.resultRoot, stateRoot,
        timeMs: h.timeMs, count: n, accounts: state.accounts.count, nodeKey: h.nodeKey,
      });
      if (!equalBytes(rebuilt.subarray(0, HEADER_SIGNED_BYTES), b.header.subarray(0, HEADER_SIGNED_BYTES))) {
        throw new Bad(height, 'header bytes differ from the header rebuilt by replay');
      }
      // Header signature: by a key holding the node role.
      const node = state.keyById(h.nodeKey);
      if (!node || (node.roles & ROLE_NODE) === 0) throw new Bad(height, 'header signed by a key without the node role');
      if (!verifyHeaderSignature(b.header.slice(0, HEADER_BYTES), node.publicKey)) throw new Bad(height, 'bad header signature');
      prevHash = headerHash(b.header);
      prevTime = h.timeMs;
      report.blocks++;
      report.records += n;
      report.height = height;
      expect++;
      if (height === checkpoint) {
        await compareStored(db, state).catch((e: unknown) => { throw e instanceof Bad ? new Bad(height, `checkpoint: ${e.message}`) : e; });
      }
      options.onProgress?.(height);
    }
    // Tip and stored state.
    const tipRaw = await db.get(META_TIP);
    if (checkpoint > report.height) throw new Bad(-1, `checkpoint ${checkpoint} is past the last block ${report.height}`);
    if (report.blocks > 0) {
      if (!tipRaw) throw new Bad(-1, 'tip record missing');
      const tip = decodeTip(tipRaw);
      if (tip.height !== report.height || !equalBytes(tip.hash, prevHash)) throw new Bad(tip.height, 'tip does not match the last block');
    }
    const sums = ledgerSums(state);
    for (const [ledger, s] of sums) {
      if (s.dp !== s.cp || s.dpo !== s.cpo) throw new Bad(-1, `ledger ${ledger}: Σ debits ≠ Σ credits`);
    }
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

/** Compares the stored state entries (as of the checkpoint) with the replayed state. */
async function compareStored(db: RocksDb, state: LedgerState): Promise<void> {
  // Accounts as a start loads them (restore.ts: the image and the log, or one key each in a format 1 store).
  let accounts: { count: number; bytes: Uint8Array };
  try { accounts = await readStoredAccounts(db); } catch (e) { throw new Bad(-1, `stored account entries: ${(e as Error).message}`); }
  if (accounts.count !== state.accounts.count) throw new Bad(-1, `store holds ${accounts.count} accounts, the records create ${state.accounts.count}`);
  for (let idx = 0; idx < accounts.count; idx++) {
    const at = idx * ENTRY_BYTES;
    if (!equalBytes(accounts.bytes.subarray(at, at + ENTRY_BYTES), state.accounts.bytes.subarray(at, at + ENTRY_BYTES))) {
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
  if (t !== state.transfers.count) throw new Bad(-1, `store holds ${t} transfers, the records create ${state.transfers.count}`);
  await compareStoredRegistry(db, state);
  for await (const [k, v] of db.range({ gte: new Uint8Array([P_TRANSFER_UPDATE]), lt: new Uint8Array([P_TRANSFER_UPDATE + 1]) })) {
    const idx = readBe32(k, 1);
    if (idx >= t || v.length !== ENTRY_BYTES) throw new Bad(-1, `stored transfer update ${idx} is unexpected`);
    stored.set(v, idx * ENTRY_BYTES);
  }
  for (let x = 0; x < t; x++) {
    if (!equalBytes(stored.subarray(x * ENTRY_BYTES, (x + 1) * ENTRY_BYTES), state.transfers.bytes.subarray(x * ENTRY_BYTES, (x + 1) * ENTRY_BYTES))) {
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
    if (!equalBytes(v, encodeKey(state.keys[idx]))) throw new Bad(-1, `stored key entry ${idx} differs from the one the records register`);
    i++;
  }
  if (i !== state.keys.length) throw new Bad(-1, `store holds ${i} keys, the records register ${state.keys.length}`);
  let ops = 0;
  for await (const [k, v] of db.range({ gte: new Uint8Array([P_OP]), lt: new Uint8Array([P_OP + 1]) })) {
    const op = state.ops.get(String.fromCharCode(...k.subarray(1, 17)));
    if (op === undefined || !equalBytes(v, encodeOp(op))) throw new Bad(-1, `stored request ${toHex(k.subarray(1, 17))} differs from the records`);
    ops++;
  }
  if (ops !== state.ops.size) throw new Bad(-1, `store holds ${ops} requests, the records make ${state.ops.size}`);
  const halts = new Set<number>();
  for await (const [k] of db.range({ gte: new Uint8Array([P_HALT]), lt: new Uint8Array([P_HALT + 1]) })) halts.add(readBe32(k, 1));
  if (halts.size !== state.halted.size || [...halts].some((l) => !state.halted.has(l))) {
    throw new Bad(-1, `stored halted ledgers [${[...halts].join(', ')}] differ from the records' [${[...state.halted].join(', ')}]`);
  }
}

/** Per-ledger sums of debits and credits, pending and posted. */
export function ledgerSums(state: LedgerState): Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }> {
  const out = new Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }>();
  const w = state.accounts.words;
  const rd = (at: number): bigint => BigInt(w[at]) | (BigInt(w[at + 1]) << 32n) | (BigInt(w[at + 2]) << 64n) | (BigInt(w[at + 3]) << 96n);
  for (let i = 0; i < state.accounts.count; i++) {
    const e = i * ENTRY_WORDS;
    const l = w[e + A_LEDGER];
    const s = out.get(l) ?? { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n };
    s.dp += rd(e + 4); s.dpo += rd(e + 8); s.cp += rd(e + 12); s.cpo += rd(e + 16);
    out.set(l, s);
  }
  return out;
}
