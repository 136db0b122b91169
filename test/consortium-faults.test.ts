// The faults a consortium must survive, on real processes: three nats-servers (R3) and three
// `gmledger start --nats` nodes on 127.0.0.1 (src/server/local-cluster.ts, quorum 2 of
// 3), under a steady load of signed transfers of amount 1 submitted with wait 'final'
// through the SDK with all three URLs:
//   1. SIGKILL of a nats-server (the batch stream's leader): the chain keeps finalising;
//      the server restarts and rejoins;
//   2. SIGKILL of a node the client is not on: the other two keep finalising; restarted, it
//      catches up and has byte-identical headers;
//   3. SIGKILL of the node the client is connected to, mid-stream: the SDK fails over;
// and at the end every submitted transfer resolved ok or exists, and the debit account
// moved exactly one unit per transfer id (nothing lost, nothing applied twice); every
// node's chain passes `gmledger verify` with its certificates.
// No timing assertions: progress is awaited with generous timeouts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Client, authSigner, records, signerFromKeyPair, type Signer } from '../dist/src/client/index.js';
import { startLocalCluster, type LocalCluster } from '../dist/src/server/local-cluster.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

/** Polls HTTP and processes: every 100 ms, for up to 90 s. */
const wait = (what: string, ok: () => boolean | Promise<boolean>, ms = 90_000) => until(what, ok, ms, 100);

const LONG = 240_000;
const SKIP = skipWithoutNats('test/consortium-faults.test.ts');


function adminOf(keyFile: string): Signer {
  const hex = (f: string) => Buffer.from(readFileSync(f, 'utf8').trim(), 'hex');
  return signerFromKeyPair({ privateKey: hex(keyFile), publicKey: hex(keyFile.replace(/\.key$/, '.pub')) });
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return await r.json() as Record<string, unknown>;
}

/** Transfers of amount 1 from account 1 to 2, 20 per submit, one submit after another, waiting for final. */
class Load {
  submitted = 0;
  acked = 0;
  readonly outcomes = new Map<string, number>();
  errors: Error[] = [];
  #next = 1n;
  #stop = false;
  #done: Promise<void> | undefined;
  constructor(readonly client: Client, readonly chainId: number, readonly admin: Signer) {}

