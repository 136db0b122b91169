// The JetStream sequencer against a real nats-server (-js, 127.0.0.1, a free port, a temp
// store), over recording sinks: appends resolve with their block's codes and consecutive
// heights, a republished batch is ordered once, two readers of one stream cut identical
// blocks, ticks close an idle block, and a batch larger than the server takes is refused;
// then two real ledgers (copies of one chain) on one stream write identical blocks.
// nats-server: $NATS_SERVER_PATH, else on PATH. Without one the test is skipped with a
// message, except in CI (CI set, not "false"/"0"), where it fails (.ci/run installs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { RECORD_BYTES } from '../dist/src/codec/record.js';
import type { BlockSink, EntryChunk } from '../dist/src/ledger/sequencer.js';
import type { LogEntry } from '../dist/src/ledger/apply.js';
import { sm3 } from '../dist/src/crypto/hash.js';
import { toHex } from '../dist/src/crypto/bytes.js';
import { JetStreamSequencer, TICK_HEADER } from '../dist/src/consortium/jetstream-sequencer.js';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { Ledger, type LedgerOptions } from '../dist/src/ledger/ledger.js';
import { records } from '../dist/src/codec/builders.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

const LONG = 120_000;

interface Recorded { entry: LogEntry; chunks: EntryChunk[] }
function recorder(): { sink: BlockSink; entries: Recorded[]; begun: [number, number][]; applied: number } {
  const rec = { entries: [] as Recorded[], begun: [] as [number, number][], applied: 0, sink: undefined as unknown as BlockSink };
  rec.sink = {
    begin(height, timeMs) { rec.begun.push([height, timeMs]); },
    // Code = the record's first byte, so each append's slice can be checked.
    apply(records, count) {
      rec.applied += count;
      const codes = new Uint16Array(count);
      for (let i = 0; i < count; i++) codes[i] = records[i * RECORD_BYTES];
      return codes;
    },
    commit(entry, chunks) {
      rec.entries.push({ entry: { ...entry, records: entry.records.slice() }, chunks });
      return new Promise((resolve) => setTimeout(resolve, 1)); // durable a little later
    },
  };
  return rec;
}

function batch(n: number, mark: number): Uint8Array {
  const b = new Uint8Array(n * RECORD_BYTES);
  for (let i = 0; i < n; i++) { b[i * RECORD_BYTES] = (mark + i) & 0xff; b[i * RECORD_BYTES + 1] = mark >> 8; }
  return b;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port')));
    });
  });
}

