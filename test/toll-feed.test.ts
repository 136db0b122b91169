// The feed CLI (gmledger toll feed, docs/toll.md "The feed"): bad lines reported by number
// while the good ones are applied; SIGKILL mid-feed, then the same command again: it resumes
// from its progress file, and no trip is split twice or half (balances = the model's).
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptAllVerifier, chainFixture, rec, roles, signer } from './helpers/ledger.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { toHex } from '../dist/src/crypto/bytes.js';
import { packU32x16, tripId } from '../dist/src/apps/toll/sdk.js';
import { parseFeedLine, csvHeader } from '../dist/src/apps/toll/feed.js';
import { tollReport } from '../dist/src/apps/toll/query.js';
import { runNode } from '../dist/src/server/cli-start.js';

const CLI = join(__dirname, '..', 'dist', 'src', 'cli.js');
const open: Ledger[] = [];
afterEach(async () => { for (const l of open.splice(0)) await l.close().catch(() => {}); });
const gateway = signer(2);
const bank = signer(3);
const FEE = (s: number, cls: number) => 100 * s + cls; // section s, class cls

function idBytes(id: bigint): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((id >> BigInt(8 * i)) & 0xffn);
  return b;
}
function net(l: Ledger, id: bigint): bigint {
  const e = l.state.accounts.entry(l.state.findAccount(idBytes(id), 0));
  const rd = (o: number) => { let v = 0n; for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(e[o + k]); return v; };
  return rd(64) - rd(32);
}

