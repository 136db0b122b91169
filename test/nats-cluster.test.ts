// The local JetStream cluster harness (src/consortium/nats-cluster.ts) on 3 real nats-server
// processes in a temp dir: an R3 file stream keeps every acked message through a SIGKILL of
// its leader (publishing goes on while it is down), the killed server restarts with its
// store and catches up, an ordered consumer reads each acked message exactly once in
// publish order, and stop() leaves no process behind. Also: a server that dies at start
// fails startNatsCluster with the logs' tails, and bad options are refused.
// nats-server: $NATS_SERVER_PATH, else on PATH, else /usr/sbin. Without one the test is
// skipped with a message, except in CI (CI set, not "false"/"0"), where it fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../dist/src/consortium/nats-cluster.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

const LONG = 120_000;
const MSG_BYTES = 64 * 1024;
const PER_PHASE = 200;
/** How long one message may take to be acked across a leader election (retried meanwhile). */
const PUBLISH_DEADLINE_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries fn (e.g. across a stream leader election) until it resolves or deadlineMs passes. */
async function retry<T>(what: string, fn: () => Promise<T>, deadlineMs = PUBLISH_DEADLINE_MS): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await sleep(200);
    }
  }
}


/** Message k: its index in the first 4 bytes, then a pattern of k, so a mixed-up body shows. */
function body(k: number): Uint8Array {
  const b = new Uint8Array(MSG_BYTES).fill(k & 0xff);
  new DataView(b.buffer).setUint32(0, k);
  return b;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe.skipIf(skipWithoutNats('test/nats-cluster.test.ts'))('NATS cluster harness', () => {
  let root = '';
  let cluster: NatsCluster | undefined;
  let nc: NatsConnection | undefined;

  beforeAll(() => { root = mkdtempSync(join(tmpdir(), 'gmledger-natscluster-')); });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses bad options before starting anything', async () => {
    await expect(startNatsCluster({ servers: 0, dir: root })).rejects.toThrow(/servers must be/);
    await expect(startNatsCluster({ servers: 6, dir: root })).rejects.toThrow(/servers must be/);
    await expect(startNatsCluster({ servers: 1, dir: root, host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('a server that dies at start fails it with the logs\' tails, leaving nothing running', async () => {
    // `false` exits at once: the harness must report it, not wait out its timeout.
    const started = Date.now();
    await expect(startNatsCluster({ servers: 2, dir: join(root, 'dead'), binary: 'false', readyTimeoutMs: 60_000 }))
      .rejects.toThrow(/n[01] exited[\s\S]*--- n0 .*nats\.log/);
    expect(Date.now() - started).toBeLessThan(50_000); // well before the 60 s timeout
  }, LONG);

  it('an R3 stream keeps every acked message through a SIGKILLed leader and its restart', async () => {
    cluster = await startNatsCluster({ servers: 3, dir: join(root, 'r3'), binary: requireNats('the NATS cluster test') });
    expect(cluster.urls).toHaveLength(3);
    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm: JetStreamManager = await jetstreamManager(nc);
    const js = jetstream(nc);
    const stream = 'r3';
    await jsm.streams.add({ name: stream, subjects: ['r3.msgs'], storage: StorageType.File, num_replicas: 3 });
    const acked = new Map<number, number>(); // k → stream sequence
    const publish = async (from: number, to: number): Promise<void> => {
      for (let k = from; k < to; k++) {
        // A publish that times out or finds no responders (leader election) is retried with
        // the same msgID: if the first copy was stored, the stream acks it as a duplicate.
        const ack = await retry(`publish ${k}`, () => js.publish('r3.msgs', body(k), { msgID: `m-${k}`, timeout: 5_000 }));
        expect(ack.stream).toBe(stream);
        acked.set(k, ack.seq);
      }
    };

    // 1. 200 messages of 64 KiB on a healthy cluster.
    await publish(0, PER_PHASE);
    // 2. SIGKILL the stream's leader; publishing goes on through the other two.
    const info: StreamInfo = await retry('stream info', () => jsm.streams.info(stream));
    const victim = cluster.names.indexOf(info.cluster!.leader!);
    expect(victim).toBeGreaterThanOrEqual(0);
    const victimPid = cluster.pid(victim)!;
    await cluster.kill(victim);
    expect(cluster.pid(victim)).toBeUndefined();
    expect(gone(victimPid)).toBe(true);
    await publish(PER_PHASE, 2 * PER_PHASE);
    // 3. The killed server comes back with its store and catches up: 3 current replicas.
    await expect(cluster.restart((victim + 1) % 3)).rejects.toThrow(/is running/);
    await cluster.restart(victim);
    await until('the stream to report a leader and 2 current replicas', async () => {
      const c = (await jsm.streams.info(stream)).cluster;
      const replicas = c?.replicas ?? [];
      return !!c?.leader && replicas.length === 2 && replicas.every((r) => r.current && !r.offline);
    });
    const state = (await retry('stream info', () => jsm.streams.info(stream))).state;
    expect(state.messages).toBe(2 * PER_PHASE);
    expect(state.last_seq).toBe(acked.get(2 * PER_PHASE - 1));
    // Every acked message, exactly once, in publish order, with its acked sequence and body.
    const consumer = await retry('ordered consumer', () => js.consumers.get(stream));
    const seen: number[] = [];
    const messages = await consumer.consume();
    for await (const m of messages) {
      const k = new DataView(m.data.buffer, m.data.byteOffset).getUint32(0);
      expect(m.headers?.get('Nats-Msg-Id')).toBe(`m-${k}`);
      expect(m.seq).toBe(acked.get(k));
      expect(Buffer.from(m.data).equals(Buffer.from(body(k)))).toBe(true);
      seen.push(k);
      if (m.seq === state.last_seq) break;
    }
    await messages.close();
    expect(seen).toEqual(Array.from({ length: 2 * PER_PHASE }, (_, k) => k));

    // 4. stop() ends every server: no process left.
    const pids = cluster.names.map((_, i) => cluster!.pid(i)!);
    expect(pids.every((p) => p > 0)).toBe(true);
    await nc.close();
    nc = undefined;
    await cluster.stop();
    await cluster.stop(); // idempotent
    for (const p of pids) expect(gone(p)).toBe(true);
    await expect(cluster.restart(0)).rejects.toThrow(/after stop/);
  }, LONG);
});
