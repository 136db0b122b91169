// The read port: accounts, transfers, blocks, history and proofs, for the server, the CLI,
// applications and embedders. Nothing here changes the ledger; what is "durable" (synced,
// acknowledged) and what is only applied is said per method.

import {
  type InclusionProof, type AccountProof, type BlockHeader, decodeBlock, decodeHeader, recordViews, txHashes,
} from '../codec/block.js';
import {
  ENTRY_WORDS, T_HEIGHT, T_INDEX, T_TIMESTAMP, STATUS_PENDING, T_STATUS, readAccount, readTransfer, wordsU64,
} from '../codec/entries.js';
import type { TransferFields } from '../codec/entries.js';
import { Kind, RECORD_BYTES, type DecodedRecord, decode, setU128 } from '../codec/record.js';
import { resultName } from '../codec/results.js';
import { DIGEST_BYTES, type HashAlgorithm } from '../crypto/hash.js';
import { merkleProof } from '../crypto/merkle.js';
import {
  type RocksDb, P_CERTIFICATE, P_REFUSED, P_TX, blockKey, heightKey, idKey, readLocation,
} from '../store/store.js';
import type { AccountHistory } from './history.js';
import { type LedgerState, opKeyOf } from './state.js';

/** Most transfers one accountTransfers page returns. */
export const ACCOUNT_PAGE_MAX = 1000;

export interface AccountView {
  id: bigint; debitsPending: bigint; debitsPosted: bigint; creditsPending: bigint; creditsPosted: bigint;
  userData: bigint; ledger: number; code: number; flags: number; controller: Uint8Array; timestampMs: number;
  index: number;
}

export type TransferView = TransferFields;

export interface AccountTransfer {
  height: number; index: number; timeMs: number; record: Uint8Array; decoded: DecodedRecord;
}

export interface TransactionView {
  record: Uint8Array; height: number; index: number; code: number; name: string; decoded: DecodedRecord;
}

export interface BlockView {
  header: BlockHeader; headerBytes: Uint8Array; signatures: Uint8Array; records: Uint8Array[]; codes: number[];
  /** In a consortium, the quorum certificate once the block is final (n × 96-byte entries); else absent. */
  certificate?: Uint8Array;
}

export interface AccountTransfersOptions {
  limit?: number; fromMs?: number; toMs?: number; reverse?: boolean; after?: Uint8Array;
}

/** What the reader needs of the ledger it reads. */
export interface ReaderSource {
  state: LedgerState;
  db: RocksDb;
  alg: HashAlgorithm;
  txHashIndex: boolean;
  history: AccountHistory;
  /** The last block known synced. */
  durableHeight(): number;
  /** Resolves once every block applied so far is durable. */
  settled(): Promise<void>;
  /** Runs `read` at a moment when everything applied is durable (Ledger.durableRead). */
  durableRead<T>(read: () => T): Promise<T>;
  /** The last durable block's header and signatures. */
  lastHeader(): { header: Uint8Array; signatures: Uint8Array } | undefined;
}

function idBytes(id: bigint, name: string): Uint8Array {
  const b = new Uint8Array(16);
  setU128(b, 0, id, name);
  return b;
}

/** A copy of record `index` of a records buffer. */
function recordAt(records: Uint8Array, index: number): Uint8Array {
  return records.slice(index * RECORD_BYTES, (index + 1) * RECORD_BYTES);
}

export class LedgerReader {
  readonly #s: ReaderSource;

  constructor(source: ReaderSource) {
    this.#s = source;
  }

