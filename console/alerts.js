// Alerts: the regulator's view of the chain as it happens — the `firehose` topic (every record
// of every block with its result; regulator keys only) and the `alarms` topic (a consortium
// node's alarms: divergence, bad batches, bad signatures; admins and regulators), as one live
// list with filters. Each category keeps its own ring, so that a busy chain's plain transfers
// and refusals never push the interventions and alarms off the list. A record event is
// classified by its kind byte and code alone; it is decoded only when shown or filtered.

import { $, el, getJson, hex, row, short, timeText } from './util.js';
import { decode, Kind, ROLE_ADMIN, ROLE_REGULATOR } from './dist/src/codec/record.js';

/** Entries kept per category, and the newest of them shown (a busy chain's refusals crowd out nothing). */
const KEPT = { intervention: 2000, regulation: 2000, rulealert: 2000, alarm: 2000, refused: 300, record: 300 };
const SHOWN = { intervention: 200, regulation: 200, rulealert: 200, alarm: 200, refused: 100, record: 100 };
/** The clearing rules' alerts (GET /alerts, regulators only) are polled this often. */
const RULE_ALERTS_MS = 2000;
const kinds = (names) => new Set(names.map((n) => Kind[n]).filter((k) => k !== undefined));
const INTERVENTIONS = kinds(['freeze_account', 'unfreeze_account', 'halt_ledger', 'resume_ledger']);
const REGULATION = kinds(['rule', 'cycle_regulate', 'cycle_open', 'cycle_close', 'cycle_member']);

const lists = Object.fromEntries(Object.keys(KEPT).map((k) => [k, []]));
let seq = 0;
let shared;
let renderQueued = false;

function detail(d) {
  const b = d.body;
  switch (d.kind) {
    case 'transfer': return `${b.debitAccountId} → ${b.creditAccountId}: ${b.amount} on ledger ${b.ledger}`;
    case 'freeze_account': case 'unfreeze_account': return `account ${b.accountId}`;
    case 'halt_ledger': case 'resume_ledger': return `ledger ${b.ledger}`;
    case 'rule': return `rule ${b.ruleId} on ledger ${b.ledger}, tier ${b.tier}`;
    case 'register_key': return `roles ${b.roles}`;
    case 'create_account': return `ledger ${b.ledger}, code ${b.code}`;
    default: return Object.entries(b).map(([k, v]) => `${k} ${v instanceof Uint8Array ? short(hex(v)) : v}`).join(', ');
  }
}

function fromRecord(e) {
  const k = e.record[1];
  const what = INTERVENTIONS.has(k) ? 'intervention' : REGULATION.has(k) ? 'regulation'
    : e.code !== 0 ? 'refused' : 'record';
  return { what, timeMs: Date.now(), event: e, height: e.height };
}

/** The entry's display fields, decoding its record the first time they are needed. */
function fields(a) {
  if (a.kind === undefined) {
    const e = a.event;
    const d = decode(e.record);
    Object.assign(a, { kind: d.kind, id: String(d.id), detail: `${detail(d)}; signer ${short(hex(d.signer))}`,
      result: e.result });
  }
  return a;
}

function fromAlarm(a) {
  return {
    what: 'alarm', timeMs: a.timeMs ?? Date.now(), kind: a.kind,
    id: a.seq === undefined ? '' : String(a.seq),
    detail: `${a.detail ?? ''}${a.node ? `; node ${short(a.node)}` : ''}`, result: '', height: a.height,
  };
}

/** A clearing rule's alert (tier "alert": the transfer went through, the regulator is told). */
function fromRuleAlert(a) {
  return {
    what: 'rulealert', timeMs: a.timeMs ?? Date.now(), kind: a.violation ?? 'rule', id: String(a.transferId ?? ''),
    detail: `rule ${a.ruleId}: account ${a.accountId}, amount ${a.amount}, ledger ${a.ledger}`, result: 'alert',
    height: a.height,
  };
}

let ruleAlerts = { timer: undefined, from: 0 };

/** Polls GET /alerts?from=<next seq> (signed: the regulator's); stops where the node has no such route. */
function pollRuleAlerts(note) {
  clearTimeout(ruleAlerts.timer);
  const mine = { timer: undefined, from: ruleAlerts.from };
  ruleAlerts = mine;
  const poll = async () => {
    const r = await getJson(`/alerts?from=${mine.from}&limit=200`).catch(() => ({ status: 0 }));
    if (ruleAlerts !== mine) return;
    const list = Array.isArray(r.json) ? r.json : Array.isArray(r.json?.alerts) ? r.json.alerts : undefined;
    if (list !== undefined) {
      for (const a of list) {
        add(fromRuleAlert(a));
        mine.from = Math.max(mine.from, Number(a.seq) + 1);
      }
    } else if (r.status !== 0 && r.status !== 503) {
      note.dataset.ruleAlerts = 'none';
      return; // this node offers no rule alerts (no clearing app, or an older node)
    }
    note.dataset.ruleAlerts = 'polling';
    mine.timer = setTimeout(poll, RULE_ALERTS_MS);
  };
  poll();
}

