// The toll application on real chains (docs/toll.md): rule versions and the blacklist
// survive checkpoint + restart ('Z' 2), `verify` replays them; a provincial chain anchors its
// headers into a national chain and a trip's cross-chain proof checks against the national
// node's key alone — and fails when any byte of any layer is changed.
import { afterEach, describe, expect, it } from 'vitest';
import { acceptAllVerifier, chainFixture, rec, roles, signer, tempDir } from './helpers/ledger.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { packU32x16, tollAnchorRecord, verifyTollCrossProof, type TollCrossProof } from '../dist/src/apps/toll/sdk.js';
import { buildTollCrossProof } from '../dist/src/apps/toll/proof.js';
import { runNode } from '../dist/src/server/cli-start.js';

const open: Ledger[] = [];
afterEach(async () => { for (const l of open.splice(0)) await l.close().catch(() => {}); });

const P_CHAIN = 31;
const N_CHAIN = 32;
const gateway = signer(2);
const bank = signer(3);

async function province() {
  const fx = await chainFixture({ chainId: P_CHAIN, checkpointBlocks: 1, blockMaxMs: 1 });
  open.push(fx.ledger);
  const r = (f: Record<string, unknown>, by = gateway) => rec({ chainId: P_CHAIN, ...f } as never, by);
  const submit = async (records: Uint8Array[]) => (await fx.ledger.submit(records)).map((x) => x.name);
  expect(await submit([
    r({ kind: 'register_key', id: 10n, publicKey: gateway.publicKey, roles: roles.ROLE_OPERATOR, ledger: 1 }, fx.admin),
    r({ kind: 'register_key', id: 11n, publicKey: bank.publicKey, roles: roles.ROLE_PARTICIPANT }, fx.admin),
  ])).toEqual(['ok', 'ok']);
  expect(await submit([
    r({ kind: 'create_account', id: 100n, ledger: 1, code: 1, controller: bank.keyId }),
    ...[200n, 201n, 202n].map((id) => r({ kind: 'create_account', id, ledger: 1, code: 2, controller: gateway.keyId })),
  ])).toEqual(['ok', 'ok', 'ok', 'ok']);
  const sections = [200n, 201n, 202n].map((op, i) => r({
    kind: 'toll_rule', id: 20n + BigInt(i), ruleVersion: 1, action: 1, ledger: 1, section: i + 1, operatorAccountId: op,
    classValues: packU32x16([100 * (i + 1), 200 * (i + 1)]),
  }));
  expect(await submit(sections)).toEqual(['ok', 'ok', 'ok']);
  const from = BigInt(fx.ledger.height + 2);
  expect(await submit([r({ kind: 'toll_rule', id: 30n, ruleVersion: 1, action: 2, ledger: 1, mode: 1, code: 9, effectiveHeight: from, sectionCount: 3 })]))
    .toEqual(['ok']);
  while (BigInt(fx.ledger.height) < from - 1n) await submit([r({ kind: 'anchor', id: 40n + BigInt(fx.ledger.height), digest: new Uint8Array(32).fill(1) })]);
  const trip = (id: bigint, secs: number[], toll: number, vehicleId = 5n) => r({
    kind: 'trip', id, issuerAccountId: 100n, toll, ruleVersion: 1, vehicleClass: 1, sectionCount: secs.length,
    sections: packU32x16(secs), vehicleId, tripTimeMs: 1_700_000_000_000n,
  });
  return { ...fx, r, submit, trip };
}

