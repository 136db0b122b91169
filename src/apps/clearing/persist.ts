// The clearing application's state in the store (docs/storage.md, 'Z' ‖ 1 ‖ …): cycles,
// rules with their rolling windows, and alerts, as JSON values written with checkpoints.

import { A_ID, ENTRY_WORDS, wordsU128 } from '../../codec/entries.js';
import type { AppHost } from '../host.js';
import type { Alert, Cycle, CycleReport, Rule } from './state.js';

/** Persistence namespace of this application under the store's 'Z' prefix. */
export const APP_CLEARING = 1;
export const Z_CYCLE = 0x63;  // 'c' ‖ cycle id (16)
export const Z_RULE = 0x72;   // 'r' ‖ rule number u32 BE
export const Z_ALERT = 0x61;  // 'a' ‖ alert sequence u64 BE

export function findAccountBig(st: AppHost, id: bigint): number {
  const w = (k: number): number => Number((id >> BigInt(32 * k)) & 0xffffffffn);
  return st.accountIndex.find(w(0), w(1), w(2), w(3));
}

export function zKey(type: number, idBytes: number): Uint8Array {
  const k = new Uint8Array(3 + idBytes);
  k[0] = 0x5a; // 'Z'
  k[1] = APP_CLEARING;
  k[2] = type;
  return k;
}

function accountIdOf(st: AppHost, a: number): string {
  return wordsU128(st.accounts.words, a * ENTRY_WORDS + A_ID).toString();
}

export function cycleJson(c: Cycle, st: AppHost): Record<string, unknown> {
  return {
    id: c.id.toString(), ledger: c.ledger, code: c.code, clearingAccountId: accountIdOf(st, c.clearing),
    openedHeight: c.openedHeight, members: c.members.map((a) => accountIdOf(st, a)),
    caps: c.caps.map((x) => (x === undefined ? null : x.toString())), status: c.status, delayUntilMs: c.delayUntilMs,
    closedHeight: c.closedHeight, closedTimeMs: c.closedTimeMs,
    report: c.report === undefined ? null : {
      gross: c.report.gross.toString(), net: c.report.net.toString(), saved: c.report.saved.toString(),
      settledCount: c.report.settledCount, removedCount: c.report.removedCount,
      removedGross: c.report.removedGross.toString(), positions: c.report.positions.map(String),
      rounds: c.report.rounds,
    },
  };
}

export function reportFromJson(r: Record<string, unknown>): CycleReport {
  return {
    gross: BigInt(r.gross as string), net: BigInt(r.net as string), saved: BigInt(r.saved as string),
    settledCount: r.settledCount as number, removedCount: r.removedCount as number,
    removedGross: BigInt(r.removedGross as string), positions: (r.positions as string[]).map((x) => BigInt(x)),
    rounds: r.rounds as number,
  };
}

export function ruleJson(r: Rule): Record<string, unknown> {
  // Window entries by debit account index (account indexes never change).
  // Times as base64 of f64 LE (a busy rule's window holds many: a number per payment).
  const windows: [number, string, string[] | null][] = [];
  for (const [a, w] of [...r.windows].sort((x, y) => x[0] - y[0])) {
    if (w.times.length === w.head) continue; // an empty window needs no line
    const times = Buffer.from(Float64Array.from(w.times.slice(w.head)).buffer).toString('base64');
    windows.push([a, times, w.amounts === undefined ? null : w.amounts.slice(w.head).map(String)]);
  }
  return {
    ruleId: r.ruleId, ledger: r.ledger, code: r.code, tier: r.tier, accountId: r.accountId.toString(),
    maxAmount: r.maxAmount.toString(), windowMs: r.windowMs, maxCount: r.maxCount,
    maxWindowAmount: r.maxWindowAmount.toString(), height: r.height, windows,
  };
}

export function alertJson(a: Alert): Record<string, string | number> {
  return {
    seq: a.seq, height: a.height, index: a.index, timeMs: a.timeMs, ruleId: a.ruleId, violation: a.violation,
    transferId: a.transferId.toString(), accountId: a.accountId.toString(), amount: a.amount.toString(),
    ledger: a.ledger, code: a.code,
  };
}

export function alertFromJson(j: Record<string, unknown>): Alert {
  return {
    seq: j.seq as number, height: j.height as number, index: j.index as number, timeMs: j.timeMs as number,
    ruleId: j.ruleId as number, violation: j.violation as string, transferId: BigInt(j.transferId as string),
    accountId: BigInt(j.accountId as string), amount: BigInt(j.amount as string), ledger: j.ledger as number,
    code: j.code as number,
  };
}


/** The window times ruleJson wrote (base64 of f64 LE). */
export function windowTimes(b64: string): number[] {
  const b = Buffer.from(b64, 'base64');
  return Array.from(new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
}
