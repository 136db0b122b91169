// NodeBackend over the real engine (src/ledger/ledger.ts): admission, verification,
// sequencing, blocks and the synced RocksDB write all happen inside Ledger; this adapter
// only reshapes results, forwards block events with their records, and maps queries to JSON.

import { RECORD_BYTES } from '../codec/record.js';
import { toHex } from '../crypto/bytes.js';
import { BATCH_RECORDS_MAX, type Ledger, type BlockEvent as LedgerBlockEvent } from '../ledger/ledger.js';
import type { BlockEvent, Json, KeyInfo, NodeBackend, SubmitOutcome } from './backend.js';
import { tollQuery } from '../apps/toll/query.js';

/** Plain JSON from ledger objects: bigint → decimal string, bytes → hex. */
export function toJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v as object)) o[k] = toJson(x);
    return o;
  }
  return v as Json;
}

/** What the backend shows of a consortium node (src/consortium/consortium.ts). */
export interface ConsortiumView {
  status(): object;
  metrics(): string;
  on(event: 'alarm', listener: (alarm: object) => void): unknown;
  off(event: 'alarm', listener: (alarm: object) => void): unknown;
}

export class LedgerBackend implements NodeBackend {
  readonly ledger: Ledger;
  readonly chainId: number;
  /**
   * Trusted (gateway) batches are vouch groups: the ledger checks one gateway signature per
   * group and keeps the vouch record in the block (docs/protocol.md §8).
   */
  readonly supportsTrusted = true;
  /** The ledger lands one submit in one block: never hand it more than a block holds. */
  readonly submitRecordsMax: number;
  readonly #listeners = new Map<(b: BlockEvent) => void, () => boolean>();
  // Block events are forwarded off the ledger's call, in height order (each forward after the
  // previous one); a listener that throws never reaches the ledger.
  #events: Promise<void> = Promise.resolve();
  #onLedgerBlock = (e: LedgerBlockEvent) => {
    if (this.#listeners.size === 0) return;
    let want = false;
    for (const w of this.#listeners.values()) want ||= w();
    this.#events = this.#events.then(() => {
      // Records only when a listener wants them: without record-topic subscribers the server
      // then skips its per-record topic pass (three strings per transfer) on the main thread.
      const ev: BlockEvent = want
        ? { height: e.height, timeMs: e.timeMs, hash: e.hash, count: e.count, records: e.records, codes: e.codes }
        : { height: e.height, timeMs: e.timeMs, hash: e.hash, count: e.count };
      if (e.notices.length > 0) ev.notices = e.notices;
      for (const l of this.#listeners.keys()) l(ev);
    }).catch(() => undefined);
  };

  readonly #extraMetrics: (() => string) | undefined;
  readonly #consortium: ConsortiumView | undefined;

  constructor(ledger: Ledger, extraMetrics?: () => string, blockRecords?: number, consortium?: ConsortiumView) {
    this.ledger = ledger;
    this.#consortium = consortium;
    this.submitRecordsMax = Math.min(BATCH_RECORDS_MAX, blockRecords ?? BATCH_RECORDS_MAX);
    this.#extraMetrics = extraMetrics;
    this.chainId = ledger.config.chainId;
    ledger.on('block', this.#onLedgerBlock);
  }

  waitFinal(height: number): Promise<void> {
    return this.ledger.waitFinal(height);
  }

  async submit(batch: Uint8Array, count: number, options?: { trusted?: boolean }): Promise<SubmitOutcome> {
    const r = await this.ledger.submitBatch(
      batch.subarray(0, count * RECORD_BYTES), options?.trusted === true ? { trusted: true } : undefined,
    );
    const heights = new Float64Array(count);
    const indexes = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      if (r.index[i] >= 0) {
        heights[i] = r.height;
        indexes[i] = r.index[i];
      } else {
        heights[i] = -1;
        indexes[i] = 0;
      }
    }
    return { codes: r.codes, heights, indexes };
  }