describe('toll on a chain: restart and verify', () => {
  it('rules, the blacklist and trips survive a restart; verify replays them', async () => {
    const p = await province();
    expect(await p.submit([p.trip(1000n, [1, 2, 3], 600), p.r({ kind: 'blacklist', id: 50n, action: 1, mode: 1, vehicleId: 66n }, p.regulator)]))
      .toEqual(['ok', 'ok']);
    const before = p.ledger.state.transfers.count;
    await p.ledger.close();
    open.length = 0;
    const l = await Ledger.open({ dir: p.dir, verifier: acceptAllVerifier, blockMaxMs: 1, checkpointBlocks: 1 });
    open.push(l);
    expect(l.state.transfers.count).toBe(before);
    expect(l.state.toll.active.map((v) => v.version)).toEqual([1]);
    expect(l.state.toll.vehicles.size).toBe(1);
    const names = (await l.submit([p.trip(1000n, [1, 2, 3], 600), p.trip(1001n, [2], 200, 66n), p.trip(1002n, [2, 3], 500)])).map((x) => x.name);
    expect(names).toEqual(['exists', 'trip_vehicle_blacklisted', 'ok']);
    await l.close();
    open.length = 0;
    const report = await verifyChain(p.dir, { verifier: acceptAllVerifier });
    expect(report.ok).toBe(true);
  });
});

describe('toll over HTTP', () => {
  it('GET /toll/rules, /toll/trips/<id>, /toll/report, per account and section, /toll/blacklist', async () => {
    const p = await province();
    const before = Date.now() - 60_000;
    expect(await p.submit([p.trip(1000n, [1, 2, 3], 600), p.trip(1001n, [2, 3], 500, 9n),
      p.r({ kind: 'blacklist', id: 50n, action: 1, mode: 2, vehicleId: 66n }, p.regulator)])).toEqual(['ok', 'ok', 'ok']);
    expect(await p.submit([p.trip(1002n, [1], 100, 66n)])).toEqual(['ok']);
    await p.ledger.close();
    open.length = 0;
    const node = await runNode({ dir: p.dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5 } as never, () => undefined);
    try {
      const get = async (path: string) => {
        const r = await fetch(`${node.server.httpUrl}/toll/${path}`);
        return { status: r.status, body: await r.json() };
      };
      const rules = await get('rules');
      expect(rules.body.inForce).toBe(1);
      expect(rules.body.versions[0]).toMatchObject({ version: 1, mode: 'fee', code: 9, active: true });
      expect(rules.body.versions[0].sections.map((x: { operatorAccountId: string }) => x.operatorAccountId)).toEqual(['200', '201', '202']);
      const trip = await get('trips/1000');
      expect(trip.body).toMatchObject({ id: '1000', issuerAccountId: '100', toll: 600, ruleVersion: 1, vehicleClass: 1, flagged: false });
      expect(trip.body.legs.map((l: { amount: string }) => l.amount)).toEqual(['100', '200', '300']);
      expect((await get('trips/1002')).body.flagged).toBe(true);
      expect((await get('trips/999')).status).toBe(404);
      const to = Date.now() + 60_000;
      const report = (await get(`report/${before}/${to}`)).body;
      expect(report).toMatchObject({ trips: 3, flaggedTrips: 1, total: '1200' });
      expect(report.positions).toEqual([{ accountId: '100', net: '-1200' }, { accountId: '200', net: '200' }, { accountId: '201', net: '400' }, { accountId: '202', net: '600' }]);
      expect((await get(`issuers/100/${before}/${to}`)).body).toMatchObject({ accountId: '100', charges: '1200', trips: 3 });
      expect((await get(`operators/202/${before}/${to}`)).body).toMatchObject({ revenue: '600', legs: 2 });
      expect((await get(`sections/2/${before}/${to}`)).body).toMatchObject({ section: 2, revenue: '400', legs: 2 });
      expect((await get('blacklist')).body).toEqual({ vehicles: [{ vehicleId: '66', mode: 'flag', height: expect.any(Number) }], accounts: [] });
      expect((await get('nothing')).status).toBe(404);
    } finally {
      await node.stop();
    }
  });
});

