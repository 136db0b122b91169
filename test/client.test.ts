// The client SDK against a real node on 127.0.0.1: batch splitting, the in-flight window,
// per-record promises, unsubscribe, and behaviour when the connection drops.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ClientError } from '../dist/src/client/index.js';
import { NodeWebSocket } from '../dist/src/client/node-websocket.js';
import { connectAs, fakeTransfer, sleep, startNode } from './server-fixtures.js';
import { FLAG_LINKED, OFF_FLAGS } from '../dist/src/codec/record.js';

describe('client SDK', () => {
  let node: Awaited<ReturnType<typeof startNode>>;
  beforeAll(async () => {
    node = await startNode({ verifySignatures: false, syncMs: 5 }, { limits: { IN_FLIGHT_BATCHES_MAX: 4 } });
  });
  afterAll(async () => {
    await node.close();
  });

  it('is importable as gmledger/client', async () => {
    const mod = await import('gmledger/client');
    expect(typeof mod.Client.connect).toBe('function');
    expect(mod.PROTOCOL_VERSION).toBe(1);
  });

  it('splits large batches into frames and returns results in record order', async () => {
    const { k, server } = node;
    const c = await connectAs(server.url, k.alice);
    const recs = Array.from({ length: 2500 }, () => fakeTransfer(k.alice, 1n, 2n));
    const before = server.metrics.frames;
    const rs = await c.submitBatch(recs);
    expect(rs.length).toBe(2500);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(server.metrics.frames - before).toBe(3); // 1024 + 1024 + 452
    // Within each frame, indexes increase in record order.
    for (let i = 1; i < 1024; i++) expect(rs[i].index).toBeGreaterThan(rs[i - 1].index);
    await c.close();
  });

  it('never splits a linked chain across frames, and refuses a chain longer than a frame', async () => {
    const { k, server } = node;
    const c = await connectAs(server.url, k.alice, { batchRecords: 3 });
    const linked = (r: Uint8Array) => { r[OFF_FLAGS] |= FLAG_LINKED; return r; };
    // [a] [b linked, c linked, d] [e]: cutting every 3 would split the chain b–d.
    const recs = [fakeTransfer(k.alice, 1n, 2n), linked(fakeTransfer(k.alice, 1n, 2n)), linked(fakeTransfer(k.alice, 1n, 2n)),
      fakeTransfer(k.alice, 1n, 2n), fakeTransfer(k.alice, 1n, 2n)];
    const before = server.metrics.frames;
    const rs = await c.submitBatch(recs);
    expect(rs.map((r) => r.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(server.metrics.frames - before).toBe(3); // [a] [b c d] [e], not [a b c] [d e]
    const long = [linked(fakeTransfer(k.alice, 1n, 2n)), linked(fakeTransfer(k.alice, 1n, 2n)),
      linked(fakeTransfer(k.alice, 1n, 2n)), fakeTransfer(k.alice, 1n, 2n)];
    await expect(c.submitBatch([fakeTransfer(k.alice, 1n, 2n), ...long])).rejects.toThrow(RangeError);
    await c.close();
  });

  it('keeps within the server in-flight limit on its own: many concurrent submits, no refusals', async () => {
    const { k, server } = node;
    const c = await connectAs(server.url, k.alice, { maxInFlight: 4 });
    const errorsBefore = server.metrics.errors.get('too_many_in_flight') ?? 0;
    const all = await Promise.all(Array.from({ length: 40 }, () => c.submitBatch([fakeTransfer(k.alice, 1n, 2n)])));
    expect(all.flat().every((r) => r.ok)).toBe(true);
    expect(server.metrics.errors.get('too_many_in_flight') ?? 0).toBe(errorsBefore);
    // One promise per record: 300 submit() calls in one tick share one frame.
    const before = server.metrics.frames;
    const singles = await Promise.all(Array.from({ length: 300 }, () => c.submit(fakeTransfer(k.alice, 1n, 2n))));
    expect(singles.every((r) => r.ok)).toBe(true);
    expect(server.metrics.frames - before).toBe(1);
    await c.close();
  });

  it('stops delivering after unsubscribe', async () => {
    const { k, server } = node;
    const c = await connectAs(server.url, k.alice);
    const seen: number[] = [];
    const off = await c.subscribe('blocks', (e) => seen.push(e.height));
    await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)]);
    await sleep(50);
    expect(seen.length).toBeGreaterThan(0);
    await off();
    const n = seen.length;
    await c.submitBatch([fakeTransfer(k.alice, 1n, 2n)]);
    await sleep(50);
    expect(seen.length).toBe(n);
    await c.close();
  });

  it('rejects outstanding and later requests when the connection is lost', async () => {
    const { k, server } = node;
    let ws: NodeWebSocket | undefined;
    const Ctor = class extends NodeWebSocket {
      constructor(url: string) {
        super(url);
        ws = this;
      }
    };
    const c = await Client.connect(server.url, { WebSocket: Ctor });
    await c.authenticate({ keyId: k.alice.keyId, sign: async (m) => (await import('../dist/src/crypto/sm2-backend.js')).sm2Backend.sign(m, k.alice.privateKey) });
    ws!.pause(); // the reply will never be read
    const p = c.submitBatch([fakeTransfer(k.alice, 1n, 2n)]);
    await sleep(20);
    ws!.close(); // then the socket goes away
    await expect(p).rejects.toBeInstanceOf(ClientError);
    await expect(c.ping()).rejects.toMatchObject({ name: 'closed' });
    expect(c.closed).toBe(true);
  });

  it('resends frames refused as overloaded, with backoff, until they are admitted', async () => {
    const n2 = await startNode({ verifySignatures: false, syncMs: 30 }, {
      limits: { BATCH_RECORDS_MAX: 64, SUBMIT_RECORDS_MAX: 64, QUEUE_RECORDS_MAX: 128, SUBMITS_IN_FLIGHT_MAX: 1 },
    });
    try {
      const { k, server } = n2;
      const patient = await connectAs(server.url, k.alice, { batchRecords: 64 });
      const impatient = await connectAs(server.url, k.bob, { batchRecords: 64, overloadRetries: 0 });
      const batch = () => Array.from({ length: 64 }, () => fakeTransfer(k.alice, 1n, 2n));
      const outcomes = await Promise.allSettled([
        patient.submitBatch(batch()), patient.submitBatch(batch()), patient.submitBatch(batch()), patient.submitBatch(batch()),
        impatient.submitBatch(batch()), impatient.submitBatch(batch()),
      ]);
      expect(server.metrics.errors.get('overloaded') ?? 0).toBeGreaterThan(0);
      // The patient client's batches all got in; the impatient one saw the refusal.
      expect(outcomes.slice(0, 4).every((o) => o.status === 'fulfilled' && o.value.every((r) => r.ok))).toBe(true);
      const rejected = outcomes.slice(4).filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected[0].reason).toMatchObject({ name: 'overloaded' });
      await patient.close();
      await impatient.close();
    } finally {
      await n2.close();
    }
  });

  it('fails to connect with a clear error when nothing listens', async () => {
    await expect(Client.connect('ws://127.0.0.1:1/ws', { connectTimeoutMs: 2000 })).rejects.toBeInstanceOf(ClientError);
  });
});
