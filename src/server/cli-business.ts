// The business commands of the gmledger CLI (docs/operations.md, "Business commands"): keys,
// accounts, transfers, lookups with proofs, the regulator's acts, anchors, and an
// interactive console — all over a node's WebSocket and HTTP APIs with the SDK, with keys
// from files. Nothing here touches a chain directory.

import { readFile } from 'node:fs/promises';
import { readPrivateKeyFile } from '../ledger/config.js';
import { parseArgs } from 'node:util';
import { Client, ClientError, authSigner, httpGet, type Result } from '../client/index.js';
import { records, signerFromKeyPair, type Signer } from '../codec/builders.js';
import {
  ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS, ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, ROLE_ADMIN, ROLE_NODE,
  ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_REGULATOR, TRANSFER_PENDING, TRANSFER_POST_PENDING, TRANSFER_QUEUE,
  TRANSFER_VOID_PENDING, U128_MAX,
} from '../codec/record.js';
import { type InclusionProof, verifyInclusionProof } from '../codec/block.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import { sm3 } from '../crypto/hash.js';
import { sm2Backend } from '../crypto/sm2-backend.js';

export const DEFAULT_URL = 'ws://127.0.0.1:7300/ws';

export const BUSINESS_USAGE = `business commands (over a running node; keys from files made by gmledger keygen <base>):
  gmledger key register <pub file|hex> --roles <r,…> [--ledger <n>]   (an admin's --key)
  gmledger account create <id> --ledger <n> --code <n> [--flags <f,…>] [--controller <pub file|hex>] [--user-data <n>]
  gmledger account show <id>                          the account as of the last durable block
  gmledger account history <id> [--limit <n>]         its transfers, newest first
  gmledger transfer --from <id> --to <id> --amount <n> --ledger <n> --code <n> [--pending [--timeout <s>]] [--queue]
  gmledger post <pending id> [--amount <n>]           post a pending transfer (all of it by default)
  gmledger void <pending id>                          void a pending transfer
  gmledger tx <id> [--node-pub <file|hex>]            a transfer with its inclusion proof, checked here
  gmledger freeze|unfreeze <account id>               (a regulator's --key)
  gmledger halt|resume <ledger>                       (a regulator's --key)
  gmledger anchor <file>                              anchor the file's SM3 digest; prints the receipt
  gmledger console                                    a REPL with the SDK connected and authenticated
  gmledger audit verify <file>                        check a node's audit trail and its anchors on the chain
options for all: --url <ws url> (default ${DEFAULT_URL}, env GMLEDGER_URL), --key <file> (env GMLEDGER_KEY;
  the signing key, hex), --id <n> (the record id; default random: give one to retry safely), --json, -h/--help.
exit status: 0 applied (or exists), 1 refused (the result code is printed), 2 bad usage or unreachable node.`;

const COMMANDS = new Set([
  'key', 'account', 'transfer', 'post', 'void', 'tx', 'freeze', 'unfreeze', 'halt', 'resume', 'anchor',
  'console', 'audit',
]);

export function isBusinessCommand(cmd: string | undefined): boolean {
  return cmd !== undefined && COMMANDS.has(cmd);
}

