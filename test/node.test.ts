// The node over the real ledger (RocksDB, SM2, blocks): results, events and HTTP queries
// in-process; then SIGKILL of a node process under load and a restart, after which every
// acknowledged record is on the chain and the chain verifies.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, authSigner, records, generateSigner, type Signer, type Result } from '../dist/src/client/index.js';
import { ROLE_PARTICIPANT, ROLE_REGULATOR, u128 } from '../dist/src/codec/record.js';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';
import { toHex } from '../dist/src/crypto/bytes.js';
import { parseError } from '../dist/src/protocol/wire.js';
import { RawConn, submitFrame } from './server-fixtures.js';

const LEDGER = 1;

/** Registers a participant and `n` accounts it controls (ids base+1..base+n). */
async function setup(c: Client, chainId: number, admin: Signer, p: Signer, base: bigint, n: number): Promise<bigint[]> {
  const [rk] = await c.submitBatch([records.registerKey({ chainId, id: base, publicKey: p.publicKey, roles: ROLE_PARTICIPANT }, admin)]);
  expect(rk.result).toBe('ok');
  const ids = Array.from({ length: n }, (_, i) => base + 1n + BigInt(i));
  const rs = await c.submitBatch(ids.map((id) => records.createAccount({ chainId, id, ledger: LEDGER, code: 1, controller: p.keyId }, p)));
  expect(rs.every((r) => r.ok)).toBe(true);
  return ids;
}

function transfer(chainId: number, p: Signer, id: bigint, debit: bigint, credit: bigint, amount = 1n): Uint8Array {
  return records.transfer({ chainId, id, debitAccountId: debit, creditAccountId: credit, amount, ledger: LEDGER, code: 1 }, p);
}

