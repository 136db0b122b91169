// What the network layer needs from the engine behind it. The server is a thin layer: it
// frames, admits, authenticates and fans out; everything that decides an outcome lives
// behind this interface (src/ledger's Ledger, adapted in ledger-backend.ts, or the
// in-memory double in memory-backend.ts used to test the network layer alone).

/** Outcome of one submit: one entry per record, in order. */
export interface SubmitOutcome {
  /** Result code per record (src/ledger/results.ts). */
  codes: Uint16Array;
  /** Block height holding the record; -1 if the record never entered a block (codes 1..31). */
  heights: Float64Array;
  /** Index of the record within its block; 0 if not in a block. */
  indexes: Uint32Array;
}

/** A block, after it is durable. */
export interface BlockEvent {
  height: number;
  timeMs: number;
  /** Header hash (32 bytes). */
  hash: Uint8Array;
  count: number;
  /**
   * The block's records (count × 256 bytes, block order) and their result codes. Absent
   * when the listener said it did not want them (nobody subscribes to a record topic).
   */
  records?: Uint8Array;
  codes?: Uint16Array;
  /** Application events of the block, each for one topic (docs/clearing.md, "Events"). */
  notices?: { topic: string; kind: string; [field: string]: string | number | null }[];
}

export interface KeyInfo {
  publicKey: Uint8Array;
  roles: number;
  /** Operator scope (0 if none). */
  ledger: number;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Read-side queries served over HTTP. Each returns undefined when the thing does not exist. */
export type Answer = Json | undefined | Promise<Json | undefined>;
export interface Queries {
  status(): Json | Promise<Json>;
  account?(id: bigint): Answer;
  transaction?(id: bigint): Answer;
  block?(height: number): Answer;
  proof?(height: number, index: number): Answer;
  anchor?(id: bigint): Answer;
  /** An account's latest `limit` transfers, newest first (undefined: no such account). */
  accountTransfers?(id: bigint, limit: number): Answer;
  /** The rule alerts from sequence `fromSeq` on, oldest first, at most `limit` (docs/clearing.md). */
  alerts?(fromSeq: number, limit: number): Answer;
  /** Clearing views (docs/clearing.md): `cycles` and `queues` by id, `rules` without one. */
  clearing?(what: 'cycles' | 'queues' | 'rules', id?: bigint): Answer;
  /** Toll views (docs/toll.md, "Queries"): GET /toll/<parts…>. */
  toll?(parts: string[]): Answer;
}

export interface NodeBackend extends Queries {
  readonly chainId: number;
  /**
   * Submits `count` records (count × 256 bytes). Resolves once every record has its
   * outcome and every block holding one is durable. May be called again before an earlier
   * call resolves (pipelining); outcomes of earlier calls must never depend on later ones.
   * `trusted`: the batch is one or more vouch groups (gateway mode, docs/protocol.md §8):
   * each group's vouch record carries the one signature for the records it covers. The
   * server sets it only for connections authenticated with a configured gateway key.
   */
  submit(batch: Uint8Array, count: number, options?: { trusted?: boolean }): Promise<SubmitOutcome>;
  /**
   * Resolves once block `height` is final (a consortium: certified by a quorum); absent
   * when durable is final (one node). Rejects if this node will never see it final.
   */
  waitFinal?(height: number): Promise<void>;
  /** Whether submit() honours `trusted`. */
  readonly supportsTrusted: boolean;
  /** Most records one submit() may carry (the server clamps SUBMIT_RECORDS_MAX to it). */
  readonly submitRecordsMax?: number;
  /**
   * Calls `listener` once per durable block, in height order. `wantRecords()` is asked at
   * each block: records are loaded and attached only when it says yes. Returns an
   * unsubscribe function.
   */
  onBlock(listener: (block: BlockEvent) => void, wantRecords?: () => boolean): () => void;
  /** A consortium node's alarms, as they are raised (absent: a backend that has none). */
  onAlarm?(listener: (alarm: Record<string, unknown>) => void): () => void;
  /** A registered key by key id (SM3 of its public key). */
  key(keyId: Uint8Array): KeyInfo | undefined;
  /** Key id of an account's controller, for authorising account subscriptions. */
  accountController?(id: bigint): Uint8Array | undefined;
  /** Debit and credit accounts of a transfer by id, for routing post/void events. */
  transferAccounts?(id: bigint): [debit: bigint, credit: bigint] | undefined;
  /** Extra Prometheus lines (verify-pool utilisation, store timings…). */
  metrics?(): string;
  close(): Promise<void>;
}