const OPTIONS = {
  url: { type: 'string' }, key: { type: 'string' }, id: { type: 'string' }, json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }, roles: { type: 'string' }, ledger: { type: 'string' },
  code: { type: 'string' }, flags: { type: 'string' }, controller: { type: 'string' }, 'user-data': { type: 'string' },
  limit: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, amount: { type: 'string' },
  pending: { type: 'boolean' }, timeout: { type: 'string' }, queue: { type: 'boolean' }, 'node-pub': { type: 'string' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** A usage error: printed with the usage, exit 2. */
class Usage extends Error {}

function u128(name: string, v: string | undefined): bigint {
  if (v === undefined) throw new Usage(`--${name} is required`);
  if (!/^(0|[1-9][0-9]{0,38}|0x[0-9a-fA-F]{1,32})$/.test(v) || BigInt(v) > U128_MAX) {
    throw new Usage(`${name} must be a u128 (decimal or 0x-hex), got ${JSON.stringify(v)}`);
  }
  return BigInt(v);
}

function uint(name: string, v: string | undefined, max: number, required = true): number | undefined {
  if (v === undefined) {
    if (required) throw new Usage(`--${name} is required`);
    return undefined;
  }
  if (!/^[0-9]{1,10}$/.test(v) || Number(v) > max) throw new Usage(`--${name} must be an integer in [0, ${max}], got ${v}`);
  return Number(v);
}

/** A random u128 record id (never 0 or 2¹²⁸−1). */
export function randomId(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v === 0n || v === U128_MAX ? 1n : v;
}

/** A private key file (64 hex characters, readable by its owner only), as a Signer; a bad file is a usage error. */
export async function readSigner(file: string): Promise<Signer> {
  let privateKey: Uint8Array;
  try {
    privateKey = await readPrivateKeyFile(file, 'gmledger keygen <base> makes one', 'signing');
  } catch (e) {
    throw new Usage((e as Error).message);
  }
  return signerFromKeyPair({ privateKey, publicKey: sm2Backend.getPublicKey(privateKey) });
}

/** A public key given as a .pub file or as 130 hex characters. */
async function readPublicKey(v: string): Promise<Uint8Array> {
  const text = /^(04)?[0-9a-fA-F]{128}$/.test(v) ? v : (await readFile(v, 'utf8').catch(() => {
    throw new Usage(`${v}: neither a public key (130 hex characters) nor a readable .pub file`);
  })).trim();
  if (!/^04[0-9a-fA-F]{128}$/.test(text)) throw new Usage(`${v}: not an SM2 public key (04 ‖ x ‖ y, 130 hex)`);
  return fromHex(text);
}

const ROLE_NAMES: Record<string, number> = {
  admin: ROLE_ADMIN, regulator: ROLE_REGULATOR, operator: ROLE_OPERATOR, participant: ROLE_PARTICIPANT, node: ROLE_NODE,
};
const FLAG_NAMES: Record<string, number> = {
  debits_must_not_exceed_credits: ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS,
  credits_must_not_exceed_debits: ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS,
};

function bits(what: string, v: string | undefined, names: Record<string, number>): number {
  let out = 0;
  for (const n of (v ?? '').split(',').filter((x) => x !== '')) {
    if (!(n in names)) {
      throw new Usage(`unknown ${what} ${JSON.stringify(n)} (one of ${Object.keys(names).join(', ')})`);
    }
    out |= names[n];
  }
  return out;
}

interface Ctx { values: Values; url: string; http: string; json: boolean; out: (s: string, j?: unknown) => void }

function httpBase(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Usage(`--url must be ws:// or wss://, got ${url}`);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

/** GET a node path as JSON; signed with --key when one is given (a node started with --http-auth needs it). */
async function getJson(ctx: Ctx, path: string): Promise<Record<string, unknown> | undefined> {
  const file = ctx.values.key ?? process.env.GMLEDGER_KEY;
  const signer = file === undefined ? undefined : authSigner(await readSigner(file));
  return httpGet(ctx.http, path, { signer }) as Promise<Record<string, unknown> | undefined>;
}

async function signerOf(ctx: Ctx): Promise<Signer> {
  const file = ctx.values.key ?? process.env.GMLEDGER_KEY;
  if (file === undefined) throw new Usage('--key <file> is required (the signing key; gmledger keygen makes one)');
  return readSigner(file);
}

/** Connects, authenticates with `signer`, submits the records, prints each result; exit 0 if all ok/exists. */
async function submit(ctx: Ctx, signer: Signer, build: (chainId: number, s: Signer) => Uint8Array[]): Promise<number> {
  const client = await Client.connect(ctx.url, { signer: authSigner(signer) });
  try {
    const results: Result[] = await client.submitBatch(build(client.chainId, signer));
    let refused = false;
    for (const r of results) {
      if (!r.ok && r.result !== 'exists') refused = true;
      ctx.out(r.height >= 0 ? `${r.result} (block ${r.height}, index ${r.index})` : r.result, r);
    }
    return refused ? 1 : 0;
  } finally {
    await client.close();
  }
}

export async function businessCommand(cmd: string, argv: string[]): Promise<number> {
  let ctx: Ctx | undefined;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help === true) { console.log(BUSINESS_USAGE); return 0; }
    const url = values.url ?? process.env.GMLEDGER_URL ?? DEFAULT_URL;
    const json = values.json === true;
    ctx = {
      values: values as Values, url, http: httpBase(url), json,
      out: (s, j) => { console.log(json && j !== undefined ? JSON.stringify(j, jsonBig) : s); },
    };
    return await run(cmd, positionals, ctx);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof Usage || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`gmledger ${cmd}: ${(e as Error).message}\n(gmledger ${cmd} --help for usage)`);
      return 2;
    }
    if (e instanceof ClientError || (e as Error).message.includes('ECONNREFUSED') || e instanceof TypeError) {
      console.error(`gmledger ${cmd}: ${(e as Error).message}${ctx ? ` (node at ${ctx.url})` : ''}`);
      return 2;
    }
    throw e;
  }
}

function jsonBig(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v;
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new Usage(`expected one ${what}, got ${positionals.length} arguments`);
  return positionals[0];
}