  /** Account by id, as applied (may include records not yet durable: not yet acknowledged). */
  getAccount(id: bigint): AccountView | undefined {
    const i = this.#s.state.findAccount(idBytes(id, 'id'), 0);
    if (i < 0) return undefined;
    const { controllerIndex, height: _height, ...a } = readAccount(this.#s.state.accounts.words, i);
    return { ...a, controller: this.#s.state.keys[controllerIndex]?.keyId ?? new Uint8Array(32), index: i };
  }

  /** Account by id as of the last durable block: only acknowledged transfers count. */
  getAccountDurable(id: bigint): Promise<AccountView | undefined> {
    idBytes(id, 'id');
    return this.#s.durableRead(() => this.getAccount(id));
  }

  /** Transfer by id, as applied. */
  getTransfer(id: bigint): TransferView | undefined {
    const st = this.#s.state;
    const t = st.findTransfer(idBytes(id, 'id'), 0);
    if (t < 0) return undefined;
    const v = readTransfer(st.transfers.words, t);
    // An obligation's status follows its cycle (docs/clearing.md): settled, voided or open.
    if (v.status === 'obligation') v.status = st.clearing.obligationStatus(t);
    return v;
  }

  /** Block by height (durable blocks only). */
  async getBlock(height: number): Promise<BlockView | undefined> {
    const b = await this.#readBlock(height);
    if (!b) return undefined;
    const certificate = await this.certificate(height);
    return {
      header: decodeHeader(b.header), headerBytes: b.header.slice(), signatures: b.signatures.slice(),
      records: recordViews(b.records.slice(), b.count), codes: Array.from(b.codes),
      ...(certificate ? { certificate } : {}),
    };
  }

  /** The quorum certificate of block `height` (consortium, once final), or undefined. */
  async certificate(height: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) return undefined;
    const v = await this.#s.db.get(heightKey(P_CERTIFICATE, height));
    return v ? Uint8Array.from(v) : undefined;
  }

  /** A record by its tx hash H(record) (needs the tx hash index), or a transfer by id — applied or refused. */
  async getTransaction(key: Uint8Array | bigint): Promise<TransactionView | undefined> {
    const at = await this.#locate(key);
    const b = at && await this.#readBlock(at.height);
    if (!at || !b || at.index >= b.count) return undefined;
    const record = recordAt(b.records, at.index);
    return {
      record, height: at.height, index: at.index, code: b.codes[at.index], name: resultName(b.codes[at.index]),
      decoded: decode(record),
    };
  }

  /** Where a transaction is: a transfer by id (durable blocks only), or a record by tx hash. */
  async #locate(key: Uint8Array | bigint): Promise<{ height: number; index: number } | undefined> {
    if (typeof key === 'bigint') {
      const id = idBytes(key, 'id');
      await this.#s.settled();
      const t = this.getTransfer(key);
      if (t && t.height <= this.#s.durableHeight()) return { height: t.height, index: t.index };
      // Else the latest refusal of a transfer with this id, if any (written with its block).
      const loc = await this.#s.db.get(idKey(P_REFUSED, id));
      return loc && readLocation(loc);
    }
    if (!(key instanceof Uint8Array) || key.length !== DIGEST_BYTES) {
      throw new TypeError(
        `a transaction is looked up by transfer id (bigint) or tx hash (${DIGEST_BYTES}-byte Uint8Array)`,
      );
    }
    if (!this.#s.txHashIndex) throw new Error('lookup by tx hash needs the tx hash index (LedgerOptions.txHashIndex)');
    const loc = await this.#s.db.get(idKey(P_TX, key));
    return loc && readLocation(loc);
  }

  async #readBlock(height: number): Promise<ReturnType<typeof decodeBlock> | undefined> {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new RangeError(`height must be a non-negative integer, got ${String(height)}`);
    }
    const v = await this.#s.db.get(blockKey(height));
    return v && decodeBlock(v);
  }

  /**
   * Transfers touching an account, by block time (oldest first unless `reverse`), at most
   * `limit` per page, from durable blocks only. Pass a page's `next` as `after` for the
   * following page (`next` is set whenever the page is full; the page after it may be
   * empty). A cursor is the id (16 bytes, LE u128) of the page's last transfer.
   */
  async accountTransfers(
    accountId: bigint, options: AccountTransfersOptions = {},
  ): Promise<{ transfers: AccountTransfer[]; next?: Uint8Array }> {
    const page = this.#historyPage(accountId, options);
    const blocks = new Map<number, ReturnType<typeof decodeBlock>>();
    for (const x of page.transfers) {
      let b = blocks.get(x.height);
      if (!b) {
        b = await this.#readBlock(x.height);
        if (!b) throw new Error(`block ${x.height} is missing`);
        blocks.set(x.height, b);
      }
      x.record = recordAt(b.records, x.index);
      x.decoded = decode(x.record);
    }
    return page;
  }

