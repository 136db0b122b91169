// Explorer: look up a block (GET /blocks/<h>, its records by GET /proofs/<h>/<i>), a
// transaction (GET /transactions/<id> and its proof), an account (GET /accounts/<id>, live
// postings on the `account/<id>` topic when the login may see them) or an anchor
// (GET /anchors/<id>). Every proof is checked here (verify.js) and shown verified or not.

import { $, el, getJson, hex, num, row, short, timeText, unhex } from './util.js';
import { verifyBlock, verifyInclusion } from './verify.js';
import { decode, ROLE_ADMIN, ROLE_REGULATOR } from './dist/src/codec/record.js';

const RECORDS_PAGE = 20;
const POSTINGS_MAX = 200;
const HISTORY_PAGE = 20;
const HISTORY_MAX = 1000;
const HEIGHT = /^[0-9]{1,15}$/;
const U128 = /^(0x[0-9a-fA-F]{1,32}|[0-9]{1,39})$/;

let shared;
/** Unsubscribes what the cards on screen subscribed to (account postings). */
let cleanup = [];

/** The verdict badge: VERIFIED or NOT VERIFIED, and the list of checks behind it. */
export function verdict(v, what = 'proof') {
  return el('div', { class: 'verdict' },
    el('span', { class: `badge ${v.ok ? 'ok' : 'bad'}`, data: { verified: String(v.ok) },
      text: v.ok ? `${what} VERIFIED in this page` : `${what} NOT VERIFIED` }),
    el('ul', { class: 'checks' }, ...v.checks.map((c) =>
      el('li', { class: c.ok ? 'ok' : 'bad',
        text: `${c.ok ? '✓' : '✗'} ${c.name}${c.detail ? `: ${c.detail}` : ''}` }))));
}

const link = (text, kind, q) => el('a', { text, onclick: () => shared.explore(kind, q) });
const card = (kind, title, ...children) => el('div', { class: 'card', data: { kind } }, el('h3', { text: title }),
  ...children);
const fields = (obj) => el('table', {}, el('tbody', {}, ...Object.entries(obj).map(([k, v]) =>
  row([k, typeof v === 'string' && v.length > 40 ? { mono: v } : v]))));

/** A decoded record's fields as display strings (bytes as hex). */
function shown(d) {
  const body = {};
  for (const [k, v] of Object.entries(d.body)) body[k] = v instanceof Uint8Array ? hex(v) : String(v);
  return { kind: d.kind, id: String(d.id), flags: String(d.flags), timestamp: String(d.timestamp),
    signer: hex(d.signer), ...body };
}

async function transactionCard(id) {
  const t = await getJson(`/transactions/${id}`);
  if (t.json === undefined) return undefined;
  const tx = t.json;
  const p = await getJson(`/proofs/${tx.height}/${tx.index}`);
  const v = p.json === undefined
    ? { ok: false, checks: [{ name: 'proof', ok: false, detail: `HTTP ${p.status}` }] }
    : verifyInclusion(p.json, shared.trust,
      { height: tx.height, index: tx.index, record: tx.record, id, kind: 'transfer' });
  return card('transaction', `Transaction ${id}`, verdict(v),
    el('p', {}, 'In block ', link(String(tx.height), 'block', String(tx.height)), ` at index ${tx.index}; result `,
      el('b', { text: `${tx.name} (${tx.code})` }),
      el('span', { class: 'muted', text: ' — as the node reports it (the HTTP API has no result-root proof)' })),
    fields(shown(decode(unhex(tx.record)))));
}

async function anchorCard(id) {
  const a = await getJson(`/anchors/${id}`);
  if (a.json === undefined) return undefined;
  const r = a.json;
  const v = verifyInclusion(r.proof, shared.trust, { height: r.height, index: r.index, id, kind: 'anchor' });
  return card('anchor', `Anchor ${id}`, verdict(v),
    el('p', {}, 'Committed in block ', link(String(r.height), 'block', String(r.height)),
      ` at ${timeText(r.commitTimeMs)} (block time), index ${r.index}`),
    fields(shown(decode(unhex(r.proof.record)))));
}