async function run(cmd: string, p: string[], ctx: Ctx): Promise<number> {
  const v = ctx.values;
  const id = (): bigint => (v.id === undefined ? randomId() : u128('id', v.id));
  switch (cmd) {
    case 'key': {
      if (p[0] !== 'register' || p.length !== 2) {
        throw new Usage('usage: gmledger key register <pub file|hex> --roles …');
      }
      const publicKey = await readPublicKey(p[1]);
      const roles = bits('role', v.roles, ROLE_NAMES);
      if (roles === 0) throw new Usage('--roles is required: admin, regulator, operator, participant, node');
      const ledger = uint('ledger', v.ledger, 0xffffffff, false);
      return submit(ctx, await signerOf(ctx), (chainId, s) =>
        [records.registerKey({ chainId, id: id(), publicKey, roles, ...(ledger ? { ledger } : {}) }, s)]);
    }
    case 'account': return account(p, ctx, id);
    case 'transfer': return transfer(ctx, id);
    case 'post': case 'void': {
      const pendingId = u128('pending id', one(p, 'pending transfer id'));
      const amount = cmd === 'post' && v.amount !== undefined ? u128('amount', v.amount) : undefined;
      const flags = cmd === 'post' ? TRANSFER_POST_PENDING : TRANSFER_VOID_PENDING;
      return submit(ctx, await signerOf(ctx), (chainId, s) =>
        [records.transfer({ chainId, id: id(), flags, pendingId, ...(amount ? { amount } : {}) }, s)]);
    }
    case 'tx': return tx(one(p, 'transfer id'), ctx);
    case 'freeze': case 'unfreeze': {
      const accountId = u128('account id', one(p, 'account id'));
      const build = cmd === 'freeze' ? records.freezeAccount : records.unfreezeAccount;
      return submit(ctx, await signerOf(ctx), (chainId, s) => [build({ chainId, id: id(), accountId }, s)]);
    }
    case 'halt': case 'resume': {
      const ledger = uint('ledger', one(p, 'ledger'), 0xffffffff)!;
      const build = cmd === 'halt' ? records.haltLedger : records.resumeLedger;
      return submit(ctx, await signerOf(ctx), (chainId, s) => [build({ chainId, id: id(), ledger }, s)]);
    }
    case 'anchor': return anchor(one(p, 'file'), ctx, id());
    case 'console': return (await import('./cli-console.js')).consoleCommand(ctx.url, await signerOf(ctx), ctx.http);
    case 'audit': {
      if (p[0] !== 'verify' || p.length !== 2) throw new Usage('usage: gmledger audit verify <file>');
      return auditVerify(p[1], ctx);
    }
  }
  throw new Usage(`unknown command ${cmd}`);
}

async function account(p: string[], ctx: Ctx, id: () => bigint): Promise<number> {
  const v = ctx.values;
  const [what, idText, ...extra] = p;
  if (extra.length > 0 || idText === undefined) throw new Usage('usage: gmledger account create|show|history <id> …');
  const accountId = u128('account id', idText);
  if (what === 'create') {
    const signer = await signerOf(ctx);
    const ledger = uint('ledger', v.ledger, 0xffffffff)!;
    const code = uint('code', v.code, 0xffff)!;
    const flags = bits('flag', v.flags, FLAG_NAMES);
    const controller = v.controller === undefined ? signer.keyId : sm3(await readPublicKey(v.controller));
    const userData = v['user-data'] === undefined ? undefined : u128('user-data', v['user-data']);
    void id;
    return submit(ctx, signer, (chainId, s) => [records.createAccount({
      chainId, id: accountId, ledger, code, flags, controller, ...(userData !== undefined ? { userData } : {}),
    }, s)]);
  }
  if (what === 'show') {
    const a = await getJson(ctx, `/accounts/${accountId}`);
    if (a === undefined) { ctx.out(`no account ${accountId}`, { error: 'not_found' }); return 1; }
    ctx.out(Object.entries(a).map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
      .join('\n'), a);
    return 0;
  }
  if (what === 'history') {
    const limit = uint('limit', v.limit, 1000, false) ?? 20;
    const h = await getJson(ctx, `/accounts/${accountId}/transfers?limit=${limit}`);
    if (h === undefined) { ctx.out(`no account ${accountId}`, { error: 'not_found' }); return 1; }
    const list = h.transfers as Record<string, unknown>[];
    ctx.out(list.length === 0 ? 'no transfers' : list.map((t) =>
      `${String(t.timestampMs)} block ${String(t.height)}#${String(t.index)} ${String(t.id)}: ` +
      `${String(t.debitAccountId)} → ${String(t.creditAccountId)} ${String(t.amount)} (${String(t.status)})`)
      .join('\n'), h);
    return 0;
  }
  throw new Usage(`account ${String(what)}: expected create, show or history`);
}

