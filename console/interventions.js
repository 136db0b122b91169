// Interventions: freeze / unfreeze an account, halt / resume a ledger (docs/protocol.md §2,
// kinds 5–8, regulator keys). The record is built and SM2-signed in this page with the key
// loaded under Access (the SDK's records.* with the WASM core), submitted over the
// WebSocket, and its result shown with the block it landed in — whose inclusion proof is
// then fetched and checked here too.

import { $, el, getJson, hex } from './util.js';
import { verifyInclusion } from './verify.js';
import { verdict } from './explorer.js';
import { ROLE_REGULATOR } from './dist/src/codec/record.js';

const ACTIONS = {
  freezeAccount: { field: 'accountId', parse: (s) => BigInt(s) },
  unfreezeAccount: { field: 'accountId', parse: (s) => BigInt(s) },
  haltLedger: { field: 'ledger', parse: (s) => Number(s) },
  resumeLedger: { field: 'ledger', parse: (s) => Number(s) },
};

let shared;
let requestSeq = 0;

/** A fresh request id (the namespace of regulator acts): ms clock × 1000 + a counter. */
function requestId() {
  requestSeq = (requestSeq + 1) % 1000;
  return BigInt(Date.now()) * 1000n + BigInt(requestSeq);
}

function fail(text) {
  $('#act-result').replaceChildren(el('p', { class: 'error', text, data: { result: 'error' } }));
}

async function act() {
  const { sdk, signer, client } = shared;
  if (signer === undefined || client === undefined) return fail('Log in first (Access) with a regulator key.');
  if ((shared.roles & ROLE_REGULATOR) === 0) return fail('This key does not hold the regulator role.');
  const kind = $('#act-kind').value;
  const a = ACTIONS[kind];
  const target = $('#act-target').value.trim();
  if (!/^[0-9]{1,39}$/.test(target)) return fail('Give an account id or a ledger number (decimal).');
  let record;
  const id = requestId();
  try {
    record = sdk.records[kind]({ chainId: shared.chainId, id, [a.field]: a.parse(target) }, signer);
  } catch (e) {
    return fail(`Cannot build the record: ${e.message}`);
  }
  $('#act-result').replaceChildren(el('p', { class: 'muted', text: 'signed in this page; submitting…' }));
  const r = await client.submit(record);
  const out = [el('p', {}, el('span', { class: `badge ${r.ok ? 'ok' : 'bad'}`, text: r.result,
    data: { result: r.result } }), ` ${kind} ${target}, request id ${id}`)];
  if (r.height >= 0) {
    const link = el('a', { text: `block ${r.height}`, data: { height: String(r.height) },
      onclick: () => shared.explore('block', String(r.height)) });
    out.push(el('p', {}, `On the chain in `, link, `, index ${r.index}.`));
    const p = await getJson(`/proofs/${r.height}/${r.index}`);
    if (p.json !== undefined) {
      const expect = { height: r.height, index: r.index, record: hex(record) };
      out.push(verdict(verifyInclusion(p.json, shared.trust, expect)));
    }
  } else {
    out.push(el('p', { text: 'Refused at admission: not on the chain.' }));
  }
  $('#act-result').replaceChildren(...out);
}

export function initInterventions(ctx) {
  shared = ctx;
  $('#act').addEventListener('submit', (ev) => {
    ev.preventDefault();
    act().catch((e) => fail(`Failed: ${e.message}`));
  });
}
