// The console's entry point: loads the client SDK (native ES modules and the WASM core, served
// by the node under /console/dist and /console/build), connects to the node's WebSocket with
// the SDK (reconnecting when the node restarts), decides which node keys proofs are checked
// against, and wires the views. The private key of a login lives in `ctx.signer` only.

import * as sdk from './dist/src/client/index.js';
import { getPublicKey } from './dist/src/crypto/sm2.js';
import { $, el, getJson, hex, short, signRequests, unhex } from './util.js';
import { genesisNodeKeys, verifyBlock, verifyInclusion } from './verify.js';
import { initLive } from './live.js';
import { initExplorer } from './explorer.js';
import { initAlerts } from './alerts.js';
import { initInterventions } from './interventions.js';

const PINNED_KEY = 'gmledger.console.nodeKeys';
const ROLE_NAMES = ['admin', 'regulator', 'operator', 'participant', 'node'];
/** A reconnecting client gives up only after this long without the node (then the page starts over). */
const FAILOVER_MS = 3_600_000;

/** What the views share. */
const ctx = {
  sdk,
  client: undefined,
  chainId: undefined,
  signer: undefined,
  roles: 0,
  trust: { nodeKeys: [], keyIds: new Map(), source: 'none' },
  blockHandlers: [],
  loginHandlers: [],
  trustHandlers: [],
  show,
  explore: undefined,
};

export const roleNames = (roles) => ROLE_NAMES.filter((_, i) => (roles & (1 << i)) !== 0).join(', ') || 'none';

function show(view) {
  for (const b of document.querySelectorAll('nav button')) b.classList.toggle('on', b.dataset.view === view);
  for (const s of document.querySelectorAll('.view')) s.classList.toggle('on', s.id === `view-${view}`);
}

/** Whether the WebSocket and the HTTP API answer; the pill in the header shows both. */
const link = { ws: false, http: true };

export function linkState(part, up) {
  link[part] = up;
  const state = link.ws && link.http ? 'connected' : 'reconnecting';
  const p = $('#conn');
  p.dataset.state = state;
  p.textContent = link.ws && !link.http ? 'HTTP API unreachable' : state;
}

/** The browser's WebSocket, reporting its own closing (the SDK then reconnects by itself). */
class WatchedSocket extends window.WebSocket {
  constructor(url) {
    super(url);
    this.addEventListener('close', () => linkState('ws', false));
  }
}

const wsUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Connects (again) with the SDK: a one-URL list, so the client itself reconnects and
 * re-authenticates and re-subscribes after a lost connection; when it gives up, start over.
 */
async function connect() {
  const old = ctx.client;
  ctx.client = undefined;
  if (old !== undefined) {
    old.replaced = true;
    await old.close().catch(() => undefined);
  }
  for (;;) {
    try {
      const auth = ctx.signer === undefined ? undefined : sdk.authSigner(ctx.signer);
      const c = await sdk.Client.connect([wsUrl()], {
        signer: auth, failoverTimeoutMs: FAILOVER_MS, WebSocket: WatchedSocket,
      });
      c.onFailover(() => linkState('ws', true));
      c.onClose(() => {
        if (!c.replaced) sleep(1000).then(connect);
      });
      ctx.chainId = c.chainId;
      ctx.roles = c.roles;
      // Signed HTTP requests (a node with --http-auth, the regulator's /alerts) with the same key.
      const signer = ctx.signer;
      signRequests(signer === undefined || typeof sdk.httpAuthorization !== 'function' ? undefined
        : (path) => sdk.httpAuthorization(sdk.authSigner(signer), c.chainId, path));
      await c.subscribe('blocks', (e) => { for (const h of ctx.blockHandlers) h(e); });
      ctx.client = c;
      linkState('ws', true);
      $('#chain').textContent = `chain ${c.chainId}`;
      for (const h of ctx.loginHandlers) await h();
      // A node with --http-auth answers /blocks/0 only to a signed request: load the keys now.
      if (ctx.trust.nodeKeys.length === 0 && signer !== undefined) await loadTrust().catch(() => undefined);
      return;
    } catch (e) {
      linkState('ws', false);
      if (e?.name === 'auth_failed') {
        logout(`login refused: ${e.message}`);
        continue;
      }
      await sleep(1000);
    }
  }
}