async function transfer(ctx: Ctx, id: () => bigint): Promise<number> {
  const v = ctx.values;
  const debitAccountId = u128('from', v.from);
  const creditAccountId = u128('to', v.to);
  const amount = u128('amount', v.amount);
  const ledger = uint('ledger', v.ledger, 0xffffffff)!;
  const code = uint('code', v.code, 0xffff)!;
  const timeout = uint('timeout', v.timeout, 0xffffffff, false);
  if (timeout !== undefined && v.pending !== true && v.queue !== true) {
    throw new Usage('--timeout needs --pending or --queue');
  }
  const flags = (v.pending === true ? TRANSFER_PENDING : 0) | (v.queue === true ? TRANSFER_QUEUE : 0);
  const userData = v['user-data'] === undefined ? undefined : u128('user-data', v['user-data']);
  return submit(ctx, await signerOf(ctx), (chainId, s) => [records.transfer({
    chainId, id: id(), flags, debitAccountId, creditAccountId, amount, ledger, code,
    ...(timeout !== undefined ? { timeout } : {}), ...(userData !== undefined ? { userData } : {}),
  }, s)]);
}

/** A transfer by id, then its block's inclusion proof, checked here (with the node's key: its signature too). */
async function tx(idText: string, ctx: Ctx): Promise<number> {
  const transferId = u128('transfer id', idText);
  const t = await getJson(ctx, `/transactions/${transferId}`);
  if (t === undefined) { ctx.out(`no transfer ${transferId}`, { error: 'not_found' }); return 1; }
  const p = await getJson(ctx, `/proofs/${String(t.height)}/${String(t.index)}`);
  if (p === undefined) throw new Error(`no proof for block ${String(t.height)} index ${String(t.index)}`);
  const proof: InclusionProof = {
    record: fromHex(p.record as string), index: p.index as number, treeSize: p.treeSize as number,
    proof: (p.proof as string[]).map(fromHex), header: fromHex(p.header as string),
    signatures: fromHex(p.signatures as string),
  };
  const nodePub = ctx.values['node-pub'] === undefined ? undefined : await readPublicKey(ctx.values['node-pub']);
  const ok = verifyInclusionProof(proof, nodePub);
  const how = nodePub === undefined ? 'Merkle path only: pass --node-pub to check the node\'s signature too'
    : 'Merkle path and the node\'s signature';
  ctx.out(`${Object.entries(t).map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join('\n')}\nproof: ${ok ? 'verified' : 'NOT VERIFIED'} (${how})`, { ...t, proofVerified: ok, proofChecks: how });
  return ok ? 0 : 1;
}

async function anchor(file: string, ctx: Ctx, id: bigint): Promise<number> {
  let data: Uint8Array;
  try {
    data = await readFile(file);
  } catch (e) {
    throw new Usage(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const digest = sm3(data);
  const code = await submit(ctx, await signerOf(ctx), (chainId, s) => [records.anchor({ chainId, id, digest }, s)]);
  if (code !== 0) return code;
  const receipt = await getJson(ctx, `/anchors/${id}`);
  ctx.out(`anchor ${id}: SM3 ${toHex(digest)} of ${file}; receipt: block ${String(receipt?.height)}, ` +
    `committed at ${String(receipt?.commitTimeMs)} ms`, { id: id.toString(), digest: toHex(digest), receipt });
  return 0;
}

/** Checks an audit trail's hash chain, then each anchor it names against the chain (GET /anchors/<id>). */
async function auditVerify(file: string, ctx: Ctx): Promise<number> {
  const { verifyAuditFile } = await import('./audit.js');
  let report: Awaited<ReturnType<typeof verifyAuditFile>>;
  try {
    report = await verifyAuditFile(file);
  } catch (e) {
    ctx.out(`audit trail NOT VERIFIED: ${(e as Error).message}`, { ok: false, error: (e as Error).message });
    return 1;
  }
  let bad = 0;
  for (const a of report.anchors) {
    const r = await getJson(ctx, `/anchors/${a.id}`);
    const digest = (r?.proof as { record?: string } | undefined)?.record?.slice(128, 192);
    if (digest !== a.digest) {
      bad++;
      ctx.out(`anchor ${a.id} (lines ..${a.lastSeq}): ${r === undefined ? 'not on the chain' : 'digest differs'}`);
    }
  }
  const ok = bad === 0;
  ctx.out(`audit trail ${ok ? 'verified' : 'NOT VERIFIED'}: ${report.lines} lines chain; ` +
    `${report.anchors.length - bad} of ${report.anchors.length} anchors match the chain`,
  { ok, lines: report.lines, anchors: report.anchors.length, badAnchors: bad });
  return ok ? 0 : 1;
}
