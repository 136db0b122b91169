// A consortium of three nodes (copies of one genesis, each its own node key) on one NATS
// JetStream server, in this process: every node re-admits every batch, co-signs every block,
// and a block is final at a node once a quorum (here 2 of 3) signed the header it computed.
// Checks: submits through any node become final everywhere with identical headers and a
// certificate that a light client verifies with only the node public keys; a batch that
// fails re-admission is left out by every node and the appender is named; a node made to
// compute a different header halts, is named by the others, and they keep finalising.
// nats-server as in test/jetstream.test.ts: in CI it must be there.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { RocksDb } from '../dist/native/rocksdb.js';
import { META_POSITION } from '../dist/src/store/store.js';
import { initConsortium, joinNodeDir } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { records, type Signer } from '../dist/src/codec/builders.js';
import { verifyCertificate, verifyFinalProof } from '../dist/src/codec/certificate.js';
import { OFF_SIGNATURE, ROLE_NODE } from '../dist/src/codec/record.js';
import { toHex } from '../dist/src/crypto/bytes.js';
import { sm3 } from '../dist/src/crypto/hash.js';
import { sm2Backend } from '../dist/src/crypto/sm2-backend.js';
import {
  APPENDER_HEADER, APPENDER_SIG_HEADER, type Alarm, ConsortiumNode, openConsortiumLedger,
} from '../dist/src/consortium/consortium.js';
import { startNatsCluster, type NatsCluster } from '../dist/src/consortium/nats-cluster.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { skipWithoutNats, requireNats, until } from './helpers/nats.js';

const LONG = 120_000;


const SKIP = skipWithoutNats('test/consortium.test.ts');

