// The SDK with several node URLs: it connects to the first that answers, fails over when a
// connection is lost (closed, or silent), restores the session and resends every submit
// frame still without results — exactly once on the chain, because records are idempotent
// by id — and gives up, naming the URLs, after failoverTimeoutMs. A node process is
// SIGKILLed mid-stream and restarted; a fake WebSocket pins down the frames on the wire
// (SUBMIT_FINAL, the resent bytes) without a server that knows SUBMIT_FINAL yet.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client, ClientError, SUBMIT_FINAL, authSigner, generateSigner, records, type Result, type WebSocketConstructor,
  type WebSocketLike,
} from '../dist/src/client/index.js';
import { NodeWebSocket } from '../dist/src/client/node-websocket.js';
import { ROLE_PARTICIPANT } from '../dist/src/codec/record.js';
import { initChain } from '../dist/src/chain/init.js';
import {
  ErrorCode, Frame, HEADER_BYTES, RESULT_BYTES, errorFrame, makeFrame, readHeader,
} from '../dist/src/protocol/wire.js';
import { fakeTransfer, keys, startNode } from './server-fixtures.js';

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

// ---------------------------------------------------------------------------------------
// A fake node behind a fake WebSocket: the test decides what each connection does with a frame.

type Behaviour = (ws: FakeWs, frame: Uint8Array) => void;

class FakeWs implements WebSocketLike {
  static behaviours: Behaviour[] = []; // the n-th connection gets the n-th (the last one repeats)
  static all: FakeWs[] = [];
  binaryType = 'arraybuffer';
  readyState = 0;
  bufferedAmount = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  readonly frames: Uint8Array[] = [];
  readonly #behaviour: Behaviour;

  constructor(readonly url: string) {
    const b = FakeWs.behaviours;
    this.#behaviour = b[Math.min(FakeWs.all.length, b.length - 1)];
    FakeWs.all.push(this);
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      const f = makeFrame(Frame.challenge, 0, 0, 36);
      new DataView(f.buffer).setUint32(HEADER_BYTES, 7, true);
      this.reply(f);
    });
  }

  reply(f: Uint8Array): void {
    if (this.readyState === 1) this.onmessage?.({ data: f.slice().buffer });
  }

  /** Answers a frame as a healthy node would, every record with `code`. */
  answer(f: Uint8Array, code = 0): void {
    const h = readHeader(f);
    if (h.type === Frame.ping) this.reply(makeFrame(Frame.pong, h.requestId, 0, 0));
    else if (h.type === Frame.auth) this.reply(makeFrame(Frame.auth_ok, h.requestId, 0, 8));
    else if (h.type === Frame.subscribe) this.reply(makeFrame(Frame.subscribed, h.requestId, 0, 0));
    else if (h.type === Frame.unsubscribe) this.reply(makeFrame(Frame.unsubscribed, h.requestId, 0, 0));
    else if (h.type === Frame.submit) {
      const r = makeFrame(Frame.results, h.requestId, h.count, h.count * RESULT_BYTES);
      for (let i = 0; i < h.count; i++) new DataView(r.buffer).setUint16(HEADER_BYTES + i * RESULT_BYTES, code, true);
      this.reply(r);
    }
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState !== 1) throw new Error('not open');
    const f = new Uint8Array((data as Uint8Array).slice());
    this.frames.push(f);
    setTimeout(() => this.#behaviour(this, f));
  }

  /** The node side goes away (as a crash looks to the client: 1006). */
  drop(): void {
    this.close(1006, '');
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }));
  }
}

const healthy: Behaviour = (ws, f) => ws.answer(f);

function fake(...behaviours: Behaviour[]): typeof FakeWs {
  FakeWs.behaviours = behaviours;
  FakeWs.all = [];
  return FakeWs;
}

const submits = (ws: FakeWs) => ws.frames.filter((f) => f[1] === Frame.submit);

