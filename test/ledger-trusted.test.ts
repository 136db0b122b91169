// Trusted-gateway mode end to end over the real ledger (RocksDB, WASM SM2, real sockets on
// 127.0.0.1): a gateway key (configured with --gateway, operator role on the chain) submits
// unsigned records under ONE vouch signature per frame. Checks acceptance and durability,
// refusal of non-gateway keys and of bad vouches (state unchanged), that vouched records
// are refused outside a vouch, inclusion proofs of vouched records, and that offline
// verification rechecks the stored vouch.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, authSigner, records, generateSigner, vouchBatch, type Signer } from '../dist/src/client/index.js';
import {
  FLAG_LINKED, HINT_VOUCHED, KIND_VOUCH, OFF_HINT, OFF_SIGNATURE, RECORD_BYTES, ROLE_OPERATOR, ROLE_PARTICIPANT, VO_DIGEST, encode,
} from '../dist/src/codec/record.js';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { decodeBlock, verifyInclusionProof } from '../dist/src/codec/block.js';
import { Ledger } from '../dist/src/ledger/ledger.js';
import { sm2Backend } from '../dist/src/crypto/sm2-backend.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';
import { RocksDb, WriteBatch } from '../dist/native/rocksdb.js';
import { blockKey } from '../dist/src/store/store.js';
import { authMessage } from '../dist/src/protocol/wire.js';
import { fromHex, toHex } from '../dist/src/crypto/bytes.js';
import { RawConn } from './server-fixtures.js';

const LEDGER = 1;
const A1 = 501n;
const A2 = 502n;