/** One page of a block's records, each by its own proof, checked against the block's header. */
async function recordRows(h, headerBytes, from, count) {
  const to = Math.min(count, from + RECORDS_PAGE);
  const proofs = await Promise.all(Array.from({ length: to - from }, (_, k) => getJson(`/proofs/${h}/${from + k}`)));
  return proofs.map((p, k) => {
    const i = from + k;
    if (p.json === undefined) return row([String(i), `HTTP ${p.status}`]);
    const v = verifyInclusion(p.json, shared.trust, { height: h, index: i });
    const same = p.json.header === headerBytes;
    const d = decode(unhex(p.json.record));
    const id = String(d.id);
    const target = { transfer: 'transaction', anchor: 'anchor', create_account: 'account' }[d.kind];
    const idCell = target === undefined ? id : link(id, target, id);
    const ok = v.ok && same;
    return row([String(i), d.kind, idCell, { mono: short(hex(d.signer), 12) }, p.code ?? '',
      el('span', { class: `badge ${ok ? 'ok' : 'bad'}`, data: { verified: String(ok) }, text: ok ? '✓' : '✗',
        title: v.checks.filter((c) => !c.ok).map((c) => c.name).join('; ') || 'verified' })]);
  });
}

async function blockCard(q) {
  const h = Number(q);
  const b = await getJson(`/blocks/${h}`);
  if (b.json === undefined) return undefined;
  const j = b.json;
  const v = verifyBlock(j, shared.trust, h);
  const codes = j.codes;
  const names = (i) => `${shared.sdk.resultName(codes[i])} (${codes[i]})`;
  const body = el('tbody');
  const more = el('button', { text: 'more records' });
  let next = 0;
  const page = async () => {
    const rows = await recordRows(h, j.headerBytes, next, j.count);
    rows.forEach((r, k) => { r.children[4].textContent = names(next + k); });
    body.append(...rows);
    next += rows.length;
    more.hidden = next >= j.count;
  };
  more.addEventListener('click', page);
  await page();
  const sigs = j.signatures.match(/.{192}/g) ?? [];
  return card('block', `Block ${h}`, verdict(v, 'signed header'),
    fields({ hash: v.hash, ...Object.fromEntries(Object.entries(j.header).map(([k, x]) => [k, String(x)])),
      time: timeText(j.header.timeMs), signatures: sigs.map((s) => short(s.slice(0, 64), 16)).join(', '),
      certificate: j.certificate === undefined ? 'none (not final, or a single node)'
        : `${j.certificate.length / 192} entries` }),
    el('h3', { text: `Records (${num(j.count)}), each with its inclusion proof checked here` }),
    el('table', {}, el('thead', {}, el('tr', {}, ...['index', 'kind', 'id', 'signer', 'result', 'proof']
      .map((x) => el('th', { text: x })))), body), more);
}

async function accountCard(id) {
  const a = await getJson(`/accounts/${id}`);
  if (a.json === undefined) return undefined;
  const x = a.json;
  const frozen = (x.flags & 0x100) !== 0;
  const postings = el('tbody');
  const c = card('account', `Account ${id}`,
    el('span', { class: 'badge info',
      text: 'balances as the node reports them: the HTTP API offers no account proof' }),
    el('p', {}, el('b', { text: frozen ? 'FROZEN' : 'not frozen', data: { frozen: String(frozen) } }), ' ',
      (shared.roles & ROLE_REGULATOR) === 0 ? undefined : el('button', {
        text: frozen ? 'unfreeze…' : 'freeze…', title: 'prepare the intervention (you confirm it there)',
        onclick: () => prepare(frozen ? 'unfreezeAccount' : 'freezeAccount', id),
      })),
    fields({ ...x, net: String(BigInt(x.creditsPosted) - BigInt(x.debitsPosted)), created: timeText(x.timestampMs) }),
    await historySection(id),
    el('h3', { text: 'Postings from now on (topic account/<id>)' }),
    el('table', {}, el('thead', {}, el('tr', {}, ...['block', 'transfer', 'debit → credit', 'amount', 'result']
      .map((t) => el('th', { text: t })))), postings));
  await subscribePostings(id, postings, c);
  return c;
}

/** Opens Interventions with the action and target filled in; the regulator submits it there. */
function prepare(kind, target) {
  shared.show('interventions');
  $('#act-kind').value = kind;
  $('#act-target').value = String(BigInt(target));
}