describe('client failover (fake node)', () => {
  const k = keys();

  it('sets SUBMIT_FINAL for wait: final, and only then', async () => {
    const c = await Client.connect('ws://a.test/ws', { WebSocket: fake(healthy), signer: authSigner(k.alice) });
    await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)]);
    await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)], { wait: 'final' });
    await Promise.all([c.submit(fakeTransfer(k.alice, 1n, 2n), { wait: 'final' }), c.submit(fakeTransfer(k.alice, 1n, 2n))]);
    const flags = submits(FakeWs.all[0]).map((f) => readHeader(f).flags);
    expect(flags).toEqual([0, SUBMIT_FINAL, SUBMIT_FINAL, 0]);
    expect(SUBMIT_FINAL).toBe(2);
    await c.close();
  });

  it('resends a submit whose results were lost to the next URL; the caller gets that answer', async () => {
    // a: takes the frame, then dies before answering. b: has the records already (exists).
    const dies: Behaviour = (ws, f) => (f[1] === Frame.submit ? ws.drop() : ws.answer(f));
    const exists: Behaviour = (ws, f) => ws.answer(f, 36);
    const c = await Client.connect(['ws://a.test/ws', 'ws://b.test/ws'],
      { WebSocket: fake(dies, exists), signer: authSigner(k.alice) });
    const moves: string[] = [];
    c.onFailover((from, to) => moves.push(`${from} -> ${to}`));
    const off = await c.subscribe('blocks', () => undefined);
    const recs = [fakeTransfer(k.alice, 1n, 2n), fakeTransfer(k.alice, 1n, 2n)];
    const rs = await c.submitBatch(recs);
    expect(rs.map((r) => r.result)).toEqual(['exists', 'exists']);
    expect(moves).toEqual(['ws://a.test/ws -> ws://b.test/ws']);
    expect(c.url).toBe('ws://b.test/ws');
    const [a, b] = FakeWs.all;
    // The same records, byte for byte; the new connection was authenticated and re-subscribed first.
    expect(submits(b)[0].subarray(HEADER_BYTES)).toEqual(submits(a)[0].subarray(HEADER_BYTES));
    expect(b.frames.slice(0, 2).map((f) => f[1])).toEqual([Frame.auth, Frame.subscribe]);
    await off();
    await c.close();
  });

  it('leaves a node that answers not_final for the next one, at most once per URL', async () => {
    // A halted node: durable there, never final. Another node answers the resend once final.
    const halted: Behaviour = (ws, f) => {
      const h = readHeader(f);
      if (h.type !== Frame.submit || (h.flags & SUBMIT_FINAL) === 0) ws.answer(f);
      else ws.reply(errorFrame(h.requestId, ErrorCode.not_final, 'durable at this node, but not final: halted'));
    };
    const exists: Behaviour = (ws, f) => ws.answer(f, 36);
    const urls = ['ws://a.test/ws', 'ws://b.test/ws'];
    const c = await Client.connect(urls, { WebSocket: fake(halted, exists), signer: authSigner(k.alice) });
    const [r] = await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)], { wait: 'final' });
    expect(r.result).toBe('exists');
    expect(c.url).toBe(urls[1]);
    await c.close();
    // Every node halted: each URL had its chance (a, b, a again), then the caller hears it.
    const all = await Client.connect(urls, { WebSocket: fake(halted), signer: authSigner(k.alice) });
    await expect(all.submitBatch([fakeTransfer(k.alice, 1n, 2n)], { wait: 'final' }))
      .rejects.toMatchObject({ name: 'not_final' });
    expect(FakeWs.all.map((ws) => submits(ws).length)).toEqual([1, 1, 1]);
    await all.close();
    // One URL string never fails over: not_final is the caller's at once.
    const one = await Client.connect(urls[0], { WebSocket: fake(halted), signer: authSigner(k.alice) });
    await expect(one.submitBatch([fakeTransfer(k.alice, 1n, 2n)], { wait: 'final' }))
      .rejects.toMatchObject({ name: 'not_final' });
    await one.close();
  });

  it('drops a silent connection (no pong) and fails over', async () => {
    const mute: Behaviour = (ws, f) => (f[1] === Frame.ping ? undefined : ws.answer(f));
    const c = await Client.connect(['ws://a.test/ws', 'ws://b.test/ws'],
      { WebSocket: fake(mute, healthy), heartbeatMs: 20, pongTimeoutMs: 100 });
    const moved = new Promise<string>((r) => c.onFailover((_from, to) => r(to)));
    expect(await moved).toBe('ws://b.test/ws');
    await c.ping();
    await c.close();
  });

  it('rejects pending submits with unreachable, naming the URLs, once no URL answers for failoverTimeoutMs', async () => {
    const dies: Behaviour = (ws, f) => (f[1] === Frame.submit ? ws.drop() : ws.answer(f));
    const refuses: Behaviour = () => undefined;
    class Refusing extends FakeWs {
      constructor(url: string) {
        super(url);
        if (FakeWs.all.length > 1) this.drop(); // every later connection fails at once
      }
    }
    fake(dies, refuses);
    const c = await Client.connect(['ws://a.test/ws', 'ws://b.test/ws'],
      { WebSocket: Refusing, failoverTimeoutMs: 500, reconnectMaxMs: 50 });
    const closed = new Promise<number>((r) => c.onClose((code) => r(code)));
    const err = await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 0, name: 'unreachable' });
    expect((err as Error).message).toContain('ws://a.test/ws');
    expect((err as Error).message).toContain('ws://b.test/ws');
    await closed;
    expect(c.closed).toBe(true);
    await expect(c.ping()).rejects.toMatchObject({ name: 'unreachable' });
  });

  it('refuses bad URLs and options, naming them', async () => {
    const WebSocket = fake(healthy);
    const bad: [unknown, unknown, ErrorConstructor, RegExp][] = [
      [42, {}, TypeError, /^url must be a string/],
      [[], {}, RangeError, /^url: an array of 1 to 16 URLs, got 0/],
      [Array(17).fill('ws://a.test/ws'), {}, RangeError, /got 17/],
      [['ws://a.test/ws', 7], {}, TypeError, /^url\[1\] must be a string/],
      [['ws://a.test/ws', 'http://b.test/'], {}, TypeError, /^url\[1\] must be a ws:\/\/ or wss:\/\/ URL/],
      ['not a url', {}, TypeError, /^url must be a ws:\/\/ or wss:\/\/ URL/],
      [['ws://a.test/' + 'x'.repeat(3000)], {}, RangeError, /^url\[0\] must be at most 2048 characters/],
      ['ws://a.test/ws', { failoverTimeoutMs: 1000 }, TypeError, /^options\.failoverTimeoutMs needs an array of URLs/],
      [['ws://a.test/ws'], { failoverTimeoutMs: 0 }, RangeError, /^options\.failoverTimeoutMs must be in/],
      [['ws://a.test/ws'], { reconnectMaxMs: '2s' }, TypeError, /^options\.reconnectMaxMs must be a number of ms/],
      [['ws://a.test/ws'], { heartbeatMs: 5000, pongTimeoutMs: 5000 }, RangeError, /^options\.heartbeatMs \(5000\)/],
      [['ws://a.test/ws'], { pongTimeoutMs: NaN }, TypeError, /^options\.pongTimeoutMs/],
      [['ws://a.test/ws'], { reconnect: true }, TypeError, /^unknown option "reconnect"/],
    ];
    for (const [url, options, E, m] of bad) {
      const e = await Client.connect(url as string, { WebSocket, ...(options as object) }).catch((x: unknown) => x);
      expect(e, JSON.stringify(options)).toBeInstanceOf(E);
      expect((e as Error).message).toMatch(m);
    }
    const c = await Client.connect(['ws://a.test/ws'], { WebSocket });
    await expect(c.submitBatch([fakeTransfer(k.alice, 1n, 2n)], { wait: 'now' as 'final' }))
      .rejects.toThrow(/^options\.wait must be 'durable' or 'final'/);
    await expect(c.submit(fakeTransfer(k.alice, 1n, 2n), { wait: 1 as unknown as 'final' }))
      .rejects.toThrow(TypeError);
    await c.close();
  });
});