  /** The page's locations, walked synchronously: the slab and the lists stay as they are. */
  #historyPage(
    accountId: bigint, options: AccountTransfersOptions,
  ): { transfers: AccountTransfer[]; next?: Uint8Array } {
    const limit = Math.max(1, Math.min(options.limit ?? 100, ACCOUNT_PAGE_MAX));
    const fromMs = options.fromMs ?? 0;
    const toMs = options.toMs ?? Number.POSITIVE_INFINITY;
    const older = options.reverse === true;
    const { state, history } = this.#s;
    const a = state.findAccount(idBytes(accountId, 'accountId'), 0);
    if (a < 0) {
      if (options.after) throw new RangeError('after is not a cursor of this account');
      return { transfers: [] };
    }
    history.catchUp();
    let t: number;
    if (options.after) {
      const c = options.after.length === 16 ? state.findTransfer(options.after, 0) : -1;
      if (!history.involves(c, a)) throw new RangeError('after is not a cursor of this account');
      t = history.step(c, a, older);
    } else {
      t = history.end(a, older ? 'head' : 'tail');
    }
    const tw = state.transfers.words;
    const durable = this.#s.durableHeight();
    const out: AccountTransfer[] = [];
    for (; t !== -1; t = history.step(t, a, older)) {
      const e = t * ENTRY_WORDS;
      const height = tw[e + T_HEIGHT];
      const timeMs = wordsU64(tw, e + T_TIMESTAMP);
      // Not yet durable: the newest transfers, at the head of the list.
      if (height > durable) { if (older) continue; break; }
      if (older ? timeMs >= toMs : timeMs < fromMs) continue;
      if (older ? timeMs < fromMs : timeMs >= toMs) break;
      out.push({ height, index: tw[e + T_INDEX], timeMs, record: new Uint8Array(0), decoded: undefined as never });
      if (out.length === limit) return { transfers: out, next: state.transfers.bytes.slice(e * 4, e * 4 + 16) };
    }
    return { transfers: out };
  }

  /** Inclusion proof of the transaction at (height, index), or by tx hash / transfer id. */
  async proveTransaction(
    where: { height: number; index: number } | Uint8Array | bigint,
  ): Promise<InclusionProof | undefined> {
    const at = typeof where === 'object' && !(where instanceof Uint8Array) ? where : await this.#locate(where);
    if (!at) return undefined;
    const b = await this.#readBlock(at.height);
    if (!b || !Number.isSafeInteger(at.index) || at.index < 0 || at.index >= b.count) return undefined;
    const hashes = txHashes(b.records, b.count, this.#s.alg);
    const certificate = await this.certificate(at.height);
    return {
      record: recordAt(b.records, at.index), index: at.index, treeSize: b.count,
      proof: merkleProof(hashes, at.index, this.#s.alg), header: b.header.slice(), signatures: b.signatures.slice(),
      ...(certificate ? { certificate } : {}),
    };
  }

  /** Anchor receipt: where the anchor is, when it was committed, and its inclusion proof. */
  async anchorReceipt(
    anchorId: bigint,
  ): Promise<{ height: number; index: number; commitTimeMs: number; proof: InclusionProof } | undefined> {
    const op = this.#s.state.ops.get(opKeyOf(idBytes(anchorId, 'anchorId')));
    if (!op || op.kind !== Kind.anchor) return undefined;
    await this.#s.settled();
    const proof = await this.proveTransaction({ height: op.height, index: op.index });
    if (!proof) return undefined;
    return { height: op.height, index: op.index, commitTimeMs: decodeHeader(proof.header).timeMs, proof };
  }

  /** Account state proof against the latest durable block's state root. */
  proveAccount(id: bigint): Promise<AccountProof | undefined> {
    const key = idBytes(id, 'id');
    // The tree, the slab and the header agree at a durable-read moment.
    return this.#s.durableRead(() => {
      const { state } = this.#s;
      const i = state.findAccount(key, 0);
      const last = this.#s.lastHeader();
      if (i < 0 || !last) return undefined;
      return {
        entry: state.accounts.entry(i), index: i, treeSize: state.tree.size, proof: state.tree.proof(i),
        header: last.header.slice(), signatures: last.signatures.slice(),
      };
    });
  }

  /** Number of transfers still pending (neither posted, voided nor expired). */
  pendingTransfers(): number {
    let n = 0;
    const { transfers } = this.#s.state;
    for (let t = 0; t < transfers.count; t++) if (transfers.words[t * ENTRY_WORDS + T_STATUS] === STATUS_PENDING) n++;
    return n;
  }
}