describe('two tiers: a trip proven against the national chain alone', () => {
  async function twoTiers() {
    const p = await province();
    expect(await p.submit([p.trip(1000n, [1, 2, 3], 600), p.trip(1001n, [1], 100)])).toEqual(['ok', 'ok']);
    const tripHeight = (await p.ledger.getTransaction(1000n))!.height;
    // A few provincial blocks later, the provincial node anchors its latest header nationally.
    await p.submit([p.trip(1002n, [2], 200)]);
    await p.submit([p.trip(1003n, [3], 300)]);
    const anchoredHeight = p.ledger.height;
    const header = (await p.ledger.getBlock(anchoredHeight))!.headerBytes;
    const dir = tempDir();
    const nationalNode = signer(6);
    await initChain({ dir, chainId: N_CHAIN, admin: signer(7), regulator: signer(8), node: nationalNode });
    const national = await Ledger.open({ dir, verifier: acceptAllVerifier, blockMaxMs: 1 });
    open.push(national);
    const reg = rec({ chainId: N_CHAIN, kind: 'register_key', id: 10n, publicKey: p.node.publicKey, roles: roles.ROLE_PARTICIPANT } as never, signer(7));
    expect((await national.submit([reg]))[0].name).toBe('ok');
    expect((await national.submit([tollAnchorRecord(header, N_CHAIN, p.node)]))[0].name).toBe('ok');
    const proof = await buildTollCrossProof(p.ledger, national, 1000n, anchoredHeight);
    expect(proof).toBeDefined();
    expect(proof!.links.length).toBe(anchoredHeight - tripHeight);
    return { p, national, nationalNode, proof: proof! };
  }

  it('valid; and any change to any layer fails', async () => {
    const { proof, nationalNode, p } = await twoTiers();
    const key = nationalNode.publicKey;
    expect(verifyTollCrossProof(proof, key)).toBe(true);
    expect(verifyTollCrossProof(proof, key, { provincialChainId: P_CHAIN })).toBe(true);
    expect(verifyTollCrossProof(proof, key, { provincialChainId: P_CHAIN + 1 })).toBe(false);
    expect(verifyTollCrossProof(proof, p.node.publicKey)).toBe(false); // not the national node's key
    const clone = (x: TollCrossProof): TollCrossProof => ({
      trip: { ...x.trip, record: x.trip.record.slice(), header: x.trip.header.slice(), proof: x.trip.proof.map((d) => d.slice()) },
      result: { code: x.result.code, proof: x.result.proof.map((d) => d.slice()) },
      links: x.links.map((h) => h.slice()),
      anchor: { ...x.anchor, record: x.anchor.record.slice(), header: x.anchor.header.slice(), signatures: x.anchor.signatures.slice(), proof: x.anchor.proof.map((d) => d.slice()) },
    });
    const tamper: [string, (c: TollCrossProof) => void][] = [
      ['trip record (toll)', (c) => { c.trip.record[96] ^= 1; }],
      ['trip record (issuer)', (c) => { c.trip.record[64] ^= 1; }],
      ['trip index', (c) => { c.trip.index ^= 1; }],
      ['trip audit path', (c) => { c.trip.proof[0][0] ^= 1; }],
      ['provincial header tx root', (c) => { c.trip.header[48] ^= 1; }],
      ['provincial header time', (c) => { c.trip.header[144] ^= 1; }],
      ['result code', (c) => { c.result.code = 178; }],
      ['result audit path', (c) => { c.result.proof[0][5] ^= 1; }],
      ['a link header', (c) => { c.links[0][112] ^= 1; }],
      ['a link dropped', (c) => { c.links.shift(); }],
      ['the anchored header', (c) => { c.links[c.links.length - 1][150] ^= 1; }],
      ['anchor digest', (c) => { c.anchor.record[64] ^= 1; }],
      ['anchor metadata (height)', (c) => { c.anchor.record[96 + 4] ^= 1; }],
      ['anchor audit path', (c) => { if (c.anchor.proof.length) c.anchor.proof[0][0] ^= 1; else c.anchor.index += 1; }],
      ['national header', (c) => { c.anchor.header[112] ^= 1; }],
      ['national signature', (c) => { c.anchor.signatures[40] ^= 1; }],
    ];
    for (const [name, f] of tamper) {
      const c = clone(proof);
      f(c);
      expect(verifyTollCrossProof(c, key), name).toBe(false);
    }
  });
});
