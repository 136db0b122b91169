// The key ceremony for a consortium on separate machines (docs/consortium.md, "On separate
// machines"): each organisation makes its node key pair (gmledger keygen) and sends only the
// .pub; the founder makes a genesis directory from the public keys (gmledger init --node-pub)
// that holds no node private key; each organisation makes its node directory from a copy of
// it (gmledger join). Checks: every directory verifies, each node directory names its own
// key, bad inputs are refused naming the file, and (with nats-server) the three joined nodes
// finalise a submit together. nats-server as in test/consortium.test.ts: in CI it must be there.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { records, signerFromKeyPair } from '../dist/src/codec/builders.js';
import { fromHex } from '../dist/src/crypto/bytes.js';
import { type ConsortiumNode, openConsortiumLedger } from '../dist/src/consortium/consortium.js';
import { startNatsCluster, type NatsCluster } from '../dist/src/consortium/nats-cluster.js';
import { skipWithoutNats, requireNats } from './helpers/nats.js';

const LONG = 120_000;

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/src/cli.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const json = (out: string) => JSON.parse(out) as Record<string, unknown>;

let root: string;
let genesis: string;
const orgs = ['bank', 'road', 'regulator'];
const keyIds: Record<string, string> = {};
const nodeDir = (org: string) => join(root, `node-${org}`);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gmledger-ceremony-'));
  genesis = join(root, 'genesis');
  for (const org of orgs) {
    const r = cli('keygen', join(root, org));
    expect(r.code, r.err).toBe(0);
    keyIds[org] = json(r.out).keyId as string;
  }
}, LONG);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('gmledger init --node-pub and gmledger join: the key ceremony', () => {
  it('makes a genesis from public keys only, and one node directory per organisation, all verifying', () => {
    // The regulator's node first: --require-regulator names the first key.
    const pubs = ['regulator', 'bank', 'road'].map((o) => join(root, `${o}.pub`));
    const r = cli('init', genesis, '--node-pub', `${pubs[0]},${pubs[1]}`, '--node-pub', pubs[2], '--require-regulator');
    expect(r.code, r.err).toBe(0);
    const made = json(r.out);
    expect((made.nodes as { node: string }[]).map((n) => n.node))
      .toEqual([keyIds.regulator, keyIds.bank, keyIds.road]);
    expect(made.consortium).toEqual({ quorum: 3, required: [keyIds.regulator] });
    expect(readdirSync(join(genesis, 'keys')).sort())
      .toEqual(['admin.key', 'admin.pub', 'regulator.key', 'regulator.pub']);
    const info = json(cli('info', genesis).out);
    expect(Object.values(keyIds)).not.toContain(info.nodeKeyId); // the one-off genesis key, no organisation's
    expect(info.nodeKeyId).toBe(made.genesisKey);
    expect(cli('verify', genesis)).toMatchObject({ code: 0 });

    for (const org of orgs) {
      const j = cli('join', genesis, nodeDir(org), '--key', join(root, org));
      expect(j.code, j.err).toBe(0);
      expect(json(j.out).nodeKeyId).toBe(keyIds[org]);
      expect(json(cli('info', nodeDir(org)).out).nodeKeyId).toBe(keyIds[org]);
      expect(cli('verify', nodeDir(org)), org).toMatchObject({ code: 0 });
      expect(readdirSync(join(nodeDir(org), 'keys')).sort())
        .toEqual(['admin.pub', 'node.key', 'node.pub', 'regulator.pub']);
      expect(readFileSync(join(nodeDir(org), 'keys', 'node.key'), 'utf8'))
        .toBe(readFileSync(join(root, `${org}.key`), 'utf8'));
    }
  }, LONG);

  it('refuses bad node public keys, naming the file, and makes nothing', () => {
    const bad = join(root, 'bad.pub');
    writeFileSync(bad, '04' + 'ab'.repeat(10) + '\n');
    const offCurve = join(root, 'off-curve.pub');
    writeFileSync(offCurve, '04' + '11'.repeat(64) + '\n');
    const ok = join(root, 'bank.pub');
    const cases: [string[], string][] = [
      [[ok, join(root, 'missing.pub')], 'missing.pub: cannot read the public key (ENOENT)'],
      [[ok, bad], 'bad.pub: not an SM2 public key (expected 130 hex digits starting 04'],
      [[ok, offCurve], 'off-curve.pub: not a point on the SM2 curve'],
      [[ok, join(root, 'road.pub'), ok], 'bank.pub: given twice'],
    ];
    for (const [files, message] of cases) {
      const r = cli('init', join(root, 'g-bad'), '--node-pub', files.join(','));
      expect(r, message).toMatchObject({ code: 1, err: expect.stringContaining(message) });
      expect(existsSync(join(root, 'g-bad'))).toBe(false);
    }
    expect(cli('init', join(root, 'g-bad'), '--node-pub', ok, '--nodes', '2'))
      .toMatchObject({ code: 2, err: expect.stringContaining('--nodes and --node-pub exclude each other') });
    expect(cli('init', join(root, 'g-bad'), '--node-pub', ok, '--quorum', '2'))
      .toMatchObject({ code: 2, err: expect.stringContaining('--quorum must be an integer in [1, 1]') });
  });

  it('join refuses a key the genesis did not register, a readable key, a mismatched pair, bad usage', () => {
    expect(cli('keygen', join(root, 'stranger'))).toMatchObject({ code: 0 });
    const r = cli('join', genesis, join(root, 'n-stranger'), '--key', join(root, 'stranger'));
    expect(r).toMatchObject({ code: 1, err: expect.stringContaining('stranger.pub (key ') });
    expect(r.err).toContain(`is not a node key of the genesis in ${genesis}`);
    expect(existsSync(join(root, 'n-stranger'))).toBe(false);

    chmodSync(join(root, 'stranger.key'), 0o644);
    expect(cli('join', genesis, join(root, 'n-stranger'), '--key', join(root, 'stranger'))).toMatchObject({
      code: 1, err: expect.stringContaining('stranger.key: the node\'s private key is readable by other users (mode 644)'),
    });
    chmodSync(join(root, 'stranger.key'), 0o600);
    writeFileSync(join(root, 'stranger.pub'), readFileSync(join(root, 'bank.pub')));
    expect(cli('join', genesis, join(root, 'n-stranger'), '--key', join(root, 'stranger')))
      .toMatchObject({ code: 1, err: expect.stringContaining('stranger.key and') });
    expect(existsSync(join(root, 'n-stranger'))).toBe(false);

    expect(cli('join', genesis, nodeDir('bank'), '--key', join(root, 'bank')))
      .toMatchObject({ code: 1, err: expect.stringContaining('already holds a chain') });
    expect(cli('join', genesis, join(root, 'x'), '--key', join(root, 'bank'), '--bogus'))
      .toMatchObject({ code: 2, err: expect.stringContaining("'--bogus'") });
    expect(cli('join', genesis, join(root, 'x')))
      .toMatchObject({ code: 2, err: expect.stringContaining('join needs --key <base>') });
    expect(cli('join', genesis)).toMatchObject({ code: 2, err: expect.stringContaining('a <node dir>') });
    for (const h of ['--help', '-h']) {
      expect(cli('join', h)).toMatchObject({ code: 0, out: expect.stringContaining('gmledger join <genesis dir>') });
    }
    expect(cli('init', '--help').out).toContain('--node-pub');
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});

describe.skipIf(skipWithoutNats('test/consortium-init.test.ts', 'the joined nodes\' NATS part'))('the joined nodes on one JetStream server', () => {
  let cluster: NatsCluster;
  const nodes: ConsortiumNode[] = [];

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    await cluster?.stop();
  }, LONG);

  it('finalise an anchor at all three (quorum 3 of the organisations, the regulator\'s node required)', async () => {
    requireNats('the consortium init test');
    cluster = await startNatsCluster({ servers: 1, dir: join(root, 'nats') });
    for (const org of orgs) {
      nodes.push(await openConsortiumLedger({ dir: nodeDir(org), blockMaxMs: 50 }, { servers: cluster.urls }));
    }
    const hex = (f: string) => fromHex(readFileSync(join(genesis, 'keys', f), 'utf8').trim());
    const admin = signerFromKeyPair({ privateKey: hex('admin.key'), publicKey: hex('admin.pub') });
    const chainId = Number(json(cli('info', genesis).out).chainId);
    const r = await nodes[1].ledger.submit(
      [records.anchor({ chainId, id: 7n, digest: new Uint8Array(32).fill(7) }, admin)], { final: true });
    expect(r.map((x) => x.name)).toEqual(['ok']);
    const height = r[0].height!;
    const end = Date.now() + 60_000;
    while (!nodes.every((n) => n.ledger.finalHeight >= height)) {
      if (Date.now() > end) throw new Error(`timed out: final heights ${nodes.map((n) => n.ledger.finalHeight)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    const blocks = await Promise.all(nodes.map((n) => n.ledger.getBlock(height)));
    expect(new Set(blocks.map((b) => Buffer.from(b!.headerBytes).toString('hex'))).size).toBe(1);
    expect(blocks.every((b) => b!.certificate !== undefined)).toBe(true);
    // Offline, each node's chain verifies with its certificates (quorum over the registered node keys).
    while (nodes.length > 0) await nodes.pop()!.close();
    for (const org of orgs) {
      const v = cli('verify', nodeDir(org));
      expect(v.code, v.err).toBe(0);
      expect(json(v.out)).toMatchObject({ ok: true, finalHeight: height });
    }
  }, LONG);
});