/** A chain with the gateway key, issuers 100/101, operators 201..204 (sections 1..4), rule version 1 in force. */
async function setup() {
  const fx = await chainFixture({ blockMaxMs: 1 });
  open.push(fx.ledger);
  const names = async (r: Uint8Array[]) => (await fx.ledger.submit(r)).map((x) => x.name);
  expect(await names([
    rec({ kind: 'register_key', id: 10n, publicKey: gateway.publicKey, roles: roles.ROLE_OPERATOR, ledger: 1 }, fx.admin),
    rec({ kind: 'register_key', id: 11n, publicKey: bank.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
  ])).toEqual(['ok', 'ok']);
  const accounts = [100n, 101n].map((id) => rec({ kind: 'create_account', id, ledger: 1, code: 1, controller: bank.keyId }, bank));
  for (const id of [201n, 202n, 203n, 204n]) accounts.push(rec({ kind: 'create_account', id, ledger: 1, code: 2, controller: gateway.keyId }, gateway));
  expect((await names(accounts)).every((n) => n === 'ok')).toBe(true);
  const secs = [1, 2, 3, 4].map((s) => rec({ kind: 'toll_rule', id: 20n + BigInt(s), ruleVersion: 1, action: 1, ledger: 1, section: s, operatorAccountId: 200n + BigInt(s), classValues: packU32x16(Array.from({ length: 16 }, (_, c) => FEE(s, c + 1))) } as never, gateway));
  expect((await names(secs)).every((n) => n === 'ok')).toBe(true);
  const from = fx.ledger.height + 2;
  expect(await names([rec({ kind: 'toll_rule', id: 30n, ruleVersion: 1, action: 2, ledger: 1, mode: 1, code: 9, effectiveHeight: BigInt(from), sectionCount: 4 } as never, gateway)])).toEqual(['ok']);
  while (fx.ledger.height < from) await names([rec({ kind: 'anchor', id: 40n + BigInt(fx.ledger.height), digest: new Uint8Array(32).fill(1) }, gateway)]);
  await fx.ledger.close();
  open.length = 0;
  const key = join(fx.dir, 'gateway');
  writeFileSync(`${key}.key`, toHex(gateway.privateKey) + '\n', { mode: 0o600 });
  return { dir: fx.dir, key };
}

/** A day's feed: `n` trips (deterministic), with a few bad lines and a few trips the chain refuses. */
function feedFile(dir: string, n: number) {
  const lines = ['issuer,vehicle,class,time,toll,version,sections'];
  const expect = new Map<bigint, bigint>();
  const add = (id: bigint, v: bigint) => expect.set(id, (expect.get(id) ?? 0n) + v);
  const bad: number[] = [];
  const refused: number[] = [];
  let good = 0;
  let legs = 0;
  for (let i = 0; i < n; i++) {
    const cls = 1 + (i % 16);
    const secs = [1, 2, 3, 4].slice(i % 3, (i % 3) + 1 + (i % 2) + 1);
    const toll = secs.reduce((a, s) => a + FEE(s, cls), 0);
    const issuer = 100n + BigInt(i % 2);
    if (i % 97 === 13) { lines.push(`${issuer},${i},${cls},1767225600${i},abc,1,${secs.join('|')}`); bad.push(lines.length); continue; }
    if (i % 89 === 7) { lines.push(`${issuer},${i},${cls},1767225600${i},${toll + 1},1,${secs.join('|')}`); refused.push(lines.length); continue; }
    lines.push(`${issuer},${i},${cls},1767225600${i},${toll},1,${secs.join('|')}`);
    good++;
    legs += secs.length;
    add(issuer, -BigInt(toll));
    for (const s of secs) add(200n + BigInt(s), BigInt(FEE(s, cls)));
  }
  lines.push('100,1,1,1,101,1,1'); // a duplicate of nothing: section 1 class 1 = 101 → ok
  add(100n, -101n); add(201n, 101n);
  lines.push('100,1,1,1,101,1,1'); // the same trip again: exists, charged once
  lines.push('100,2,1,2,201'); bad.push(lines.length); // too few cells
  const file = join(dir, 'day.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, expect, bad, refused, good: good + 1, legs: legs + 1 };
}

describe('gmledger toll feed', () => {
  it('parses CSV and NDJSON to the same trip and id', () => {
    const cols = csvHeader('issuer,vehicle,class,time,toll,version,sections');
    const a = parseFeedLine('100,7,2,1700000000000,660,1,1|2|3', cols);
    const b = parseFeedLine('{"issuer":"100","vehicle":7,"class":2,"time":1700000000000,"toll":660,"version":1,"sections":[1,2,3]}', undefined);
    expect(a).toEqual(b);
    expect(a.id).toBe(tripId('100,7,2,1700000000000,660,1,1|2|3'));
    expect(parseFeedLine('{"source":"G7-0001","issuer":1,"class":1,"toll":5,"version":1,"sections":"4"}', undefined).id).toBe(tripId('G7-0001'));
    for (const [line, re] of [['100,7,2,1,x,1,1', /toll/], ['100,7,0,1,5,1,1', /class/], ['100,7,2,1,5,1,', /sections/], ['100,7', /cells/]] as const) {
      expect(() => parseFeedLine(line, cols)).toThrow(re);
    }
    expect(() => csvHeader('issuer,class,toll,version,sectons')).toThrow(/sectons/);
  });

  it('--trusted: one vouch group per batch, the same trips applied, an NDJSON file', async () => {
    const { dir, key } = await setup();
    const lines = [
      '{"issuer":"100","vehicle":1,"class":1,"time":5,"toll":' + (FEE(1, 1) + FEE(2, 1)) + ',"version":1,"sections":[1,2]}',
      '{"issuer":"101","vehicle":2,"class":3,"time":6,"toll":' + FEE(4, 3) + ',"version":1,"sections":[4]}',
      '{"issuer":"101","vehicle":2,"class":3,"toll":1,"version":1,"sections":[4]}',
      'not json',
    ];
    const file = join(dir, 'trips.ndjson');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = spawnSync(process.execPath, [CLI, 'toll', 'feed', file, '--dir', dir, '--key', key, '--trusted', '--quiet'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ok: 2, exists: 0, refused: { trip_amount_mismatch: 1 }, badLines: 1 });
    expect(r.stderr).toContain('line 3: refused trip_amount_mismatch');
    expect(r.stderr).toContain('line 4: not JSON');
    const l = await Ledger.open({ dir, verifier: acceptAllVerifier, blockMaxMs: 1 });
    open.push(l);
    expect(net(l, 100n)).toBe(-BigInt(FEE(1, 1) + FEE(2, 1)));
    expect(net(l, 204n)).toBe(BigInt(FEE(4, 3)));
  });

  it('--url: through a running node, signed and --trusted (the node lists the gateway)', async () => {
    const { dir, key } = await setup();
    const file = join(dir, 'trips.csv');
    writeFileSync(file, `issuer,class,toll,version,sections,source\n100,1,${FEE(1, 1)},1,1,a\n101,2,${FEE(2, 2) + FEE(3, 2)},1,2|3,b\n`);
    const node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [gateway.keyId], limits: {}, blockMs: 5 } as never, () => undefined);
    try {
      const run = (extra: string[]) => new Promise<{ code: number | null; out: string }>((done) => {
        const c = spawn(process.execPath, [CLI, 'toll', 'feed', file, '--url', node.server.url, '--key', key, '--quiet', '--restart', ...extra]);
        let out = '';
        c.stdout.on('data', (d) => { out += String(d); });
        c.on('close', (code) => done({ code, out }));
      });
      const signed = await run([]);
      expect(signed.code).toBe(0);
      expect(JSON.parse(signed.out.trim())).toMatchObject({ ok: 2, exists: 0, badLines: 0 });
      const trusted = await run(['--trusted']);
      expect(JSON.parse(trusted.out.trim())).toMatchObject({ ok: 0, exists: 2 }); // the same trips: charged once
      expect((await fetch(`${node.server.httpUrl}/toll/issuers/101/0/${Date.now() + 60_000}`).then((x) => x.json())).charges)
        .toBe(String(FEE(2, 2) + FEE(3, 2)));
    } finally {
      await node.stop();
    }
  });

  it('SIGKILL mid-feed, then again: resumes, every good trip applied exactly once, bad lines named', async () => {
    const { dir, key } = await setup();
    const f = feedFile(dir, 400);
    const args = [CLI, 'toll', 'feed', f.file, '--dir', dir, '--key', key, '--batch', '7', '--quiet'];
    // First run: killed once its progress file shows some lines acknowledged.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err1 = '';
    child.stderr.on('data', (d) => { err1 += String(d); });
    const progress = `${f.file}.progress`;
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 3000; i++) {
      if (existsSync(progress) && JSON.parse(readFileSync(progress, 'utf8')).line >= 60) break;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    const killedAt = JSON.parse(readFileSync(progress, 'utf8')).line;
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(400); // killed mid-feed
    // Second run: the same command.
    const r2 = spawnSync(process.execPath, args, { encoding: 'utf8' });
    const summary = JSON.parse(r2.stdout.trim().split('\n').pop()!);
    expect(summary.resumedFrom).toBe(killedAt);
    expect(r2.status).toBe(1); // bad lines and refused trips
    expect(summary.badLines).toBe(f.bad.length);
    expect(summary.refused).toEqual({ trip_amount_mismatch: f.refused.length });
    // Lines acknowledged but not yet in the progress file when killed are sent again: exists.
    expect(summary.ok).toBeLessThanOrEqual(f.good);
    expect(summary.ok + summary.exists).toBeGreaterThanOrEqual(f.good + 1);
    const stderr = err1 + r2.stderr;
    for (const line of f.bad) expect(stderr).toMatch(new RegExp(`line ${line}: `));
    // The chain: every account exactly as the model says (no trip twice, none half).
    const l = await Ledger.open({ dir, verifier: acceptAllVerifier, blockMaxMs: 1 });
    open.push(l);
    for (const [id, v] of f.expect) expect(net(l, id), `account ${id}`).toBe(v);
    // One trip entry per good trip; the report's legs, one per section driven.
    const trips = (() => { let n = 0; const w = l.state.transfers.words; for (let t = 0; t < l.state.transfers.count; t++) if (w[t * 32 + 27] === 16) n++; return n; })();
    expect(trips).toBe(f.good);
    expect(tollReport(l.state, 0, Date.now() + 60_000).operators.reduce((a, o) => a + o.legs, 0)).toBe(f.legs);
    expect(l.state.findTransfer(idBytes(tripId('100,1,1,1,101,1,1')), 0)).toBeGreaterThanOrEqual(0);
    await l.close();
    open.length = 0;
    expect((await verifyChain(dir, { verifier: acceptAllVerifier })).ok).toBe(true);
    // A third run has nothing left to do.
    const r3 = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(JSON.parse(r3.stdout.trim().split('\n').pop()!).resumedFrom).toBe(readFileSync(f.file, 'utf8').split('\n').length - 1);
  }, 60_000);
});