  start(): void {
    this.#done = (async () => {
      while (!this.#stop) {
        const batch = Array.from({ length: 20 }, () => records.transfer({
          chainId: this.chainId, id: this.#next++, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1, code: 1,
        }, this.admin));
        this.submitted += batch.length;
        try {
          const rs = await this.client.submitBatch(batch, { wait: 'final' });
          for (const r of rs) this.outcomes.set(r.result, (this.outcomes.get(r.result) ?? 0) + 1);
          this.acked += rs.filter((r) => r.result === 'ok' || r.result === 'exists').length;
        } catch (e) {
          this.errors.push(e as Error);
        }
      }
    })();
  }

  /** Resolves once `n` more transfers are acknowledged (final) than when called. */
  async progress(what: string, n = 100): Promise<void> {
    const target = this.acked + n;
    await wait(`${what}: ${n} more final transfers`, () => this.acked >= target);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

describe.skipIf(SKIP)('consortium faults: 3 nats-servers, 3 nodes, load', () => {
  let root = '';
  let cluster: LocalCluster | undefined;
  let client: Client | undefined;
  let load: Load;

  beforeAll(async () => {
    requireNats('the consortium fault test');
    root = mkdtempSync(join(tmpdir(), 'gmledger-faults-'));
    cluster = await startLocalCluster({ nodes: 3, natsServers: 3, dir: root, quorum: 2 });
    const admin = adminOf(cluster.adminKeyFile);
    client = await Client.connect(cluster.nodes.map((n) => n.url), { signer: authSigner(admin) });
    const setup = await client.submitBatch([
      records.createAccount({ chainId: cluster.chainId, id: 1n, ledger: 1, code: 1, controller: admin.keyId }, admin),
      records.createAccount({ chainId: cluster.chainId, id: 2n, ledger: 1, code: 1, controller: admin.keyId }, admin),
    ], { wait: 'final' });
    expect(setup.map((r) => r.result)).toEqual(['ok', 'ok']);
    load = new Load(client, cluster.chainId, admin);
    load.start();
    await load.progress('warm-up');
  }, LONG);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, LONG);

  it('SIGKILL of the batch stream\'s leader nats-server: finality goes on; it rejoins', async () => {
    const c = cluster!;
    const nc = await connect({ servers: c.nats.urls });
    let leader: string | undefined;
    try {
      const info = await (await jetstreamManager(nc)).streams.info(`gmledger-${c.chainId}`);
      leader = info.cluster?.leader;
    } finally {
      await nc.close();
    }
    const i = Math.max(0, c.nats.names.indexOf(leader ?? ''));
    await c.nats.kill(i);
    await load.progress('with a nats-server down');
    await c.nats.restart(i);
    await load.progress('after it rejoined');
    expect(load.errors).toEqual([]);
  }, LONG);

  it('SIGKILL of a node: the others finalise; restarted, it catches up with identical headers', async () => {
    const c = cluster!;
    const victim = c.nodes.findIndex((n) => n.url !== client!.url);
    await c.kill(victim);
    await load.progress('with a node down');
    await c.restart(victim);
    await load.progress('after the restart');
    const final0 = Number((await c.status(c.nodes.findIndex((n) => n.url === client!.url))).finalHeight);
    await wait('the restarted node final at the others\' height',
      async () => Number((await c.status(victim)).finalHeight) >= final0);
    for (const h of [1, Math.floor(final0 / 2), final0]) {
      const heads = await Promise.all(c.nodes.map((n) => getJson(`${n.http}/blocks/${h}`)));
      expect(new Set(heads.map((b) => b.headerBytes)).size, `block ${h}`).toBe(1);
    }
    expect(load.errors).toEqual([]);
  }, LONG);

  it('SIGKILL of the node the client is on: the SDK fails over; nothing lost, nothing twice', async () => {
    const c = cluster!;
    const on = c.nodes.findIndex((n) => n.url === client!.url);
    let failedOver = false;
    client!.onFailover(() => { failedOver = true; });
    await c.kill(on);
    await load.progress('after failover');
    expect(failedOver).toBe(true);
    await c.restart(on);
    await load.stop();
    expect(load.errors).toEqual([]);
    // Every transfer resolved ok or exists; the debit account moved one unit per transfer id.
    expect(load.acked).toBe(load.submitted);
    console.log(`consortium faults: ${load.submitted} transfers, outcomes ${JSON.stringify([...load.outcomes])}`);
    const http = c.nodes[(on + 1) % 3].http;
    await wait('the account to show every final transfer', async () =>
      BigInt((await getJson(`${http}/accounts/1`)).debitsPosted as string) === BigInt(load.submitted));
    const height = Number((await c.status((on + 1) % 3)).finalHeight);
    await wait('every node final at that height', async () =>
      (await Promise.all([0, 1, 2].map((k) => c.status(k)))).every((s) => Number(s.finalHeight) >= height));
    const alarms = [0, 1, 2].flatMap((k) => c.alarms(k));
    expect(alarms).toEqual([]);
  }, LONG);

  it('a batch no node would admit raises an alarm on the regulator\'s `alarms` topic of every node', async () => {
    const c = cluster!;
    const admin = adminOf(c.adminKeyFile);
    const watchers = await Promise.all(c.nodes.map((n) => Client.connect(n.url, { signer: authSigner(admin) })));
    const seen: Record<string, unknown>[][] = [[], [], []];
    try {
      for (const [k, w] of watchers.entries()) await w.subscribe('alarms', (e) => { seen[k].push(e as never); });
      // An anonymous batch (no appender identity) published straight to the stream.
      const nc = await connect({ servers: c.nats.urls });
      const bad = records.transfer({
        chainId: c.chainId, id: 1n << 60n, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1, code: 1,
      }, admin);
      try {
        await jetstream(nc).publish(`gmledger.${c.chainId}.batches`, bad);
      } finally {
        await nc.close();
      }
      await wait('every node to publish the alarm', () => seen.every((s) => s.length > 0));
      for (const s of seen) expect(s[0]).toMatchObject({ kind: 'bad_batch', node: '', topic: 'alarms' });
      // The same alarm in every node's log.
      await wait('the alarm in every node\'s log', () => [0, 1, 2].every((k) => c.alarms(k).some((a) => a.kind === 'bad_batch')));
      const unauth = await Client.connect(c.nodes[0].url);
      await expect(unauth.subscribe('alarms', () => undefined)).rejects.toThrow(/not_authenticated|authenticate/);
      await unauth.close();
    } finally {
      for (const w of watchers) await w.close();
    }
    // The refused transfer is nowhere.
    const r = await fetch(`${c.nodes[1].http}/transactions/${(1n << 60n).toString()}`);
    expect(r.status).toBe(404);
  }, LONG);

  it('every node\'s chain passes gmledger verify, certificates included', async () => {
    const c = cluster!;
    await client!.close();
    client = undefined;
    for (let k = 0; k < 3; k++) await c.kill(k, 'SIGTERM');
    const cli = resolve('dist/src/cli.js');
    for (const n of c.nodes) {
      const r = spawnSync(process.execPath, [cli, 'verify', n.dir, '--threads', '1'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { ok: boolean; certified: number };
      expect(report.ok).toBe(true);
      expect(report.certified).toBeGreaterThan(0);
    }
  }, LONG);
});