  onBlock(listener: (b: BlockEvent) => void, wantRecords: () => boolean = () => true): () => void {
    this.#listeners.set(listener, wantRecords);
    return () => this.#listeners.delete(listener);
  }

  onAlarm(listener: (alarm: Record<string, unknown>) => void): () => void {
    const c = this.#consortium;
    if (!c) return () => undefined;
    const l = (a: object) => listener({ ...a });
    c.on('alarm', l);
    return () => { c.off('alarm', l); };
  }

  metrics(): string {
    return (this.#extraMetrics?.() ?? '') + (this.#consortium?.metrics() ?? '');
  }

  key(keyId: Uint8Array): KeyInfo | undefined {
    const k = this.ledger.key(keyId);
    return k === undefined ? undefined : { publicKey: k.publicKey, roles: k.roles, ledger: k.ledger };
  }

  accountController(id: bigint): Uint8Array | undefined {
    return this.ledger.getAccount(id)?.controller;
  }

  transferAccounts(id: bigint): [bigint, bigint] | undefined {
    const t = this.ledger.getTransfer(id);
    return t === undefined ? undefined : [t.debitAccountId, t.creditAccountId];
  }

  status(): Json {
    return toJson({
      ...this.ledger.info(), finalHeight: this.ledger.finalHeight, backend: 'ledger',
      ...(this.#consortium ? { consortium: this.#consortium.status() } : {}),
    });
  }

  /** As of the last durable block: a balance shows acknowledged transfers only. */
  async account(id: bigint): Promise<Json | undefined> {
    const a = await this.ledger.getAccountDurable(id);
    return a === undefined ? undefined : toJson(a);
  }

  async transaction(id: bigint): Promise<Json | undefined> {
    const t = await this.ledger.getTransaction(id);
    return t === undefined ? undefined : toJson(t);
  }

  async block(height: number): Promise<Json | undefined> {
    const b = await this.ledger.getBlock(height);
    if (b === undefined) return undefined;
    // Records are not inlined (a block holds up to thousands); fetch them by transaction.
    return toJson({
      header: b.header, headerBytes: b.headerBytes, signatures: b.signatures, count: b.records.length, codes: b.codes,
      ...(b.certificate ? { certificate: b.certificate } : {}),
    });
  }

  async proof(height: number, index: number): Promise<Json | undefined> {
    const p = await this.ledger.proveTransaction({ height, index });
    return p === undefined ? undefined : toJson(p);
  }

  async anchor(id: bigint): Promise<Json | undefined> {
    const a = await this.ledger.anchorReceipt(id);
    return a === undefined ? undefined : toJson(a);
  }

  async accountTransfers(id: bigint, limit: number): Promise<Json | undefined> {
    if (this.ledger.getAccount(id) === undefined) return undefined;
    const page = await this.ledger.accountTransfers(id, { limit, reverse: true });
    return {
      accountId: id.toString(),
      transfers: page.transfers.map((t) => {
        const v = this.ledger.getTransfer(BigInt((t.decoded as { id: bigint }).id));
        return toJson({ height: t.height, index: t.index, ...(v ?? {}) });
      }),
    } as Json;
  }

  alerts(fromSeq: number, limit: number): Json {
    return this.ledger.getAlerts(fromSeq, limit) as Json;
  }

  clearing(what: 'cycles' | 'queues' | 'rules', id?: bigint): Json | undefined {
    if (what === 'rules') return this.ledger.getRules() as Json;
    if (id === undefined) return undefined;
    return (what === 'cycles' ? this.ledger.getCycle(id) : this.ledger.getQueue(id)) as Json | undefined;
  }

  toll(parts: string[]): Json | undefined {
    return tollQuery(this.ledger.state, parts, this.ledger.durableHeight);
  }

  async close(): Promise<void> {
    this.ledger.off('block', this.#onLedgerBlock);
    await this.#events;
  }
}