describe.skipIf(SKIP)('consortium: three nodes on one JetStream server', () => {
  let root: string;
  let cluster: NatsCluster;
  let admin: Signer;
  let chainId: number;
  let dirs: string[];
  let nodeKeys: Signer[];
  const nodes: ConsortiumNode[] = [];
  const alarms: Alarm[][] = [[], [], []];
  let nextId = 1000n;
  const anchor = () =>
    records.anchor({ chainId, id: nextId++, digest: new Uint8Array(32).fill(Number(nextId & 0xffn)) }, admin);

  beforeAll(async () => {
    requireNats('the consortium test');
    root = mkdtempSync(join(tmpdir(), 'gmledger-consortium-'));
    const made = await initConsortium({ dir: join(root, 'chain'), nodes: 3, quorum: 2 });
    ({ admin, dirs, nodes: nodeKeys } = made);
    chainId = made.config.chainId;
    // A genesis copy (a stopped node's directory) for a node that joins later.
    cpSync(dirs[1], join(root, 'genesis-copy'), { recursive: true });
    cluster = await startNatsCluster({ servers: 1, dir: join(root, 'nats') });
    for (let i = 0; i < 3; i++) {
      const node = await openConsortiumLedger({ dir: dirs[i], blockMaxMs: 50 }, { servers: cluster.urls });
      node.on('alarm', (a: Alarm) => alarms[i].push(a));
      nodes.push(node);
    }
  }, LONG);

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, LONG);

  it('a submit through any node becomes final at every node, with identical headers and a checkable certificate', async () => {
    for (const [k, n] of nodes.entries()) {
      const r = await n.ledger.submit([anchor(), anchor()], { final: true });
      expect(r.map((x) => x.name), `through node ${k + 1}`).toEqual(['ok', 'ok']);
      expect(n.ledger.finalHeight).toBeGreaterThanOrEqual(r[0].height!);
    }
    const target = nodes[2].ledger.finalHeight;
    await until('every node final at the last submit', () => nodes.every((n) => n.ledger.finalHeight >= target));
    const members = nodeKeys.map((s) => s.publicKey);
    for (let h = 1; h <= target; h++) {
      const blocks = await Promise.all(nodes.map((n) => n.ledger.getBlock(h)));
      const heads = blocks.map((b) => toHex(b!.headerBytes));
      expect(new Set(heads).size, `block ${h}: one header at every node`).toBe(1);
    }
    // The last final block carries a certificate at each node, valid against the members only.
    for (const n of nodes) {
      const h = n.ledger.finalHeight;
      const b = await n.ledger.getBlock(h);
      expect(b!.certificate, `node certificate at ${h}`).toBeDefined();
      const check = verifyCertificate(b!.headerBytes, b!.certificate!, { members, quorum: 2 });
      expect(check).toMatchObject({ ok: true });
      expect(check.signers.length).toBeGreaterThanOrEqual(2);
      // Not a certificate under a stricter policy it does not meet, or other keys.
      expect(verifyCertificate(b!.headerBytes, b!.certificate!, { members: [members[0]], quorum: 1 }).ok).toBe(false);
    }
    // Light client: a transaction's proof with the certificate, checked against the node keys alone.
    const r = await nodes[0].ledger.submit([anchor()], { final: true });
    const proof = await nodes[1].ledger.proveTransaction({ height: r[0].height!, index: r[0].index! });
    await until('node 2 certifies the block', () => nodes[1].ledger.finalHeight >= r[0].height!);
    const withCert = await nodes[1].ledger.proveTransaction({ height: r[0].height!, index: r[0].index! });
    expect(proof).toBeDefined();
    expect(verifyFinalProof(withCert!, { members, quorum: 2 })).toMatchObject({ ok: true });
    const forged = { ...withCert!, record: withCert!.record.slice() };
    forged.record[40] ^= 1;
    expect(verifyFinalProof(forged, { members, quorum: 2 }).ok).toBe(false);
    expect(alarms.flat()).toEqual([]);
  }, LONG);

  it('a batch that fails re-admission is left out by every node, and its appender is named and recorded', async () => {
    await nodes[0].ledger.flush();
    const before = nodes[0].ledger.durableHeight;
    const nc = await connect({ servers: cluster.urls });
    try {
      const js = jetstream(nc);
      const bad = anchor();
      bad[OFF_SIGNATURE + 5] ^= 0xff; // the admin's signature no longer holds
      // Node 3's key (held by this test) appends it, signing the batch as a node would.
      const h = headers();
      h.set(APPENDER_HEADER, toHex(nodeKeys[2].keyId));
      h.set(APPENDER_SIG_HEADER, toHex(sm2Backend.sign(sm3(bad), nodeKeys[2].privateKey).subarray(0, 64)));
      await js.publish(`gmledger.${chainId}.batches`, bad, { headers: h, msgID: toHex(sm3(bad)) });
      // An anonymous batch (no appender identity) is refused the same way.
      const anon = anchor();
      await js.publish(`gmledger.${chainId}.batches`, anon, { msgID: toHex(sm3(anon)) });
    } finally {
      await nc.close();
    }
    await until('every node alarms twice', () => alarms.every((a) => a.filter((x) => x.kind === 'bad_batch').length >= 2));
    // With nothing else submitted, a tick cuts the block the refused batches opened: empty, and durable.
    await nodes[0].ledger.flush();
    const top = nodes[0].ledger.durableHeight;
    await until('every node to write it', () => nodes.every((n) => n.ledger.durableHeight >= top));
    const counts = [];
    for (let h = before + 1; h <= top; h++) counts.push((await nodes[1].ledger.getBlock(h))!.header.count);
    expect(counts).toContain(0);
    expect(nodes.every((n) => n.ledger.failed === undefined)).toBe(true);
    for (const a of alarms) {
      const named = a.find((x) => x.kind === 'bad_batch' && x.node === toHex(nodeKeys[2].keyId));
      expect(named?.detail).toMatch(/bad_signature/);
      expect(a.some((x) => x.kind === 'bad_batch' && /no appender identity/.test(x.detail))).toBe(true);
    }
    // The chain goes on, and the refused records are nowhere.
    const r = await nodes[1].ledger.submit([anchor()], { final: true });
    expect(r[0].name).toBe('ok');
    const evidence = await nodes[0].ledger.evidence();
    expect(evidence.some((e) => e.kind === 'bad_batch' && e.node === toHex(nodeKeys[2].keyId))).toBe(true);
  }, LONG);

  it('a node made to compute a different header halts and is named; the others keep finalising', async () => {
    // Node 3 reopened with a fault injected: it commits every block with its time 1 ms later.
    await nodes[2].close();
    const faulty = new ConsortiumNode(await connect({ servers: cluster.urls }), {});
    const ledger = await Ledger.open({
      dir: dirs[2], blockMaxMs: 50, finality: 'certified',
      sequencer: (tip, sink, o) => faulty.sequencer(tip, {
        begin: (h, t) => sink.begin(h, t), apply: (rs, n) => sink.apply(rs, n),
        commit: (e, c) => sink.commit({ ...e, timeMs: e.timeMs + 1 }, c),
      }, o),
    });
    await faulty.attach(ledger);
    const faultyAlarms: Alarm[] = [];
    faulty.on('alarm', (a: Alarm) => faultyAlarms.push(a));
    nodes[2] = faulty;
    const r = await nodes[0].ledger.submit([anchor()], { final: true });
    expect(r[0].name).toBe('ok');
    await until('the faulty node to halt', () => ledger.failed !== undefined);
    expect(ledger.failed!.message).toMatch(/diverged/);
    expect(faultyAlarms.some((a) => a.kind === 'diverged' && a.node === toHex(nodeKeys[2].keyId))).toBe(true);
    expect(ledger.finalHeight).toBeLessThan(r[0].height!);
    await until('the others to name it', () => alarms.slice(0, 2).every((a) =>
      a.some((x) => x.kind === 'divergent_signer' && x.node === toHex(nodeKeys[2].keyId))));
    const more = await nodes[1].ledger.submit([anchor()], { final: true });
    expect(more[0].name).toBe('ok');
    expect(nodes[0].ledger.finalHeight).toBeGreaterThanOrEqual(r[0].height!);
  }, LONG);

  it('a node added by a register_key record catches up from the stream and co-signs', async () => {
    const dir = join(root, 'chain', 'node-4');
    const fourth = await joinNodeDir({ from: join(root, 'genesis-copy'), dir });
    const reg = await nodes[0].ledger.submit([records.registerKey({
      chainId, id: 90n, publicKey: fourth.publicKey, roles: ROLE_NODE,
    }, admin)], { final: true });
    expect(reg[0].name).toBe('ok');
    const node = await openConsortiumLedger({ dir, blockMaxMs: 50 }, { servers: cluster.urls });
    nodes.push(node);
    // Replayed from the stream: the same headers as the others up to their height.
    const h = nodes[0].ledger.finalHeight;
    await until('node 4 to catch up', () => node.ledger.durableHeight >= h);
    const [a, b] = await Promise.all([nodes[0].ledger.getBlock(h), node.ledger.getBlock(h)]);
    expect(toHex(b!.headerBytes)).toBe(toHex(a!.headerBytes));
    const r = await node.ledger.submit([anchor()], { final: true });
    expect(r[0].name).toBe('ok');
    expect(node.status().members).toContain(toHex(fourth.keyId));
    await until('node 4 counted in a certificate', () => (node.lastSigned.get(toHex(fourth.keyId)) ?? -1) >= r[0].height!);
    expect(alarms[0].filter((x) => x.node === toHex(fourth.keyId))).toEqual([]);
  }, LONG);

  it('a restarted node resumes at its stored stream position, so the stream may be trimmed before it', async () => {
    await nodes[1].close();
    const db = await RocksDb.open(join(dirs[1], 'db'), { createIfMissing: false, readOnly: true });
    const raw = await db.get(META_POSITION);
    await db.close();
    expect(raw).toBeDefined();
    const position = Number(Buffer.from(raw!).readBigUInt64LE(8));
    // Every message before node 2's position goes: a replay from the stream's start is now impossible.
    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.purge(`gmledger-${chainId}`, { seq: position });
      expect((await jsm.streams.info(`gmledger-${chainId}`)).state.first_seq).toBe(position);
    } finally {
      await nc.close();
    }
    nodes[1] = await openConsortiumLedger({ dir: dirs[1], blockMaxMs: 50 }, { servers: cluster.urls });
    const r = await nodes[1].ledger.submit([anchor()], { final: true });
    expect(r[0].name).toBe('ok');
    await until('node 1 at that block', () => nodes[0].ledger.durableHeight >= r[0].height!);
    const [a, b] = await Promise.all([nodes[0].ledger.getBlock(r[0].height!), nodes[1].ledger.getBlock(r[0].height!)]);
    expect(toHex(b!.headerBytes)).toBe(toHex(a!.headerBytes));
  }, LONG);

  it('the honest nodes\' chains pass verify', async () => {
    await nodes[3].close();
    for (const n of nodes.splice(0, 2)) await n.close();
    for (const dir of dirs.slice(0, 2)) {
      const report = await verifyChain(dir);
      expect(report).toMatchObject({ ok: true });
      // Every stored certificate was checked against the chain's node keys and its quorum.
      expect(report.certified).toBeGreaterThan(0);
      expect(report.finalHeight).toBeGreaterThan(1);
    }
  }, LONG);
});