describe('node over the real ledger', () => {
  let dir: string;
  let node: RunningNode;
  let admin: Signer;
  let chainId: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-node-'));
    const init = await initChain({ dir, chainId: 4242 });
    admin = init.admin;
    chainId = init.config.chainId;
    node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5 }, () => undefined);
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('submits, publishes events, and answers HTTP queries with proofs', async () => {
    const { server } = node;
    const c = await Client.connect(server.url, { signer: authSigner(admin) });
    expect(c.chainId).toBe(chainId);
    const p = generateSigner();
    const [a1, a2] = await setup(c, chainId, admin, p, 1000n, 2);
    const reg = generateSigner();
    expect((await c.submitBatch([records.registerKey({ chainId, id: 999n, publicKey: reg.publicKey, roles: ROLE_REGULATOR }, admin)]))[0].ok).toBe(true);

    const pc = await Client.connect(server.url, { signer: authSigner(p) });
    const rc = await Client.connect(server.url, { signer: authSigner(reg) });
    const heights: number[] = [];
    const postings: string[] = [];
    const fire: string[] = [];
    await pc.subscribe('blocks', (e) => heights.push(e.height));
    await pc.subscribe(`account/${a1}`, (e) => postings.push('result' in e ? `${e.height}:${e.index}:${e.result}` : ''));
    await rc.subscribe('firehose', (e) => fire.push('result' in e ? e.result : ''));
    await expect(pc.subscribe('firehose', () => undefined)).rejects.toMatchObject({ name: 'forbidden_topic' });

    const t1 = transfer(chainId, p, 5001n, a1, a2, 7n);
    const t2 = transfer(chainId, p, 5002n, a2, a1, 3n);
    const bad = transfer(chainId, p, 5003n, a1, a2);
    bad[100] ^= 1;
    const rs: Result[] = await pc.submitBatch([t1, t2, bad]);
    expect(rs.map((r) => r.result)).toEqual(['ok', 'ok', 'bad_signature']);
    expect(rs[2].height).toBe(-1);
    // Replay: the same transfer id again is a duplicate and changes nothing.
    expect((await pc.submitBatch([t1]))[0].result).toBe('exists');

    // Events arrive after the block is durable (the ledger's block event is read back).
    const deadline = Date.now() + 5000;
    while ((postings.length < 2 || fire.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(postings).toEqual([`${rs[0].height}:${rs[0].index}:ok`, `${rs[1].height}:${rs[1].index}:ok`]);
    expect(heights).toContain(rs[0].height);
    expect(heights).toEqual([...heights].sort((x, y) => x - y));

    const get = async (path: string) => {
      const r = await fetch(server.httpUrl + path);
      return { status: r.status, json: r.status === 200 ? await r.json() : undefined };
    };
    const acct = await get(`/accounts/${a1}`);
    expect(acct.json).toMatchObject({ id: a1.toString(), debitsPosted: '7', creditsPosted: '3', controller: toHex(p.keyId) });
    expect((await get('/accounts/123456789')).status).toBe(404);
    const tx = await get('/transactions/5001');
    expect(tx.json).toMatchObject({ height: rs[0].height, index: rs[0].index, code: 0 });
    const proof = await get(`/proofs/${rs[0].height}/${rs[0].index}`);
    expect(proof.json).toMatchObject({ index: rs[0].index, record: toHex(t1) });
    expect((await get(`/blocks/${rs[0].height}`)).json).toMatchObject({ header: { height: rs[0].height }, signatures: expect.stringMatching(/^[0-9a-f]{192}$/) });
    // Anchor receipt.
    const digest = new Uint8Array(32).fill(9);
    const [an] = await pc.submitBatch([records.anchor({ chainId, id: 7777n, digest }, p)]);
    expect(an.result).toBe('ok');
    expect((await get('/anchors/7777')).json).toMatchObject({ height: an.height, index: an.index });
    const status = await get('/status');
    expect(status.json).toMatchObject({ chainId, backend: 'ledger' });
    const metrics = await (await fetch(server.httpUrl + '/metrics')).text();
    for (const m of ['gmledger_verify_busy_seconds_total', 'gmledger_verify_threads', 'gmledger_ledger_busy_seconds_total',
      'gmledger_event_loop_delay_p99_seconds', 'gmledger_submit_latency_seconds_bucket', '# TYPE gmledger_http_busy_total counter',
      'gmledger_uptime_seconds', 'gmledger_build_info{version="']) expect(metrics).toContain(m);
    expect(Number(/^gmledger_chain_height (\S+)$/m.exec(metrics)?.[1])).toBe((await get('/status')).json.height);

    // Hostile input against the real ledger: specific errors, and the chain does not move.
    const height = (status.json as { height: number }).height;
    const raw = await RawConn.open(server.url);
    const frames: [Uint8Array, string][] = [
      [randomBytes(7), 'bad_frame'],
      [(() => { const f = submitFrame([t2], 9); f[0] = 2; return f; })(), 'bad_protocol_version'],
      [submitFrame([t2], 9).subarray(0, 100), 'batch_truncated'],
      [submitFrame([t2], 9), 'not_authenticated'],
    ];
    for (const [f, name] of frames) {
      const n = raw.frames.length;
      raw.send(f);
      await raw.until(() => raw.frames.length > n);
      expect(parseError(raw.frames[raw.frames.length - 1]).name).toBe(name);
    }
    raw.close();
    const hostile = await Client.connect(server.url, { signer: authSigner(p) });
    const forged = transfer(chainId, p, 6001n, a1, a2, 1_000_000n);
    forged.set(randomBytes(64), 191); // someone else's "signature"
    const wrongChain = records.transfer({ chainId: chainId + 1, id: 6002n, debitAccountId: a1, creditAccountId: a2, amount: 1n, ledger: LEDGER, code: 1 }, p);
    const rs2 = await hostile.submitBatch([forged, wrongChain]);
    expect(rs2.map((r) => r.result)).toEqual(['bad_signature', 'wrong_chain']);
    await hostile.close();
    expect(((await get('/status')).json as { height: number }).height).toBe(height);
    expect((await get(`/accounts/${a1}`)).json).toMatchObject({ debitsPosted: '7', creditsPosted: '3' });
    for (const x of [c, pc, rc]) await x.close();
  });
});