describe('client failover (real nodes)', () => {
  it('connects to the first URL that answers: [nothing listens, a live node]', async () => {
    const node = await startNode({ verifySignatures: false, syncMs: 5 });
    try {
      const dead = `ws://127.0.0.1:${await freePort()}/ws`;
      const c = await Client.connect([dead, node.server.url], { signer: authSigner(node.k.alice) });
      expect(c.url).toBe(node.server.url);
      const [r] = await c.submitBatch([fakeTransfer(node.k.alice, 1n, 2n)]);
      expect(r.result).toBe('ok');
      await c.close();
    } finally {
      await node.close();
    }
  });

  describe('a node SIGKILLed mid-stream and restarted on the same port', () => {
    let dir: string;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gmledger-failover-'));
    });
    afterAll(async () => {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    });

    /** `gmledger start` in a child process; resolves once it listens. */
    async function start(port: number): Promise<ChildProcess> {
      const args = ['dist/src/cli.js', 'start', '--dir', dir, '--port', String(port), '--block-ms', '5',
        '--verify-threads', '0'];
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => { err += d; });
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: p.stdout! }).on('line', (line) => {
          if ((JSON.parse(line) as { event?: string }).event === 'listening') resolve();
        });
        p.once('exit', (code) => reject(new Error(`node exited ${code}: ${err}`)));
      });
      return p;
    }

    it('every record resolves ok or exists, and each is applied exactly once', async () => {
      const { admin, config: { chainId } } = await initChain({ dir });
      const port = await freePort();
      const url = `ws://127.0.0.1:${port}/ws`;
      child = await start(port);
      const p = generateSigner();
      const [A, B] = [10n, 11n];
      const setup = await Client.connect(url, { signer: authSigner(admin) });
      const rk = await setup.submitBatch([
        records.registerKey({ chainId, id: 1000n, publicKey: p.publicKey, roles: ROLE_PARTICIPANT }, admin)]);
      const ca = await setup.submitBatch([A, B].map((id) =>
        records.createAccount({ chainId, id, ledger: 1, code: 1, controller: p.keyId }, p)));
      expect([...rk, ...ca].map((r) => r.result)).toEqual(['ok', 'ok', 'ok']);
      await setup.close();

      const N = 600;
      const txs = Array.from({ length: N }, (_, i) => records.transfer(
        { chainId, id: 1n + BigInt(i), debitAccountId: A, creditAccountId: B, amount: 1n, ledger: 1, code: 1 }, p));
      const sockets: NodeWebSocket[] = [];
      const Tracked = class extends NodeWebSocket {
        constructor(u: string) {
          super(u);
          sockets.push(this);
        }
      };
      const c = await Client.connect([url, url], {
        WebSocket: Tracked as unknown as WebSocketConstructor, signer: authSigner(p), heartbeatMs: 250, pongTimeoutMs: 1000,
      });
      let failovers = 0;
      c.onFailover(() => failovers++);
      const ackedBeforeKill = new Map<number, Result>();
      const answered = new Set<number>();
      let killed = false;
      const outcomes: Promise<Result>[] = [];
      const pump = (async () => {
        for (let i = 0; i < N; i++) {
          outcomes.push(c.submit(txs[i]).then((r) => {
            answered.add(i);
            if (!killed && r.ok) ackedBeforeKill.set(i, r);
            return r;
          }));
          if (i % 4 === 3) await new Promise((r) => setTimeout(r, 2));
        }
      })();
      while (ackedBeforeKill.size < 40) await new Promise((r) => setTimeout(r, 2));
      // Results in flight when the node dies: stop reading them, and wait until the oldest
      // unanswered record (in a frame already sent) is on the chain; its resend must say `exists`.
      killed = true;
      sockets.at(-1)!.pause();
      let oldest = 0;
      while (answered.has(oldest)) oldest++;
      const http = `http://127.0.0.1:${port}`;
      expect(oldest).toBeLessThan(outcomes.length);
      for (const until = Date.now() + 20_000; (await fetch(`${http}/transactions/${oldest + 1}`)).status !== 200;) {
        if (Date.now() > until) throw new Error(`transfer ${oldest + 1} never reached the chain`);
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      child = await start(port);

      await pump;
      const results = await Promise.allSettled(outcomes);
      await c.close();
      const rejected = results.filter((o) => o.status === 'rejected');
      expect(rejected.map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
      const names = results.map((o) => (o as PromiseFulfilledResult<Result>).value.result);
      expect(names.filter((n) => n !== 'ok' && n !== 'exists')).toEqual([]);
      expect(failovers).toBeGreaterThanOrEqual(1);
      expect(ackedBeforeKill.size).toBeLessThan(N); // it really was killed mid-stream
      expect(names[oldest]).toBe('exists');

      // Exactly once: N transfers of 1 moved exactly N units; each ok before the kill is where it said.
      const account = async (id: bigint) => (await (await fetch(`${http}/accounts/${id}`)).json()) as
        { debitsPosted: string; creditsPosted: string };
      expect((await account(A)).debitsPosted).toBe(String(N));
      expect((await account(B)).creditsPosted).toBe(String(N));
      for (const [i, r] of ackedBeforeKill) {
        const t = (await (await fetch(`${http}/transactions/${i + 1}`)).json()) as { height: number; index: number; code: number };
        expect(t, `transfer ${i + 1}`).toMatchObject({ height: r.height, index: r.index, code: 0 });
      }
    });
  });
});