describe.skipIf(SKIP)('consortium: the regulator\'s signature required', () => {
  it('no block is final without the regulator\'s node; once it runs, they are', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gmledger-consortium-reg-'));
    const cluster = await startNatsCluster({ servers: 1, dir: join(root, 'nats') });
    const open: ConsortiumNode[] = [];
    try {
      const made = await initConsortium({ dir: join(root, 'chain'), nodes: 3, quorum: 2, requireRegulator: true });
      expect(made.config.consortium?.required).toEqual([toHex(made.nodes[0].keyId)]);
      // Nodes 2 and 3 make a quorum of 2, but node 1 (the regulator's) is down.
      for (const dir of made.dirs.slice(1)) {
        open.push(await openConsortiumLedger({ dir, blockMaxMs: 50 }, { servers: cluster.urls }));
      }
      const r = await open[0].ledger.submit([records.anchor({
        chainId: made.config.chainId, id: 1n, digest: new Uint8Array(32).fill(1),
      }, made.admin)]);
      const h = r[0].height!;
      await until('both running nodes to have signed', () => open[0].signersPending(h).length >= 2);
      expect(open[0].ledger.finalHeight).toBeLessThan(h);
      const regulator = await openConsortiumLedger({ dir: made.dirs[0], blockMaxMs: 50 }, { servers: cluster.urls });
      open.push(regulator);
      await until('final everywhere once the regulator signs', () => open.every((n) => n.ledger.finalHeight >= h));
      const b = await open[0].ledger.getBlock(h);
      const members = made.nodes.map((n) => n.publicKey);
      expect(verifyCertificate(b!.headerBytes, b!.certificate!, {
        members, quorum: 2, required: [made.nodes[0].publicKey],
      })).toMatchObject({ ok: true });
    } finally {
      for (const n of open) await n.close().catch(() => undefined);
      await cluster.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, LONG);
});

describe.skipIf(SKIP)('consortium: a node cut off from NATS', () => {
  it('stops finalising while the others go on, then catches up when NATS is back', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gmledger-consortium-cut-'));
    const cluster = await startNatsCluster({ servers: 3, dir: join(root, 'nats') });
    const open: ConsortiumNode[] = [];
    try {
      const made = await initConsortium({ dir: join(root, 'chain'), nodes: 3, quorum: 2 });
      for (const dir of made.dirs.slice(0, 2)) {
        open.push(await openConsortiumLedger({ dir, blockMaxMs: 50 }, { servers: cluster.urls, replicas: 3 }));
      }
      // Node 3 reaches NATS through server 3 alone (and ignores the cluster's other addresses).
      const nc = await connect({
        servers: cluster.urls[2], ignoreClusterUpdates: true, maxReconnectAttempts: -1, reconnectTimeWait: 250,
      });
      const cut = await openConsortiumLedger({ dir: made.dirs[2], blockMaxMs: 50 }, { nc, replicas: 3 });
      open.push(cut);
      let id = 1n;
      const submit = () => open[0].ledger.submit([records.anchor({
        chainId: made.config.chainId, id: id++, digest: new Uint8Array(32).fill(Number(id & 0xffn)),
      }, made.admin)], { final: true });
      const first = await submit();
      await until('node 3 final', () => cut.ledger.finalHeight >= first[0].height!);
      await cluster.kill(2);
      const during = [];
      for (let k = 0; k < 5; k++) during.push(await submit());
      const h = during[4][0].height!;
      await until('node 2 final too', () => open[1].ledger.finalHeight >= h);
      expect(cut.ledger.finalHeight).toBeLessThan(h);
      await cluster.restart(2);
      await until('node 3 to catch up and finalise', () => cut.ledger.finalHeight >= h, 90_000);
      const [a, b] = await Promise.all([open[0].ledger.getBlock(h), cut.ledger.getBlock(h)]);
      expect(toHex(b!.headerBytes)).toBe(toHex(a!.headerBytes));
      await cut.close();
      open.pop();
      await nc.close();
    } finally {
      for (const n of open) await n.close().catch(() => undefined);
      await cluster.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, LONG);
});