/** Starts `gmledger start` as a child process and waits for its listening line. */
async function spawnNode(dir: string): Promise<{ child: ChildProcess; url: string; http: string }> {
  const child = spawn(process.execPath, ['dist/src/server/cli-start.js', '--dir', dir, '--port', '0', '--block-ms', '10'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const rl = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${err}`)), 20_000);
    rl.on('line', (line) => {
      const m = JSON.parse(line) as { event: string; url: string; http: string };
      if (m.event === 'listening') {
        clearTimeout(timer);
        resolve({ child, url: m.url, http: m.http });
      }
    });
    child.on('exit', (code) => reject(new Error(`node exited ${code}: ${err}`)));
  });
}

describe('gmledger start', () => {
  it('refuses a folder without a chain unless --dev, --dev only in an empty folder, and a mismatched --chain-id', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['dist/src/server/cli-start.js', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => { err += d; });
      child.stdout!.once('data', () => child.kill('SIGTERM')); // it started: stop it
      child.once('exit', (code) => resolve({ code, err }));
    });
    const dir = await mkdtemp(join(tmpdir(), 'gmledger-nochain-'));
    try {
      const missing = await run(['--dir', join(dir, 'typo')]);
      expect(missing.code).not.toBe(0);
      expect(missing.err).toMatch(/holds no gmledger chain: create one with `gmledger init/);
      await stat(join(dir, 'typo')).then(() => { throw new Error('a folder was created'); }, () => undefined);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, 'notes.txt'), 'not a chain');
      const notEmpty = await run(['--dir', dir, '--dev']);
      expect(notEmpty.code).not.toBe(0);
      expect(notEmpty.err).toMatch(/is not empty and holds no gmledger chain/);
      const chain = join(dir, 'chain');
      await initChain({ dir: chain, chainId: 77 });
      const wrongId = await run(['--dir', chain, '--chain-id', '78']);
      expect(wrongId.code).not.toBe(0);
      expect(wrongId.err).toMatch(/holds chain 77, not --chain-id 78/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with --dev creates a development chain on first start and says where the keys are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gmledger-first-'));
    try {
      const child = spawn(process.execPath, ['dist/src/server/cli-start.js', '--dir', dir, '--dev', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => { err += d; });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const info = JSON.parse(line);
      expect(info).toMatchObject({ event: 'listening', height: 0 });
      expect(info.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
      expect(err).toContain(`keys are in ${join(dir, 'keys')}`);
      const st = await stat(join(dir, 'keys', 'admin.key'));
      expect(st.mode & 0o777).toBe(0o600);
      child.kill('SIGTERM');
      const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
      expect({ code, signal, err: code === 0 ? '' : err }).toEqual({ code: 0, signal: null, err: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('crash safety', () => {
  it('SIGKILL under load, restart: every acknowledged record is present and the chain verifies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gmledger-kill-'));
    try {
      const init = await initChain({ dir, chainId: 99 });
      const chainId = 99;
      let n = await spawnNode(dir);
      const c = await Client.connect(n.url, { signer: authSigner(init.admin) });
      const p = generateSigner();
      const accounts = await setup(c, chainId, init.admin, p, 100n, 8);
      await c.close();

      // Pre-sign the load.
      const TOTAL = 12_000;
      const txs: Uint8Array[] = [];
      for (let i = 0; i < TOTAL; i++) {
        txs.push(transfer(chainId, p, 1_000_000n + BigInt(i), accounts[i % 8], accounts[(i + 3) % 8]));
      }
      const acked = new Map<bigint, { height: number; index: number }>();
      const clients = await Promise.all([0, 1].map(() => Client.connect(n.url, { signer: authSigner(p), maxInFlight: 8 })));
      let sent = 0;
      const pumps = clients.map((cl, k) => (async () => {
        for (let at = k * 200; at < TOTAL; at += 400) {
          const batch = txs.slice(at, at + 200);
          sent += batch.length;
          cl.submitBatch(batch).then((rs) => rs.forEach((r, i) => {
            if (r.ok) acked.set(1_000_000n + BigInt(at + i), { height: r.height, index: r.index });
          }), () => undefined);
          await new Promise((r) => setImmediate(r));
        }
      })());
      // Kill once some records are acknowledged and more are in flight.
      const deadline = Date.now() + 20_000;
      while (acked.size < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      
      n.child.kill("SIGKILL");
      await new Promise((r) => n.child.once('exit', r));
      await Promise.all(pumps);
      const ackedAtKill = new Map(acked);
      expect(ackedAtKill.size).toBeGreaterThan(0);
      expect(ackedAtKill.size).toBeLessThan(TOTAL); // it really was killed mid-stream
      for (const cl of clients) await cl.close().catch(() => undefined);

      // Restart: the node resumes from its durable tail.
      n = await spawnNode(dir);
      const st = await (await fetch(n.http + '/status')).json() as { height: number };
      const maxAcked = Math.max(...[...ackedAtKill.values()].map((v) => v.height));
      expect(st.height).toBeGreaterThanOrEqual(maxAcked);
      // It keeps working after the restart.
      const again = await Client.connect(n.url, { signer: authSigner(p) });
      expect((await again.submitBatch([transfer(chainId, p, 42n, accounts[0], accounts[1])]))[0].ok).toBe(true);
      await again.close();
      n.child.kill('SIGTERM');
      await new Promise((r) => n.child.once('exit', r));

      // Every acknowledged record is on the chain where its result said.
      const ledger = await Ledger.open({ dir });
      try {
        const blocks = new Map<number, Awaited<ReturnType<Ledger['getBlock']>>>();
        let k = 0;
        for (const [id, where] of ackedAtKill) {
          if (!blocks.has(where.height)) blocks.set(where.height, await ledger.getBlock(where.height));
          const b = blocks.get(where.height);
          expect(b, `block ${where.height}`).toBeDefined();
          const rec = b!.records[where.index];
          expect(u128(rec, 16), `record at ${where.height}:${where.index}`).toBe(id);
          expect(b!.codes[where.index]).toBe(0);
          // And the id index agrees, for a sample.
          if (k++ % 100 === 0) expect((await ledger.getTransaction(id))?.height).toBe(where.height);
        }
      } finally {
        await ledger.close();
      }
      const report = await verifyChain(dir);
      expect(report.ok, report.error).toBe(true);
      void sent;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
