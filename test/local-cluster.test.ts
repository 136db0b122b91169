// A local consortium in one call (src/server/local-cluster.ts) and `gmledger cluster up`
// (src/server/cli-cluster.ts), on real nats-server and `gmledger start` processes: records
// signed by the admin and submitted through node 1's WebSocket become final at all three
// nodes; a SIGKILLed node restarts at the same URL and catches up; stop() and SIGINT to
// `cluster up` leave no process behind. No timing assertions: the machine may be slow.
// nats-server: as in test/nats-cluster.test.ts (in CI it must be there).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, authSigner, records, signerFromKeyPair, type Signer } from '../dist/src/client/index.js';
import { startLocalCluster, type LocalCluster } from '../dist/src/server/local-cluster.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

/** Polls HTTP and processes: every 100 ms, for up to 60 s. */
const wait = (what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) => until(what, ok, ms, 100);

const LONG = 120_000;



function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function adminOf(keyFile: string): Signer {
  const hex = (f: string) => Buffer.from(readFileSync(f, 'utf8').trim(), 'hex');
  return signerFromKeyPair({ privateKey: hex(keyFile), publicKey: hex(keyFile.replace(/\.key$/, '.pub')) });
}

const finalAt = async (c: LocalCluster, i: number) => Number((await c.status(i)).finalHeight);

const SKIP = skipWithoutNats('test/local-cluster.test.ts');

describe.skipIf(SKIP)('local consortium cluster', () => {
  let root = '';
  let cluster: LocalCluster | undefined;
  let client: Client | undefined;

  beforeAll(() => {
    requireNats('the local cluster test');
    root = mkdtempSync(join(tmpdir(), 'gmledger-localcluster-'));
  });
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, LONG);

  it('refuses bad options, naming them, before starting anything', async () => {
    const dir = join(root, 'bad');
    await expect(startLocalCluster({ nodes: 0, dir })).rejects.toThrow(/^nodes must be/);
    await expect(startLocalCluster({ nodes: 8, dir })).rejects.toThrow(/^nodes must be/);
    await expect(startLocalCluster({ nodes: 3, natsServers: 6, dir })).rejects.toThrow(/^natsServers must be/);
    await expect(startLocalCluster({ nodes: 3, quorum: 4, dir })).rejects.toThrow(/^quorum must be an integer in 1\.\.3/);
    await expect(startLocalCluster({ nodes: 3, blockMs: -1, dir })).rejects.toThrow(RangeError);
    await expect(startLocalCluster({ nodes: 3, dir: '' })).rejects.toThrow(/^dir must be/);
    expect(existsSync(dir)).toBe(false);
  });

  it('a node that exits before listening fails the start with its stderr tail', async () => {
    const o = { nodes: 1, natsServers: 1, dir: join(root, 'dies'), nodeArgs: ['--no-such-option'] };
    await expect(startLocalCluster(o)).rejects.toThrow(/node 1 .*exited before listening \(code 2\)[\s\S]*unknown option --no-such-option/);
  }, LONG);

  it('3 nodes on 3 nats-servers: admin records through node 1 become final everywhere, across a node\'s SIGKILL', async () => {
    cluster = await startLocalCluster({ nodes: 3, natsServers: 3, dir: join(root, 'lib') });
    const c = cluster;
    expect(c.nodes.map((n) => n.index)).toEqual([0, 1, 2]);
    expect(c.adminKeyFile).toBe(join(root, 'lib', 'chain', 'node-1', 'keys', 'admin.key'));
    const admin = adminOf(c.adminKeyFile);
    client = await Client.connect(c.nodes[0].url, { signer: authSigner(admin) });
    expect(client.chainId).toBe(c.chainId);
    let id = 1000n; // above the genesis register_key ids
    const anchors = (n: number) => Array.from({ length: n }, () =>
      records.anchor({ chainId: c.chainId, id: ++id, digest: new Uint8Array(32).fill(Number(id & 0xffn)) }, admin));
    const submit = async (n: number): Promise<number> => {
      const results = await client!.submitBatch(anchors(n));
      expect(results.map((r) => r.result)).toEqual(Array(n).fill('ok'));
      return Math.max(...results.map((r) => r.height));
    };
    const allFinal = (h: number, nodes = [0, 1, 2]) =>
      wait(`nodes ${nodes.map((i) => i + 1)} final at ${h}`, async () => (await Promise.all(nodes.map((i) => finalAt(c, i)))).every((f) => f >= h));

    const h1 = Math.max(await submit(3), await submit(2));
    await allFinal(h1);

    // Quorum 2 of 3: with node 3 SIGKILLed the other two go on finalising.
    const pid3 = c.nodes[2].pid!;
    const url3 = c.nodes[2].url;
    await c.kill(2);
    expect(c.nodes[2].pid).toBeUndefined();
    expect(gone(pid3)).toBe(true);
    await expect(c.status(2)).rejects.toThrow();
    const h2 = await submit(3);
    await allFinal(h2, [0, 1]);
    // It comes back at the same URL and catches up.
    await expect(c.restart(0)).rejects.toThrow(/is running/);
    await c.restart(2);
    expect(c.nodes[2].url).toBe(url3);
    expect(c.nodes[2].pid).not.toBe(pid3);
    await allFinal(h2);
    for (let i = 0; i < 3; i++) {
      const s = await c.status(i);
      expect(s.height, `node ${i + 1}`).toBeGreaterThanOrEqual(h2);
      expect((s.consortium as { halted: unknown }).halted, `node ${i + 1}`).toBeNull();
      expect(c.alarms(i), `node ${i + 1}: ${c.stderrTail(i)}`).toEqual([]);
    }

    await client.close();
    client = undefined;
    const pids = [...c.nodes.map((n) => n.pid!), ...c.nats.urls.map((_, i) => c.nats.pid(i)!)];
    expect(pids.every((p) => p > 0)).toBe(true);
    await c.stop();
    await c.stop(); // idempotent
    for (const p of pids) expect(gone(p), `pid ${p}`).toBe(true);
    await expect(c.restart(0)).rejects.toThrow(/after stop/);
  }, LONG);

  it('gmledger cluster up: JSON lines, a serving node, and SIGINT stops everything with exit 0', async () => {
    const child = spawn(process.execPath, ['dist/src/cli.js', 'cluster', 'up', '--nodes', '3', '--nats-servers', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    try {
      await wait('the cluster line', async () => {
        if (child.exitCode !== null) throw new Error(`cluster up exited ${child.exitCode}: ${err}`);
        return out.includes('"event":"cluster"');
      }, LONG);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\nstdout: ${out}\nstderr: ${err}`, { cause: e });
    }
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    const nodes = lines.filter((l) => l.event === 'node');
    const info = lines.find((l) => l.event === 'cluster');
    expect(nodes.map((n) => n.index)).toEqual([1, 2, 3]);
    expect(info.nats).toHaveLength(3);
    expect(existsSync(info.adminKeyFile)).toBe(true);
    expect(err).toContain(`chain ${info.chainId}`);
    const status = await (await fetch(`${nodes[1].http}/status`)).json();
    expect(status).toMatchObject({ chainId: info.chainId, consortium: { halted: null } });

    child.kill('SIGINT');
    expect(await exited, err).toBe(0);
    for (const p of [...nodes.map((n) => n.pid), ...info.nats.map((n: { pid: number }) => n.pid)]) {
      expect(gone(p), `pid ${p}`).toBe(true);
    }
    expect(existsSync(info.dir)).toBe(false); // the temporary folder is removed
  }, LONG);
});
