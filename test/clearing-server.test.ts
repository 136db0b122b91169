// Clearing through a node (docs/clearing.md, api.md#clearing): the SDK over WebSocket, the
// HTTP views, alerts that reach only the regulator, and queue notices on the ledger topic.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client, authSigner, clearing, generateSigner, queuedRecord, records, type Signer,
} from '../dist/src/client/index.js';
import {
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS as DMNEC, ROLE_OPERATOR, RULE_ALERT,
} from '../dist/src/codec/record.js';
import { initChain } from '../dist/src/chain/init.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';

const until = async (f: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('clearing through a node', () => {
  let dir: string;
  let node: RunningNode;
  let admin: Signer, regulator: Signer;
  const op = generateSigner();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-clearing-node-'));
    const init = await initChain({ dir, chainId: 4343 });
    admin = init.admin;
    regulator = init.regulator;
    node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5 }, () => undefined);
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('cycles over the SDK and HTTP; alerts only to the regulator; queue notices', async () => {
    const { server } = node;
    const a = await Client.connect(server.url, { signer: authSigner(admin) });
    const chainId = a.chainId;
    const ok = (rs: { result: string }[]) => expect(rs.map((r) => r.result)).toEqual(rs.map(() => 'ok'));
    ok(await a.submitBatch([
      records.registerKey({ chainId, id: 1001n, publicKey: op.publicKey, roles: ROLE_OPERATOR, ledger: 1 }, admin),
      ...[1n, 2n, 11n, 12n].map((id) => records.createAccount({ chainId, id, ledger: 1, code: 1,
        flags: id === 1n ? 0 : DMNEC, controller: op.keyId }, admin)),
    ]));
    const o = await Client.connect(server.url, { signer: authSigner(op) });
    ok(await o.submitBatch([records.transfer({ chainId, id: 100n, debitAccountId: 1n, creditAccountId: 11n, amount: 50n,
      ledger: 1, code: 1 }, op)]));
    // Subscriptions: the regulator and the admin to alerts; the operator to its ledger.
    const r = await Client.connect(server.url, { signer: authSigner(regulator) });
    const alerts: unknown[] = [];
    await r.subscribe('alerts', (e) => alerts.push(e));
    await expect(a.subscribe('alerts', () => undefined)).rejects.toThrow(/forbidden_topic/);
    const notices: { kind?: string; transferId?: string }[] = [];
    await o.subscribe('ledger/1', (e) => { if ('kind' in e) notices.push(e as { kind: string; transferId: string }); });

    ok(await clearing.setRule(r, { id: 300n, ruleId: 1, ledger: 1, tier: RULE_ALERT, maxAmount: 30n }, regulator));
    ok(await clearing.openCycle(o, { cycleId: 500n, ledger: 1, code: 9, clearingAccountId: 2n, members: [11n, 12n] }, op));
    ok(await clearing.submitObligations(o, 500n, [
      { id: 601n, debitAccountId: 11n, creditAccountId: 12n, amount: 40n, ledger: 1, code: 7 },
      { id: 602n, debitAccountId: 12n, creditAccountId: 11n, amount: 15n, ledger: 1, code: 7 },
    ], op));
    await until(() => alerts.length === 1); // 601 is over the rule's 30: it went through, alerted
    expect(alerts[0]).toMatchObject({ topic: 'alerts', kind: 'rule_alert', ruleId: 1, transferId: '601',
      violation: 'rule_max_amount', amount: '40' });

    const http = server.httpUrl;
    expect(await clearing.getCycle(http, 500n)).toMatchObject({ status: 'open', obligations: 2, report: null });
    ok(await clearing.closeCycle(o, 500n, 700n, op));
    expect(await clearing.getCycle(http, 500n)).toMatchObject({
      status: 'settled', members: [{ accountId: '11', position: '-25' }, { accountId: '12', position: '25' }],
      report: { gross: '55', net: '25', saved: '30', removedCount: 0 },
    });
    expect(await clearing.getRules(http)).toMatchObject([{ ruleId: 1, tier: 'alert', maxAmount: '30' }]);
    expect(await clearing.getCycle(http, 501n)).toBeUndefined();
    expect((await fetch(`${http}/cycles/x`)).status).toBe(400);

    // A queued payment from 12 (25 available) of 40: waits; a credit of 20 settles it.
    ok(await o.submitBatch([queuedRecord(chainId, { id: 800n, debitAccountId: 12n, creditAccountId: 11n, amount: 40n,
      ledger: 1, code: 1 }, op)]));
    expect(await clearing.getQueue(http, 12n)).toMatchObject({ count: 1, transfers: [{ id: '800', amount: '40' }] });
    ok(await o.submitBatch([records.transfer({ chainId, id: 801n, debitAccountId: 1n, creditAccountId: 12n, amount: 20n,
      ledger: 1, code: 1 }, op)]));
    await until(() => notices.some((n) => n.kind === 'queue_settled' && n.transferId === '800'));
    expect(await clearing.getQueue(http, 12n)).toMatchObject({ count: 0 });
    expect(alerts.length).toBe(2); // 800 (40, over 30) alerted when it was queued; 801 (20) did not
    for (const c of [a, o, r]) await c.close();
  }, 60_000);
});