function add(entry) {
  const list = lists[entry.what];
  entry.seq = seq++;
  list.push(entry);
  if (list.length >= 2 * KEPT[entry.what]) list.splice(0, list.length - KEPT[entry.what]);
  if (!renderQueued) {
    renderQueued = true;
    setTimeout(render, 200);
  }
}

function render() {
  renderQueued = false;
  if (!$('#view-alerts').classList.contains('on')) return; // drawn when the view is opened
  const boxes = document.querySelectorAll('#alert-filters input[type=checkbox][value]:checked');
  const on = new Set([...boxes].map((c) => c.value));
  const text = $('#alert-text').value.trim().toLowerCase();
  const matches = (a) => text === '' || `${a.what} ${a.kind} ${a.id} ${a.detail} ${a.result}`.toLowerCase()
    .includes(text);
  const shown = [];
  for (const k of on) {
    const list = lists[k] ?? [];
    let n = 0;
    for (let i = list.length - 1; i >= Math.max(0, list.length - KEPT[k]) && n < SHOWN[k]; i--) {
      if (matches(fields(list[i]))) {
        shown.push(list[i]);
        n++;
      }
    }
  }
  shown.sort((a, b) => b.seq - a.seq);
  $('#alerts tbody').replaceChildren(...shown.map((a) => row([timeText(a.timeMs).slice(11), a.what, a.kind, a.id,
    a.detail, a.result, a.height === undefined || a.height < 0 ? '' : el('a', {
      text: String(a.height), onclick: () => shared.explore('block', String(a.height)) })],
  { data: { what: a.what, kind: a.kind, id: a.id } })));
  const kept = Object.entries(lists).map(([k, l]) => `${Math.min(l.length, KEPT[k])} ${k}`).join(', ');
  $('#alert-count').textContent = `${shown.length} shown; kept: ${kept}`;
}

const onFirehose = (e) => add(fromRecord(e));
let offFirehose;

/** The "follow the firehose" switch: every record costs the node a send and this page a parse. */
async function follow(on) {
  const { client, roles } = shared;
  if (client === undefined || shared.signer === undefined || (roles & ROLE_REGULATOR) === 0) return;
  if (!on && offFirehose !== undefined) {
    const off = offFirehose;
    offFirehose = undefined;
    await off();
  } else if (on && offFirehose === undefined) {
    offFirehose = await client.subscribe('firehose', onFirehose);
  }
}

/** After each (re)connection: subscribe to what the login may see. */
async function subscribe() {
  const { client, roles } = shared;
  const note = $('#alerts-note');
  offFirehose = undefined;
  clearTimeout(ruleAlerts.timer);
  ruleAlerts = { timer: undefined, from: ruleAlerts.from };
  if (shared.signer === undefined) {
    note.textContent = 'Log in with a regulator key (Access) to see the firehose and alarms.';
    delete note.dataset.topics;
    return;
  }
  const topics = [];
  if ((roles & ROLE_REGULATOR) !== 0 && $('#follow-firehose').checked) {
    offFirehose = await client.subscribe('firehose', onFirehose);
    topics.push('firehose');
  }
  if ((roles & ROLE_REGULATOR) !== 0) pollRuleAlerts(note);
  if ((roles & (ROLE_ADMIN | ROLE_REGULATOR)) !== 0) {
    await client.subscribe('alarms', (a) => add(fromAlarm(a)));
    topics.push('alarms');
  }
  note.textContent = topics.length > 0 ? `Live: ${topics.join(' and ')} since ${timeText(Date.now())}.`
    : 'This key may see neither the firehose (regulators) nor alarms (admins, regulators).';
  note.dataset.topics = topics.join(',');
}

export function initAlerts(ctx) {
  shared = ctx;
  ctx.loginHandlers.push(subscribe);
  for (const i of document.querySelectorAll('#alert-filters input')) i.addEventListener('input', render);
  $('nav button[data-view=alerts]').addEventListener('click', () => setTimeout(render));
  $('#follow-firehose').addEventListener('change', (ev) => { follow(ev.target.checked).catch(() => undefined); });
}
