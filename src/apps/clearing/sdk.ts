// The clearing SDK (docs/clearing.md, docs/api.md): typed builders for the clearing records,
// submitting them through a Client, and the HTTP reads. Runs in Node 20 and in browsers.

import { FLAG_LINKED, TRANSFER_DEFERRED, TRANSFER_QUEUE, concatRecords } from '../../codec/record.js';
import { records, type Signer } from '../../codec/builders.js';
import { type HttpGetOptions, type RequestSigner, httpGet } from '../../protocol/http.js';

/** What the submit helpers need of a client: gmledger/client's Client has it. */
export interface ClearingSubmitter {
  readonly chainId: number;
  submitBatch(records: Uint8Array[] | Uint8Array): Promise<{ code: number; result: string; ok: boolean; height: number;
    index: number }[]>;
}

export interface OpenCycle {
  /** The cycle id (the cycle_open record's id). */
  cycleId: bigint;
  ledger: number;
  /** Code of the settlement transfers the close makes. */
  code: number;
  clearingAccountId: bigint;
  /** Members' settlement accounts. */
  members: bigint[];
  /** Ids of the cycle_member records (default: cycleId + 1 + i; they share the id space of requests). */
  memberIds?: bigint[];
}

/** Most members cycleRecords puts in one linked chain (one submit holds the whole chain). */
export const CYCLE_OPEN_MEMBERS_MAX = 1024;

/** The records that open a cycle with its members: one linked chain, all or nothing. */
export function cycleRecords(chainId: number, o: OpenCycle, signer: Signer): Uint8Array[] {
  if (!Array.isArray(o.members) || o.members.length === 0 || o.members.length > CYCLE_OPEN_MEMBERS_MAX) {
    throw new RangeError(`members must be an array of 1..${CYCLE_OPEN_MEMBERS_MAX} account ids`);
  }
  if (o.memberIds !== undefined && o.memberIds.length !== o.members.length) {
    throw new RangeError('memberIds must have one id per member');
  }
  const out = [records.cycleOpen({
    chainId, id: o.cycleId, flags: FLAG_LINKED, ledger: o.ledger, code: o.code, clearingAccountId: o.clearingAccountId,
  }, signer)];
  o.members.forEach((accountId, i) => {
    const last = i === o.members.length - 1;
    out.push(records.cycleMember({
      chainId, id: o.memberIds?.[i] ?? o.cycleId + 1n + BigInt(i), flags: last ? 0 : FLAG_LINKED, cycleId: o.cycleId,
      accountId,
    }, signer));
  });
  return out;
}

export interface Payment {
  id: bigint; debitAccountId: bigint; creditAccountId: bigint; amount: bigint; ledger: number; code: number;
  userData?: bigint;
}

/** A payment into cycle `cycleId`: a transfer flagged deferred, recorded as an obligation. */
export function obligationRecord(chainId: number, cycleId: bigint, p: Payment, signer: Signer): Uint8Array {
  return records.transfer({ chainId, flags: TRANSFER_DEFERRED, pendingId: cycleId, ...p }, signer);
}

/** A real-time gross payment that waits in the debit account's queue when funds are short (timeout s, 0 = none). */
export function queuedRecord(chainId: number, p: Payment & { timeout?: number }, signer: Signer): Uint8Array {
  return records.transfer({ chainId, flags: TRANSFER_QUEUE, ...p }, signer);
}

export const clearing = {
  /** Opens a cycle with its members (one linked chain); resolves with one result per record. */
  openCycle: (client: ClearingSubmitter, o: OpenCycle, signer: Signer) =>
    client.submitBatch(cycleRecords(client.chainId, o, signer)),
  /** Submits payments into an open cycle as obligations. */
  submitObligations: (client: ClearingSubmitter, cycleId: bigint, payments: Payment[], signer: Signer) =>
    client.submitBatch(concatRecords(payments.map((p) => obligationRecord(client.chainId, cycleId, p, signer)))),
  /** Closes a cycle: nets, resolves gridlock, settles (docs/clearing.md). `id` is the close request's id. */
  closeCycle: (client: ClearingSubmitter, cycleId: bigint, id: bigint, signer: Signer) =>
    client.submitBatch([records.cycleClose({ chainId: client.chainId, id, cycleId }, signer)]),
  /** The regulator: delay a cycle's close until `untilMs` of block time. */
  delayCycle: (client: ClearingSubmitter, cycleId: bigint, untilMs: bigint, id: bigint, signer: Signer) =>
    client.submitBatch([records.cycleRegulate({ chainId: client.chainId, id, cycleId, action: 1, untilMs }, signer)]),
  /** The regulator: refuse a cycle's settlement (its obligations are voided). */
  refuseCycle: (client: ClearingSubmitter, cycleId: bigint, id: bigint, signer: Signer) =>
    client.submitBatch([records.cycleRegulate({ chainId: client.chainId, id, cycleId, action: 2 }, signer)]),
  /** The regulator: cap a member's net debit in a cycle. */
  capMember: (client: ClearingSubmitter, cycleId: bigint, accountId: bigint, amount: bigint, id: bigint,
    signer: Signer) =>
    client.submitBatch([records.cycleRegulate({ chainId: client.chainId, id, cycleId, action: 3, accountId, amount },
      signer)]),
  /** The regulator: sets (or replaces, same ruleId) a rule; tier 1 alert, 2 refuse, 0 removes it. */
  setRule: (client: ClearingSubmitter, rule: Omit<Parameters<typeof records.rule>[0], 'chainId'>, signer: Signer) =>
    client.submitBatch([records.rule({ chainId: client.chainId, ...rule }, signer)]),
  /**
   * GET /cycles/<id> of a node's HTTP API (base e.g. http://127.0.0.1:7300); undefined if none.
   * `options.signer` signs the request (a node started with --http-auth needs it).
   */
  getCycle: (base: string, cycleId: bigint, options?: HttpGetOptions) => httpGet(base, `/cycles/${cycleId}`, options),
  /** GET /rules. */
  getRules: (base: string, options?: HttpGetOptions) => httpGet(base, '/rules', options),
  /** GET /queues/<account id>. */
  getQueue: (base: string, accountId: bigint, options?: HttpGetOptions) =>
    httpGet(base, `/queues/${accountId}`, options),
  /** GET /alerts?from=<seq>&limit=<n>, signed by a regulator's key (the alerts are the regulator's). */
  getAlerts: (base: string, signer: RequestSigner, fromSeq = 0, limit = 1000, chainId?: number) =>
    httpGet(base, `/alerts?from=${fromSeq}&limit=${limit}`, { signer, chainId }),
};
