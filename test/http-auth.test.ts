// Signed HTTP requests (docs/protocol.md §9, "HTTP authentication"): /alerts is the
// regulator's on every node; a node started with httpAuth needs a signature on every route
// but /status and /metrics, and shows an account to its controller and oversight only.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client, authSigner, generateSigner, httpAuthorization, httpGet, records, type Signer,
} from '../dist/src/client/index.js';
import { ROLE_PARTICIPANT, RULE_ALERT } from '../dist/src/codec/record.js';
import { initChain } from '../dist/src/chain/init.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';
import { clearing } from '../dist/src/apps/clearing/sdk.js';

describe('signed HTTP requests', () => {
  let dir: string;
  let node: RunningNode;
  let admin: Signer, regulator: Signer;
  const alice = generateSigner(), bob = generateSigner();
  let http: string;
  let chainId: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-http-auth-'));
    const init = await initChain({ dir, chainId: 4646 });
    ({ admin, regulator } = init);
    chainId = init.config.chainId;
    node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5, httpAuth: true },
      () => undefined);
    http = node.server.httpUrl;
    const c = await Client.connect(node.server.url, { signer: authSigner(admin) });
    const rs = await c.submitBatch([
      records.registerKey({ chainId, id: 1001n, publicKey: alice.publicKey, roles: ROLE_PARTICIPANT }, admin),
      records.registerKey({ chainId, id: 1002n, publicKey: bob.publicKey, roles: ROLE_PARTICIPANT }, admin),
      records.createAccount({ chainId, id: 1n, ledger: 1, code: 1, controller: alice.keyId }, admin),
      records.createAccount({ chainId, id: 2n, ledger: 1, code: 1, controller: bob.keyId }, admin),
      records.rule({ chainId, id: 1003n, ruleId: 1, ledger: 1, tier: RULE_ALERT, maxAmount: 5n }, regulator),
      records.transfer({ chainId, id: 10n, debitAccountId: 1n, creditAccountId: 2n, amount: 9n, ledger: 1, code: 1 }, alice),
    ]);
    expect(rs.map((r) => r.result)).toEqual(Array(6).fill('ok'));
    await c.close();
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const as = (s: Signer) => ({ signer: authSigner(s), chainId });
  const status = async (path: string, headers: Record<string, string> = {}) => (await fetch(http + path, { headers })).status;

  it('the regulator reads the alerts; others are refused with a reason', async () => {
    expect(await clearing.getAlerts(http, authSigner(regulator), 0, 10, chainId))
      .toMatchObject([{ seq: 0, ruleId: 1, transferId: '10', violation: 'rule_max_amount' }]);
    await expect(httpGet(http, '/alerts', as(admin))).rejects.toThrow(/HTTP 403 forbidden/);
    expect(await status('/alerts')).toBe(401);
    // A signature over another path, an old time, or by an unregistered key: 401.
    const other = await httpAuthorization(authSigner(regulator), chainId, '/rules');
    expect(await status('/alerts', { authorization: other })).toBe(401);
    const old = await httpAuthorization(authSigner(regulator), chainId, '/alerts', 'GET', Date.now() - 120_000);
    expect(await status('/alerts', { authorization: old })).toBe(401);
    const stranger = await httpAuthorization(authSigner(generateSigner()), chainId, '/alerts');
    expect(await status('/alerts', { authorization: stranger })).toBe(401);
    expect(await status('/alerts', { authorization: 'Bearer x' })).toBe(401);
  });

  it('with httpAuth: public status and metrics; accounts for their controller and oversight', async () => {
    expect(await status('/status')).toBe(200);
    expect(await status('/metrics')).toBe(200);
    expect(await status('/accounts/1')).toBe(401);
    expect(await httpGet(http, '/accounts/1', as(alice))).toMatchObject({ debitsPosted: '9' });
    await expect(httpGet(http, '/accounts/1', as(bob))).rejects.toThrow(/HTTP 403/);
    await expect(httpGet(http, '/accounts/1/transfers', as(bob))).rejects.toThrow(/HTTP 403/);
    expect(await httpGet(http, '/accounts/1', as(regulator))).toMatchObject({ id: '1' });
    expect(await status('/transactions/10')).toBe(401);
    expect(await httpGet(http, '/transactions/10', as(bob))).toMatchObject({ name: 'ok' });
    expect(await httpGet(http, '/rules', as(alice))).toHaveLength(1);
  });
});