interface Server { proc: ChildProcess; url: string; dir: string }
async function startServer(bin: string, maxPayload?: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-nats-'));
  const port = await freePort();
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, [
    `listen: "127.0.0.1:${port}"`,
    maxPayload ? `max_payload: ${maxPayload}` : '',
    `jetstream { store_dir: "${join(dir, 'js')}" }`,
  ].join('\n'));
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, timeout: 2000 });
      await jetstreamManager(nc); // JetStream answers
      await nc.close();
      return { proc, url, dir };
    } catch (err) {
      if (i >= 100 || proc.exitCode !== null) {
        proc.kill('SIGKILL');
        throw new Error(`nats-server did not start: ${(err as Error).message}\n${log}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function stopServer(s: Server | undefined): Promise<void> {
  if (!s) return;
  if (s.proc.exitCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGKILL');
    await exited;
  }
  rmSync(s.dir, { recursive: true, force: true });
}


const summary = (r: { entries: Recorded[] }): [number, number, number][] =>
  r.entries.map((e) => [e.entry.height, e.entry.timeMs, e.entry.count]);

describe.skipIf(skipWithoutNats('test/jetstream.test.ts'))('JetStream sequencer', () => {
  let server: Server | undefined;
  let nc: NatsConnection | undefined;
  const open: JetStreamSequencer[] = [];
  let streamNo = 0;

  beforeAll(async () => {
    server = await startServer(requireNats('the JetStream test'), 3 * 1024 * 1024);
    nc = await connect({ servers: server.url });
  }, LONG);

  afterAll(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    await nc?.drain().catch(() => undefined);
    await stopServer(server);
  }, LONG);

  async function sequencer(
    rec: { sink: BlockSink },
    o: { stream?: string; blockMaxRecords?: number; blockMaxMs?: number; height?: number; timeMs?: number } = {},
  ): Promise<JetStreamSequencer> {
    const stream = o.stream ?? `gmledger-test${++streamNo}`;
    const s = new JetStreamSequencer({
      servers: server!.url, stream, subject: `${stream}.batches`, height: o.height ?? 9, timeMs: o.timeMs ?? 1_000,
      sink: rec.sink,
      blockMaxRecords: o.blockMaxRecords ?? 4, blockMaxMs: o.blockMaxMs ?? 200,
    });
    open.push(s);
    await s.start();
    return s;
  }

  it('(a) appends resolve with their block\'s codes; heights are consecutive', async () => {
    const rec = recorder();
    const seq = await sequencer(rec);
    const sizes = [3, 2, 2, 1, 4, 3];
    const results = await Promise.all(sizes.map((n, i) => seq.append(batch(n, 10 * (i + 1)), n)));
    results.forEach((r, i) => {
      expect(Array.from(r.codes)).toEqual(Array.from({ length: sizes[i] }, (_, k) => 10 * (i + 1) + k));
      const e = rec.entries.find((x) => x.entry.height === r.height)!;
      expect(e.entry.records[r.first * RECORD_BYTES]).toBe(10 * (i + 1)); // its slice of its block
    });
    expect(rec.entries.map((e) => e.entry.height)).toEqual(rec.entries.map((_, i) => 10 + i));
    expect(rec.entries.reduce((a, e) => a + e.entry.count, 0)).toBe(15);
    for (const e of rec.entries) expect(e.entry.count).toBeLessThanOrEqual(4);
    for (let i = 1; i < rec.entries.length; i++) {
      expect(rec.entries[i].entry.timeMs).toBeGreaterThanOrEqual(rec.entries[i - 1].entry.timeMs);
    }
    expect(seq.height).toBe(rec.entries.at(-1)!.entry.height);
  }, LONG);

  it('(b) a republished batch (same msgID) is ordered once', async () => {
    const rec = recorder();
    const seq = await sequencer(rec);
    const b = batch(2, 50);
    const first = await seq.append(b, 2);
    const again = await seq.append(b, 2); // same bytes → same msgID → the stream's duplicate
    expect(again).toEqual(first);
    const ack = await jetstream(nc!).publish(`gmledger-test${streamNo}.batches`, b, { msgID: toHex(sm3(b)) });
    expect(ack.duplicate).toBe(true);
    const other = await seq.append(batch(1, 60), 1);
    expect(other.height).toBeGreaterThanOrEqual(first.height);
    expect(rec.applied).toBe(3);
  }, LONG);

  it('(c) two readers of one stream, and a later replay, cut identical blocks', async () => {
    const stream = `gmledger-det${++streamNo}`;
    const a = recorder();
    const b = recorder();
    const seqA = await sequencer(a, { stream });
    const seqB = await sequencer(b, { stream });
    const sizes = [3, 1, 2, 4, 1, 1, 3, 2, 2, 1, 4, 3];
    await Promise.all(sizes.map(async (n, i) => {
      if (i % 3 === 2) await new Promise((r) => setTimeout(r, 250)); // some time cuts
      return (i % 2 ? seqB : seqA).append(batch(n, 7 * i + 1), n);
    }));
    const c = recorder();
    const seqC = await sequencer(c, { stream }); // starts after the others: replays from the tip
    const jsm = await jetstreamManager(nc!);
    const quiet = async (): Promise<boolean> => {
      const last = (await jsm.streams.info(stream)).state.last_seq;
      return [seqA, seqB, seqC].every((s) => s.lastSeq === last && s.openRecords === 0);
    };
    let done = false;
    await until('all readers at the stream end with no block open', () => {
      void quiet().then((q) => { done = q; });
      return done;
    });
    expect(summary(a).length).toBeGreaterThan(1);
    expect(summary(b)).toEqual(summary(a));
    expect(summary(c)).toEqual(summary(a));
    for (let i = 0; i < a.entries.length; i++) {
      expect(toHex(sm3(b.entries[i].entry.records))).toBe(toHex(sm3(a.entries[i].entry.records)));
      expect(toHex(sm3(c.entries[i].entry.records))).toBe(toHex(sm3(a.entries[i].entry.records)));
    }
    expect(a.begun).toEqual(b.begun);
    expect(a.entries.reduce((s, e) => s + e.entry.count, 0)).toBe(27);
  }, LONG);

  it('(e) a reader started at any tip the stream cut resumes there by itself (no startSeq)', async () => {
    const stream = `gmledger-resume${++streamNo}`;
    const a = recorder();
    const seqA = await sequencer(a, { stream });
    const sizes = [3, 1, 2, 4, 1, 1, 3, 2, 2, 1, 4, 3];
    for (const [i, n] of sizes.entries()) {
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 250)); // some time cuts
      void seqA.append(batch(n, 5 * i + 1), n);
    }
    await seqA.cutAndWait();
    const last = a.entries.at(-1)!.entry.height;
    expect(a.entries.length).toBeGreaterThan(3);
    // Resume at every tip (and at the base): exactly the blocks after it, nothing applied twice.
    for (const tip of [{ height: 9, timeMs: 1_000 }, ...a.entries.map((e) => e.entry)]) {
      const r = recorder();
      const s = await sequencer(r, { stream, height: tip.height, timeMs: tip.timeMs });
      await until(`a reader from block ${tip.height} to reach ${last}`, () => s.height >= last && r.entries.length >= last - tip.height);
      const after = a.entries.filter((e) => e.entry.height > tip.height);
      expect(summary(r)).toEqual(summary({ entries: after }));
      expect(r.entries.map((e) => toHex(sm3(e.entry.records)))).toEqual(after.map((e) => toHex(sm3(e.entry.records))));
      expect(r.applied).toBe(after.reduce((x, e) => x + e.entry.count, 0));
      await s.close();
    }
    // A tip the stream never cut (wrong time), or beyond the stream's end, is refused.
    const wrong = a.entries[1].entry;
    await expect(sequencer(recorder(), { stream, height: wrong.height, timeMs: wrong.timeMs + 1 }))
      .rejects.toThrow(/time/);
    await expect(sequencer(recorder(), { stream, height: last + 1, timeMs: 0 })).rejects.toThrow(/ends/);
  }, LONG);

  it('(f) refuses an existing stream whose settings or block parameters do not fit', async () => {
    const jsm = await jetstreamManager(nc!);
    const name = `gmledger-bad${++streamNo}`;
    await jsm.streams.add({ name, subjects: [`${name}.batches`], storage: StorageType.Memory, max_msg_size: 1024 });
    await expect(sequencer(recorder(), { stream: name })).rejects.toThrow(/does not fit: storage memory.*max_msg_size/);
    const other = `gmledger-bad${++streamNo}`;
    await jsm.streams.add({ name: other, subjects: [`${other}.*`], storage: StorageType.File, max_msg_size: -1 });
    await expect(sequencer(recorder(), { stream: other })).rejects.toThrow(/subjects.*no gmledger base/);
    const ours = `gmledger-bad${++streamNo}`;
    await sequencer(recorder(), { stream: ours, blockMaxRecords: 4 });
    await expect(sequencer(recorder(), { stream: ours, blockMaxRecords: 5 })).rejects.toThrow(/blockMaxRecords 4/);
    await expect(sequencer(recorder(), { stream: ours, blockMaxMs: 300 })).rejects.toThrow(/blockMaxMs 200/);
  }, LONG);

  it('(d) a tick closes an idle block', async () => {
    const rec = recorder();
    const seq = await sequencer(rec, { blockMaxRecords: 100, blockMaxMs: 150 });
    const r = await seq.append(batch(2, 90), 2); // never fills the block: only a tick can cut it
    expect(r).toMatchObject({ height: 10, first: 0 });
    expect(summary(rec).map(([h, , n]) => [h, n])).toEqual([[10, 2]]);
    // The stream holds the batch, then the tick that cut it.
    const jsm = await jetstreamManager(nc!);
    const stream = `gmledger-test${streamNo}`;
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBeGreaterThanOrEqual(2);
    const tick = await jsm.streams.getMessage(stream, { seq: 2 });
    expect(tick?.header.has(TICK_HEADER)).toBe(true);
    expect(tick?.data.length).toBe(0);
  }, LONG);

  it('takes an 8,190-record batch', async () => {
    const rec = recorder();
    const seq = await sequencer(rec, { blockMaxRecords: 8190, blockMaxMs: 100 });
    const r = await seq.append(batch(8190, 1), 8190);
    expect(r.codes.length).toBe(8190);
    expect(rec.entries[0].entry.count).toBe(8190);
  }, LONG);

  it('refuses, with a clear error, a batch larger than the server\'s max_payload', async () => {
    const small = await startServer(requireNats('the JetStream test')); // default max_payload: 1 MiB
    const rec = recorder();
    const s = new JetStreamSequencer({
      servers: small.url, stream: 'gmledger-small', subject: 'gmledger-small.batches', height: 0, timeMs: 0,
      sink: rec.sink, blockMaxRecords: 8190, blockMaxMs: 100,
    });
    try {
      await s.start();
      await expect(s.append(batch(8190, 1), 8190)).rejects.toThrow(/max_payload/);
      expect((await s.append(batch(2, 1), 2)).height).toBe(1);
    } finally {
      await s.close().catch(() => undefined);
      await stopServer(small);
    }
  }, LONG);

  it('wired into two real ledgers (a copy of one chain), they write identical blocks', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gmledger-jsledger-'));
    const ledgers: Ledger[] = [];
    try {
      const dirA = join(root, 'a');
      const dirB = join(root, 'b');
      const { admin, config } = await initChain({ dir: dirA, chainId: 7 });
      cpSync(dirA, dirB, { recursive: true });
      const stream = `gmledger-${config.chainId}-${++streamNo}`;
      const sequencer: LedgerOptions['sequencer'] = (tip, sink, o) => new JetStreamSequencer({
        servers: server!.url, stream, subject: `${stream}.batches`, ...tip, sink, ...o,
      });
      const a = await Ledger.open({ dir: dirA, blockMaxRecords: 3, blockMaxMs: 100, sequencer });
      ledgers.push(a);
      const b = await Ledger.open({ dir: dirB, blockMaxRecords: 3, blockMaxMs: 100, sequencer });
      ledgers.push(b);
      const hashesA = new Map<number, string>();
      const hashesB = new Map<number, string>();
      a.on('block', (e: { height: number; hash: Uint8Array }) => hashesA.set(e.height, toHex(e.hash)));
      b.on('block', (e: { height: number; hash: Uint8Array }) => hashesB.set(e.height, toHex(e.hash)));
      const anchor = (id: bigint) =>
        records.anchor({ chainId: config.chainId, id, digest: new Uint8Array(32).fill(Number(id & 0xffn)) }, admin);
      const results = await Promise.all([1, 2, 1, 3, 2].map((n, i) =>
        a.submit(Array.from({ length: n }, (_, k) => anchor(BigInt(1000 + 10 * i + k))))));
      for (const r of results.flat()) expect(r).toMatchObject({ code: 0, name: 'ok' });
      await a.flush();
      const height = a.height;
      expect(height).toBeGreaterThan(1);
      expect(hashesA.size).toBe(height); // blocks 1..height (0 is genesis)
      await until('the follower to write every block', () => hashesB.size >= hashesA.size && b.height >= height);
      await b.flush();
      expect([...hashesB.entries()].sort()).toEqual([...hashesA.entries()].sort());
      for (const l of ledgers.splice(0)) await l.close();
      for (const dir of [dirA, dirB]) expect(await verifyChain(dir)).toMatchObject({ ok: true, height });
    } finally {
      for (const l of ledgers) await l.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  }, LONG);

  it('a ledger on the stream, closed and reopened with a new sequencer (no startSeq), resumes at its tip', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gmledger-jsrestart-'));
    const dir = join(root, 'a');
    let ledger: Ledger | undefined;
    try {
      const { admin, config } = await initChain({ dir, chainId: 9 });
      const stream = `gmledger-${config.chainId}-${++streamNo}`;
      let applied = 0; // records the sink applied, per session
      const sequencer: LedgerOptions['sequencer'] = (tip, sink, o) => new JetStreamSequencer({
        servers: server!.url, stream, subject: `${stream}.batches`, ...tip, ...o, sink: {
          begin: (h, t) => sink.begin(h, t),
          apply: (r, n) => { applied += n; return sink.apply(r, n); },
          commit: (e, c) => sink.commit(e, c),
        },
      });
      const anchor = (id: bigint) =>
        records.anchor({ chainId: config.chainId, id, digest: new Uint8Array(32).fill(Number(id & 0xffn)) }, admin);
      const heights: number[] = [];
      const session = async (base: number, sizes: number[]): Promise<number> => {
        applied = 0;
        ledger = await Ledger.open({ dir, blockMaxRecords: 3, blockMaxMs: 100, sequencer });
        expect(applied).toBe(0); // the replay applies nothing (the stream holds nothing after the tip)
        ledger.on('block', (e: { height: number }) => heights.push(e.height));
        const results = await Promise.all(sizes.map((n, i) =>
          ledger!.submit(Array.from({ length: n }, (_, k) => anchor(BigInt(base + 10 * i + k))))));
        for (const r of results.flat()) expect(r).toMatchObject({ code: 0, name: 'ok' });
        await ledger.flush();
        const height = ledger.height;
        await ledger.close();
        ledger = undefined;
        expect(applied).toBe(sizes.reduce((a, n) => a + n, 0)); // each batch applied once
        return height;
      };
      const first = await session(1000, [1, 2, 1, 3, 2]);
      expect(first).toBeGreaterThan(1);
      const second = await session(2000, [2, 1, 3, 1]);
      expect(second).toBeGreaterThan(first);
      const third = await session(3000, [3]);
      expect(heights).toEqual(Array.from({ length: third }, (_, i) => i + 1)); // continuous, none twice
      expect(await verifyChain(dir)).toMatchObject({ ok: true, height: third });
      ledger = await Ledger.open({ dir, blockMaxRecords: 3, blockMaxMs: 100, sequencer });
      let total = 0;
      for (let h = 1; h <= third; h++) total += (await ledger.getBlock(h))!.records.length;
      expect(total).toBe(9 + 7 + 3);
      // Other block parameters than the stream was cut with are refused at open.
      await ledger.close();
      ledger = undefined;
      await expect(Ledger.open({ dir, blockMaxRecords: 4, blockMaxMs: 100, sequencer })).rejects.toThrow(/does not fit/);
    } finally {
      await ledger?.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  }, LONG);
});