/** Reads a private key file (hex) into the page and logs in with it: a new, authenticated connection. */
async function login(file) {
  const status = $('#login-status');
  const text = (await file.text()).trim();
  if (/^(04)?[0-9a-fA-F]{128}$/.test(text)) {
    status.textContent = 'That is a public key (.pub): choose the private key file (.key).';
    return;
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    status.textContent = 'Not a key file: expected 64 hex digits (gmledger keygen\'s <name>.key).';
    return;
  }
  const privateKey = unhex(text);
  ctx.signer = sdk.signerFromKeyPair({ privateKey, publicKey: getPublicKey(privateKey) });
  status.textContent = 'logging in…';
  await connect();
  if (ctx.signer === undefined) return;
  const who = `${short(hex(ctx.signer.keyId), 16)} (${roleNames(ctx.roles)})`;
  status.textContent = `Logged in as ${who}.`;
  status.dataset.roles = String(ctx.roles);
  $('#who').textContent = `logged in: ${who}`;
  $('#logout').disabled = false;
}

function logout(message = 'Logged out: the key is forgotten.') {
  ctx.signer = undefined;
  signRequests(undefined);
  ctx.roles = 0;
  $('#login-status').textContent = message;
  delete $('#login-status').dataset.roles;
  $('#who').textContent = 'not logged in';
  $('#logout').disabled = true;
}

/** The node keys proofs are checked against: pinned ones, else the genesis block's node keys. */
async function loadTrust() {
  const pinned = localStorage.getItem(PINNED_KEY);
  let keys;
  let source;
  if (pinned) {
    keys = pinned.split(/\s+/).filter((s) => s !== '').map(unhex);
    source = 'pinned under Access';
  } else {
    const b = await getJson('/blocks/0');
    const n = b.json?.count ?? 0;
    const proofs = await Promise.all(Array.from({ length: n }, (_, i) => getJson(`/proofs/0/${i}`)));
    keys = genesisNodeKeys(proofs.filter((p) => p.json !== undefined).map((p) => p.json));
    source = 'taken from this node\'s genesis block (trust on first use: pin them under Access)';
  }
  const keyIds = new Map(keys.map((pk) => [pk, short(hex(sdk.keyIdOf(pk)), 16)]));
  ctx.trust = { nodeKeys: keys, keyIds, source };
  const text = keys.length === 0
    ? 'No trusted node key: every proof shows NOT VERIFIED. Pin node keys under Access, or log in (a node ' +
      'started with --http-auth shows its genesis block only to signed requests).'
    : `Proofs are checked in this page against ${keys.length} node key(s) ${[...keyIds.values()].join(', ')}, ` +
      `${source}.`;
  $('#trust').textContent = text;
  $('#trust-status').textContent = text;
  $('#pinned').value = keys.map(hex).join('\n');
  for (const h of ctx.trustHandlers) h();
}

function initAccess() {
  $('#keyfile').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    ev.target.value = '';
    if (f !== undefined) login(f).catch((e) => { $('#login-status').textContent = `login failed: ${e.message}`; });
  });
  $('#logout').addEventListener('click', () => {
    logout();
    connect();
  });
  $('#pin').addEventListener('click', () => {
    try {
      const keys = $('#pinned').value.split(/\s+/).filter((s) => s !== '');
      if (keys.length === 0 || keys.some((k) => unhex(k).length !== 65)) throw new Error('65-byte public keys, hex');
      localStorage.setItem(PINNED_KEY, keys.join('\n'));
      loadTrust();
    } catch (e) {
      $('#trust-status').textContent = `not pinned: ${e.message}`;
    }
  });
  $('#unpin').addEventListener('click', () => {
    localStorage.removeItem(PINNED_KEY);
    loadTrust();
  });
}

async function main() {
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => show(b.dataset.view));
  initAccess();
  initLive(ctx);
  initExplorer(ctx);
  initAlerts(ctx);
  initInterventions(ctx);
  await loadTrust().catch((e) => { $('#trust').textContent = `no trusted node keys: ${e.message}`; });
  await connect();
}

// For the browser test and for people at the devtools console: the checks, and the state.
window.gmConsole = { ctx, verifyInclusion, verifyBlock, el, ready: false };
main().then(() => { window.gmConsole.ready = true; });