/** The account's latest transfers (GET /accounts/<id>/transfers), each checked by its inclusion proof. */
async function historySection(id) {
  const body = el('tbody');
  const more = el('button', { text: 'more' });
  const note = el('p', { class: 'muted' });
  const section = el('div', { data: { history: id } }, el('h3', { text: 'Latest transfers, newest first' }), note,
    el('table', {}, el('thead', {}, el('tr', {}, ...['block', 'index', 'transfer', 'debit → credit', 'amount',
      'status', 'proof'].map((t) => el('th', { text: t })))), body), more);
  let limit = HISTORY_PAGE;
  const load = async () => {
    const r = await getJson(`/accounts/${id}/transfers?limit=${limit}`);
    if (r.json === undefined) {
      note.textContent = `History not available: ${r.error?.error ?? `HTTP ${r.status}`}` +
        `${r.error?.message ? ` (${r.error.message})` : ''}.`;
      more.hidden = true;
      return;
    }
    const ts = r.json.transfers;
    const proofs = await Promise.all(ts.map((t) => getJson(`/proofs/${t.height}/${t.index}`)));
    body.replaceChildren(...ts.map((t, k) => {
      const expect = { height: t.height, index: t.index, id: t.id, kind: 'transfer' };
      const v = proofs[k].json === undefined ? { ok: false, checks: [] }
        : verifyInclusion(proofs[k].json, shared.trust, expect);
      return row([link(String(t.height), 'block', String(t.height)), String(t.index), link(t.id, 'transaction', t.id),
        `${t.debitAccountId} → ${t.creditAccountId}`, t.amount, t.status ?? '',
        el('span', { class: `badge ${v.ok ? 'ok' : 'bad'}`, data: { verified: String(v.ok) },
          text: v.ok ? '✓' : '✗' })]);
    }));
    note.textContent = `${ts.length} shown (GET /accounts/${id}/transfers?limit=${limit}), each proof checked here.`;
    more.hidden = ts.length < limit || limit >= HISTORY_MAX;
    limit = Math.min(limit * 2, HISTORY_MAX);
  };
  more.addEventListener('click', () => load());
  await load();
  return section;
}

async function subscribePostings(id, body, c) {
  const client = shared.client;
  const mayWatch = shared.signer !== undefined;
  if (client === undefined || !mayWatch) {
    c.append(el('p', { class: 'muted', text: 'Log in (as the account\'s controller, an admin or a regulator) ' +
      'to follow its postings live.' }));
    return;
  }
  try {
    const off = await client.subscribe(`account/${BigInt(id)}`, (e) => {
      const d = decode(e.record);
      body.prepend(row([link(String(e.height), 'block', String(e.height)), link(String(d.id), 'transaction',
        String(d.id)), `${d.body.debitAccountId} → ${d.body.creditAccountId}`, String(d.body.amount), e.result]));
      while (body.children.length > POSTINGS_MAX) body.lastChild.remove();
    });
    cleanup.push(off);
  } catch (e) {
    const r = shared.roles;
    const why = (r & (ROLE_ADMIN | ROLE_REGULATOR)) === 0 ? ' (only its controller, admins and regulators)' : '';
    c.append(el('p', { class: 'muted', text: `Postings not available: ${e.name ?? e.message}${why}.` }));
  }
}

const VIEWS = {
  block: { ok: (q) => HEIGHT.test(q), card: blockCard },
  transaction: { ok: (q) => U128.test(q), card: transactionCard },
  account: { ok: (q) => U128.test(q), card: accountCard },
  anchor: { ok: (q) => U128.test(q), card: anchorCard },
};

async function search(q, kind) {
  const out = $('#results');
  for (const off of cleanup.splice(0)) off().catch(() => undefined);
  q = q.trim();
  if (/^[0-9a-fA-F]{64}$/.test(q)) {
    out.replaceChildren(el('p', { text: 'The node\'s HTTP API has no lookup by transaction hash: search by the ' +
      'transfer id (or open its block).' }));
    return;
  }
  const kinds = (kind === 'auto' ? Object.keys(VIEWS) : [kind]).filter((k) => VIEWS[k].ok(q));
  if (kinds.length === 0) {
    out.replaceChildren(el('p', { class: 'error', text: `Not a height or an id: ${q}` }));
    return;
  }
  out.replaceChildren(el('p', { class: 'muted', text: `searching ${kinds.join(', ')} for ${q}…` }));
  const cards = await Promise.all(kinds.map((k) => VIEWS[k].card(q).catch((e) =>
    card(k, `${k} ${q}`, el('p', { class: 'error', text: String(e?.message ?? e) })))));
  const found = cards.filter((c) => c !== undefined);
  const none = el('p', { text: `Nothing found for ${q} (${kinds.join(', ')}).` });
  out.replaceChildren(...(found.length > 0 ? found : [none]));
}

export function initExplorer(ctx) {
  shared = ctx;
  ctx.explore = (kind, q) => {
    ctx.show('explorer');
    $('#q').value = q;
    $('#qkind').value = kind;
    return search(q, kind);
  };
  $('#search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search($('#q').value, $('#qkind').value);
  });
}
