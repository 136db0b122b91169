// Read-side views of the clearing application (docs/clearing.md, docs/api.md): cycles with
// their reports, the rules, the queues and the alerts, as JSON-ready objects. Used by the
// embedded API (Ledger.clearing) and the HTTP endpoints /cycles, /rules, /queues.

import {
  A_ID, ENTRY_WORDS, STATUS_OBLIGATION_REMOVED, T_STATUS, readTransfer, wordsU128,
} from '../../codec/entries.js';
import type { AppHost } from '../host.js';
import { alertJson, findAccountBig } from './persist.js';
import type { ClearingState, Cycle, Rule } from './state.js';

/** The ledger's state machine with its clearing application (LedgerState is one). */
export type ClearingView = AppHost & { readonly clearing: ClearingState };

/** Most items one view lists (removed obligations, queued transfers, alerts). */
export const VIEW_ITEMS_MAX = 1000;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

const accountId = (st: ClearingView, a: number): string =>
  wordsU128(st.accounts.words, a * ENTRY_WORDS + A_ID).toString();

/** A cycle: status, members, caps, delay, obligation count, and (once closed) the report. */
export function cycleView(st: ClearingView, c: Cycle): JsonValue {
  const tw = st.transfers.words;
  const removed: string[] = [];
  let removedMore = false;
  if (c.report !== undefined && c.report.removedCount > 0) {
    for (let k = 0; k < c.n; k++) {
      const t = c.obl[k];
      if (tw[t * ENTRY_WORDS + T_STATUS] !== STATUS_OBLIGATION_REMOVED) continue;
      if (removed.length === VIEW_ITEMS_MAX) { removedMore = true; break; }
      removed.push(wordsU128(tw, t * ENTRY_WORDS).toString());
    }
  }
  const r = c.report;
  return {
    id: c.id.toString(), ledger: c.ledger, code: c.code, clearingAccountId: accountId(st, c.clearing),
    status: c.status, openedHeight: c.openedHeight, closedHeight: c.closedHeight, closedTimeMs: c.closedTimeMs,
    delayUntilMs: c.delayUntilMs, obligations: c.n,
    members: c.members.map((a, s) => ({
      accountId: accountId(st, a), cap: c.caps[s] === undefined ? null : c.caps[s]!.toString(),
      position: r === undefined ? null : r.positions[s].toString(),
    })),
    report: r === undefined ? null : {
      gross: r.gross.toString(), net: r.net.toString(), saved: r.saved.toString(), settledCount: r.settledCount,
      removedCount: r.removedCount, removedGross: r.removedGross.toString(), rounds: r.rounds,
      removed, removedMore,
    },
  };
}

export function ruleView(r: Rule): JsonValue {
  return {
    ruleId: r.ruleId, ledger: r.ledger, code: r.code, tier: r.tier === 1 ? 'alert' : 'refuse',
    accountId: r.accountId === 0n ? null : r.accountId.toString(), maxAmount: r.maxAmount.toString(),
    windowMs: r.windowMs, maxCount: r.maxCount, maxWindowAmount: r.maxWindowAmount.toString(), height: r.height,
  };
}

/** The transfers waiting in an account's queue, in the order they will settle (at most VIEW_ITEMS_MAX). */
export function queueView(st: ClearingView, id: bigint): JsonValue | undefined {
  const a = findAccountBig(st, id);
  if (a < 0) return undefined;
  const items = st.clearing.queueOf(a);
  return {
    accountId: id.toString(), count: items.length,
    transfers: items.slice(0, VIEW_ITEMS_MAX).map((t) => {
      const v = readTransfer(st.transfers.words, t);
      return {
        id: v.id.toString(), creditAccountId: v.creditAccountId.toString(), amount: v.amount.toString(),
        code: v.code, timeout: v.timeout, timestampMs: v.timestampMs, height: v.height,
      };
    }),
  };
}

/** The HTTP routes /cycles/<id>, /rules, /queues/<account id>; undefined: not found. */
export function clearingHttp(st: ClearingView, parts: string[], parseId: (s: string) => bigint | undefined):
  JsonValue | undefined | 'bad_request' {
  const [head, a] = parts;
  if (head === 'rules' && parts.length === 1) {
    return [...st.clearing.rules.values()].sort((x, y) => x.ruleId - y.ruleId).map(ruleView);
  }
  if ((head === 'cycles' || head === 'queues') && parts.length === 2) {
    const id = parseId(a);
    if (id === undefined) return 'bad_request';
    if (head === 'queues') return queueView(st, id);
    const c = st.clearing.cycle(id);
    return c === undefined ? undefined : cycleView(st, c);
  }
  return undefined;
}

/** The latest alerts (oldest first), at most `limit` (≤ VIEW_ITEMS_MAX), from sequence `fromSeq` on. */
export function alertsView(st: ClearingView, fromSeq = 0, limit = VIEW_ITEMS_MAX): JsonValue {
  const out: JsonValue[] = [];
  for (const a of st.clearing.alerts) {
    if (a.seq < fromSeq) continue;
    if (out.length >= Math.min(limit, VIEW_ITEMS_MAX)) break;
    out.push(alertJson(a));
  }
  return out;
}