describe('trusted-gateway mode over the real ledger', () => {
  let dir: string;
  let node: RunningNode | undefined;
  let chainId: number;
  let admin: Signer;
  const gw = generateSigner();        // configured gateway, operator of LEDGER on the chain
  const gwNoRole = generateSigner();  // configured gateway, but only a participant on the chain
  const p = generateSigner();         // participant controlling A1, A2; not a gateway
  let vouchedHeight = -1;
  let vouchedIndex = -1;
  let nextId = 10_000n;

  const transfer = (amount = 1n) => encode({
    kind: 'transfer', chainId, id: nextId++, signer: gw.keyId, debitAccountId: A1, creditAccountId: A2, amount, ledger: LEDGER, code: 1,
  });
  const balance = async (id: bigint): Promise<string> => {
    const r = await fetch(`${node!.server.httpUrl}/accounts/${id}`);
    return ((await r.json()) as { debitsPosted: string }).debitsPosted;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-trusted-'));
    const init = await initChain({ dir, chainId: 4343 });
    admin = init.admin;
    chainId = init.config.chainId;
    node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [gw.keyId, gwNoRole.keyId], limits: {}, blockMs: 5 }, () => undefined);
    const c = await Client.connect(node.server.url, { signer: authSigner(admin) });
    const rs = await c.submitBatch([
      records.registerKey({ chainId, id: 100n, publicKey: gw.publicKey, roles: ROLE_OPERATOR, ledger: LEDGER }, admin),
      records.registerKey({ chainId, id: 101n, publicKey: gwNoRole.publicKey, roles: ROLE_PARTICIPANT }, admin),
      records.registerKey({ chainId, id: 102n, publicKey: p.publicKey, roles: ROLE_PARTICIPANT }, admin),
    ]);
    expect(rs.map((r) => r.result)).toEqual(['ok', 'ok', 'ok']);
    const ra = await c.submitBatch([A1, A2].map((id) => records.createAccount({ chainId, id, ledger: LEDGER, code: 1, controller: p.keyId }, p)));
    expect(ra.map((r) => r.result)).toEqual(['ok', 'ok']);
    await c.close();
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a vouched batch from the gateway: applied, durable, one vouch per frame', async () => {
    const c = await Client.connect(node!.server.url, { signer: authSigner(gw), batchRecords: 33 });
    const before = await balance(A1);
    const txs = Array.from({ length: 100 }, () => transfer(2n));
    const rs = await c.submitTrusted(txs, gw);
    expect(rs).toHaveLength(100);
    expect(rs.every((r) => r.result === 'ok' && r.height > 0)).toBe(true);
    expect(BigInt(await balance(A1)) - BigInt(before)).toBe(200n);
    // Frames of 32 records + 1 vouch: record k of a frame sits right after its vouch.
    vouchedHeight = rs[40].height;
    vouchedIndex = rs[40].index;
    const proof = (await (await fetch(`${node!.server.httpUrl}/proofs/${vouchedHeight}/${vouchedIndex - (40 % 32) - 1}`)).json()) as { record: string };
    expect(Buffer.from(proof.record, 'hex')[1]).toBe(KIND_VOUCH);
    await c.close();
  });

  it('refuses trusted frames from keys that are not gateways, and vouches by keys without the operator role', async () => {
    const pc = await Client.connect(node!.server.url, { signer: authSigner(p) });
    await expect(pc.submitTrusted([transfer()], p)).rejects.toMatchObject({ name: 'trusted_not_allowed' });
    await pc.close();
    const before = await balance(A1);
    const nc = await Client.connect(node!.server.url, { signer: authSigner(gwNoRole) });
    const rs = await nc.submitTrusted([transfer(), transfer()], gwNoRole);
    expect(rs.map((r) => r.result)).toEqual(['bad_vouch', 'bad_vouch']);
    expect(rs.every((r) => r.height === -1)).toBe(true);
    await nc.close();
    expect(await balance(A1)).toBe(before);
  });

  it('rejects a whole vouch group whose record was tampered with or whose signature is bad; nothing changes', async () => {
    const c = await Client.connect(node!.server.url, { signer: authSigner(gw) });
    const before = await balance(A1);
    const three = new Uint8Array(3 * RECORD_BYTES);
    for (let i = 0; i < 3; i++) three.set(transfer(5n), i * RECORD_BYTES);
    // Tampered record: the amount of record 2 changes after the gateway signed.
    const tampered = vouchBatch(three, 3, gw, { chainId, id: 1n });
    tampered[2 * RECORD_BYTES + 96] ^= 0x40;
    const r1 = await c.submitBatch(tampered, { trusted: true });
    expect(r1.map((r) => r.result)).toEqual(['bad_vouch', 'bad_vouch', 'bad_vouch', 'bad_vouch']);
    // Bad signature: digest intact, but r‖s is not the gateway's (signed by another key).
    const forged = vouchBatch(three, 3, gw, { chainId, id: 2n });
    forged.set(sm2Backend.sign(forged.subarray(0, OFF_SIGNATURE), p.privateKey).subarray(0, 64), OFF_SIGNATURE);
    const r2 = await c.submitBatch(forged, { trusted: true });
    expect(r2.map((r) => r.result)).toEqual(['bad_vouch', 'bad_vouch', 'bad_vouch', 'bad_vouch']);
    // A bad group does not take a good one in the same frame down with it.
    const good = vouchBatch(three.subarray(0, RECORD_BYTES), 1, gw, { chainId, id: 3n });
    const both = new Uint8Array(forged.length + good.length);
    both.set(forged);
    both.set(good, forged.length);
    const r3 = await c.submitBatch(both, { trusted: true });
    expect(r3.map((r) => r.result)).toEqual(['bad_vouch', 'bad_vouch', 'bad_vouch', 'bad_vouch', 'ok', 'ok']);
    expect(BigInt(await balance(A1)) - BigInt(before)).toBe(5n);
    await c.close();
  });

  it('refuses vouched records and vouches outside a trusted batch', async () => {
    const c = await Client.connect(node!.server.url, { signer: authSigner(gw) });
    const before = await balance(A1);
    const framed = vouchBatch(transfer(7n), 1, gw, { chainId, id: 4n });
    expect(framed[RECORD_BYTES + OFF_HINT]).toBe(HINT_VOUCHED);
    // The same bytes, plain submit: neither the vouch nor the vouched record is admitted.
    const r1 = await c.submitBatch(framed);
    expect(r1.map((r) => r.result)).toEqual(['vouch_required', 'vouch_required']);
    // A vouched record alone in a trusted frame has no vouch to stand under.
    const r2 = await c.submitBatch(framed.subarray(RECORD_BYTES), { trusted: true });
    expect(r2.map((r) => r.result)).toEqual(['vouch_required']);
    expect(await balance(A1)).toBe(before);
    await c.close();
  });

  it('keeps linked chains inside their vouch group', async () => {
    const c = await Client.connect(node!.server.url, { signer: authSigner(gw) });
    const linked = (amount: bigint) => { const r = transfer(amount); r[2] |= FLAG_LINKED; return r; };
    // A chain that closes inside the group applies as one; a failing member rolls it back.
    const missing = transfer(1n);
    missing.fill(0, 80, 96);
    missing[80] = 99; // credit account 99 does not exist
    const rs = await c.submitTrusted([linked(1n), transfer(1n), linked(1n), missing], gw);
    expect(rs.map((r) => r.result)).toEqual(['ok', 'ok', 'linked_event_failed', 'credit_account_not_found']);
    // A group whose last record is linked leaves its chain open: the whole group is refused.
    const open = await c.submitTrusted([transfer(1n), linked(1n)], gw);
    expect(open.map((r) => r.result)).toEqual(['linked_event_chain_open', 'linked_event_chain_open']);
    await c.close();
  });

  it('takes a JSON trusted submit: the vouch as hex, the records as fields in vouched form', async () => {
    const raw = await RawConn.open(node!.server.url + '?format=json');
    const challenge = JSON.parse(raw.texts[0]);
    const sig = sm2Backend.sign(authMessage(chainId, fromHex(challenge.nonce)), gw.privateKey).subarray(0, 64);
    raw.send(JSON.stringify({ op: 'auth', id: 1, keyId: toHex(gw.keyId), signature: toHex(sig) }));
    await raw.until(() => raw.texts.length >= 2);
    expect(JSON.parse(raw.texts[1])).toMatchObject({ op: 'auth_ok', gateway: true });
    // The gateway computes the digest over the bytes the node will encode from the fields
    // (signer = its key, given timestamp, r‖s zero, hint 0xFE), as docs/protocol.md §8 says.
    const id = nextId++;
    const fields = { kind: 'transfer', id: String(id), timestamp: '5', debitAccountId: String(A1), creditAccountId: String(A2), amount: '3', ledger: LEDGER, code: 1 };
    const same = encode({ kind: 'transfer', chainId, id, timestamp: 5n, signer: gw.keyId, debitAccountId: A1, creditAccountId: A2, amount: 3n, ledger: LEDGER, code: 1 });
    const vouch = vouchBatch(same, 1, gw, { chainId, id: 5n }).subarray(0, RECORD_BYTES);
    raw.send(JSON.stringify({ op: 'submit', id: 2, trusted: true, records: [toHex(vouch), fields] }));
    await raw.until(() => raw.texts.length >= 3);
    expect(JSON.parse(raw.texts[2])).toMatchObject({ op: 'results', id: 2, results: [{ result: 'ok' }, { result: 'ok' }] });
    // The same fields under a vouch for a different amount: refused as a group.
    raw.send(JSON.stringify({ op: 'submit', id: 3, trusted: true, records: [toHex(vouch), { ...fields, id: String(nextId++), amount: '4' }] }));
    await raw.until(() => raw.texts.length >= 4);
    expect(JSON.parse(raw.texts[3])).toMatchObject({ op: 'results', id: 3, results: [{ result: 'bad_vouch' }, { result: 'bad_vouch' }] });
    raw.ws.close();
  });

  it('the chain verifies offline, a vouched record has a valid inclusion proof, and a flipped vouch byte is found', async () => {
    await node!.stop();
    node = undefined;
    expect(await verifyChain(dir)).toMatchObject({ ok: true });
    const ledger = await Ledger.open({ dir });
    const proof = (await ledger.proveTransaction({ height: vouchedHeight, index: vouchedIndex }))!;
    expect(proof.record[OFF_HINT]).toBe(HINT_VOUCHED);
    expect(verifyInclusionProof(proof, ledger.nodePublicKey)).toBe(true);
    await ledger.close();
    // Flip one byte of the stored vouch's digest.
    const vouchAt = vouchedIndex - (40 % 32) - 1;
    const db = await RocksDb.open(join(dir, 'db'));
    const v = (await db.get(blockKey(vouchedHeight)))!.slice();
    // Stored block (docs/storage.md): header ‖ signatures ‖ records ‖ codes; the records start count × 258 bytes from the end.
    const recordsAt = v.length - decodeBlock(v).count * (RECORD_BYTES + 2);
    expect(v[recordsAt + vouchAt * RECORD_BYTES + 1]).toBe(KIND_VOUCH);
    v[recordsAt + vouchAt * RECORD_BYTES + VO_DIGEST + 5] ^= 0x01;
    const wb = new WriteBatch();
    wb.put(blockKey(vouchedHeight), v);
    await db.write(wb, true);
    await db.close();
    const report = await verifyChain(dir);
    expect(report.ok).toBe(false);
    expect(report.badHeight).toBe(vouchedHeight);
    expect(report.error).toMatch(/vouch/);
  });
});
