// Admission resolves signer keys exactly as apply and verify do: a key registered in a batch
// is usable only if its register_key record is itself admitted. Every way a register_key can
// be refused, in the same batch and across batches, with real SM2 signatures; the chain
// verifies offline after each. Also: append refuses a batch ending inside a linked chain, a
// throwing 'block' listener cannot stop the ledger, and workers ignore the parent's flags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { FLAG_LINKED, OFF_FLAGS, OFF_HINT, OFF_SIGNATURE, OFF_SIGNER, OFF_VERSION, ROLE_ADMIN, ROLE_PARTICIPANT } from '../dist/src/codec/record.js';
import { Ledger, type BlockEvent } from '../dist/src/ledger/ledger.js';
import { records, type Signer } from '../dist/src/codec/builders.js';
import { SealWorker } from '../dist/src/ledger/seal.js';
import { workerExecArgv } from '../dist/src/pool/exec-argv.js';
import { StateTree } from '../dist/src/ledger/statetree.js';
import { signer, tempDir } from './helpers/ledger.js';

let dir: string;
let ledger: Ledger;
let chainId: number;
let admin: Signer;
let nextId = 1000n;
const id = (): bigint => nextId++;

beforeAll(async () => {
  dir = tempDir();
  const init = await initChain({ dir, chainId: 11, admin: signer(0), regulator: signer(1), node: signer(5) });
  chainId = init.config.chainId;
  admin = signer(0);
  ledger = await Ledger.open({ dir, blockMaxMs: 5 }); // the real SM2 verifier
});
afterAll(async () => { await ledger.close(); });

/** A fresh key, a register_key for it by `by`, and a create_account signed by it. */
function keyAndUse(by: Signer = admin): { k: Signer; reg: Uint8Array; use: () => Uint8Array } {
  const k = signer(100 + Number(nextId - 1000n));
  const reg = records.registerKey({ chainId, id: id(), publicKey: k.publicKey, roles: ROLE_PARTICIPANT }, by);
  return { k, reg, use: () => records.createAccount({ chainId, id: id(), ledger: 1, code: 1, controller: k.keyId }, k) };
}

/** Flips a byte of a signed record so only the given check fails first. */
function refusedVariants(): [string, (r: Uint8Array) => Uint8Array][] {
  return [
    ['bad_version', (r) => { r[OFF_VERSION] = 2; return r; }],
    ['reserved_flag', (r) => { r[OFF_FLAGS] |= 0x80; return r; }],
    ['reserved_field', (r) => { r[130] = 1; return r; }],
    ['bad_signature_encoding', (r) => { r[OFF_HINT] = 7; return r; }],
    ['bad_signature', (r) => { r[OFF_SIGNATURE + 5] ^= 1; return r; }],
  ];
}

async function expectVerifies(): Promise<void> {
  await ledger.flush();
  const report = await verifyChain(dir);
  expect(report.error).toBeUndefined();
  expect(report.ok).toBe(true);
}

describe('admission: keys registered in a batch', () => {
  it('a refused register_key does not make its key usable later in the batch, or in the next batch', async () => {
    const cases: [string, () => { reg: Uint8Array; use: () => Uint8Array }][] = [
      ['wrong_chain', () => {
        const x = keyAndUse();
        x.reg = records.registerKey({ chainId: chainId + 1, id: id(), publicKey: x.k.publicKey, roles: ROLE_PARTICIPANT }, admin);
        return x;
      }],
      ...refusedVariants().map(([name, spoil]): [string, () => { reg: Uint8Array; use: () => Uint8Array }] => [name, () => {
        const x = keyAndUse();
        x.reg = spoil(x.reg);
        return x;
      }]),
      ['signer_key_not_found', () => keyAndUse(signer(6))], // signed by a key never registered
      ['bad_signature', () => {
        // Garbage signature under the admin's key id.
        const x = keyAndUse();
        x.reg.fill(0x5a, OFF_SIGNATURE, OFF_SIGNATURE + 64);
        x.reg[OFF_HINT] = 0xff;
        x.reg.set(admin.keyId, OFF_SIGNER);
        return x;
      }],
    ];
    for (const [want, make] of cases) {
      const { reg, use } = make();
      const same = await ledger.submit([reg, use()]);
      expect(same.map((r) => r.name), want).toEqual([want, 'signer_key_not_found']);
      const next = await ledger.submit([use()]);
      expect(next[0].name, want).toBe('signer_key_not_found');
    }
    await expectVerifies();
  });

  it('a register_key refused with its linked chain (failed admission, or left open) registers nothing', async () => {
    // The chain fails admission because another of its records does.
    const a = keyAndUse();
    const badPeer = records.anchor({ chainId: chainId + 1, id: id(), digest: new Uint8Array(32).fill(1) }, admin);
    const linkedReg = records.registerKey({ chainId, id: id(), publicKey: a.k.publicKey, roles: ROLE_PARTICIPANT, flags: FLAG_LINKED }, admin);
    const r1 = await ledger.submit([linkedReg, badPeer, a.use()]);
    expect(r1.map((r) => r.name)).toEqual(['linked_event_failed_admission', 'wrong_chain', 'signer_key_not_found']);
    // The batch ends inside the chain: refused; the next batch cannot use the key either.
    const b = keyAndUse();
    const openReg = records.registerKey({ chainId, id: id(), publicKey: b.k.publicKey, roles: ROLE_PARTICIPANT, flags: FLAG_LINKED }, admin);
    const r2 = await ledger.submit([openReg]);
    expect(r2[0].name).toBe('linked_event_chain_open');
    expect((await ledger.submit([b.use()]))[0].name).toBe('signer_key_not_found');
    // Inside an admitted chain the key is usable from its register_key on.
    const c = keyAndUse();
    const chained = records.registerKey({ chainId, id: id(), publicKey: c.k.publicKey, roles: ROLE_PARTICIPANT, flags: FLAG_LINKED }, admin);
    const r3 = await ledger.submit([chained, c.use()]);
    expect(r3.map((r) => r.name)).toEqual(['ok', 'ok']);
    // A record signed by the key before its register_key: unknown there.
    const d = keyAndUse();
    const r4 = await ledger.submit([d.use(), d.reg, d.use()]);
    expect(r4.map((r) => r.name)).toEqual(['signer_key_not_found', 'ok', 'ok']);
    await expectVerifies();
  });

  it('refusal cascades: a key registered by a record signed with a refused key is refused too', async () => {
    const first = keyAndUse();
    first.reg[OFF_SIGNATURE + 3] ^= 1; // bad signature
    const k2 = signer(7);
    const reg2 = records.registerKey({ chainId, id: id(), publicKey: k2.publicKey, roles: ROLE_ADMIN }, first.k);
    const use2 = records.createAccount({ chainId, id: id(), ledger: 1, code: 1, controller: k2.keyId }, k2);
    const r = await ledger.submit([first.reg, reg2, use2]);
    expect(r.map((x) => x.name)).toEqual(['bad_signature', 'signer_key_not_found', 'signer_key_not_found']);
    await expectVerifies();
  });

  it('a refused register_key followed by a sound one for the same key: usable from the sound one on', async () => {
    const x = keyAndUse();
    const spoilt = records.registerKey({ chainId: chainId + 1, id: id(), publicKey: x.k.publicKey, roles: ROLE_PARTICIPANT }, admin);
    const r = await ledger.submit([spoilt, x.use(), x.reg, x.use()]);
    expect(r.map((y) => y.name)).toEqual(['wrong_chain', 'signer_key_not_found', 'ok', 'ok']);
    await expectVerifies();
  });

  it('a register_key admitted but refused by the state machine: its key signs records that reach the chain, and verify agrees', async () => {
    const participant = signer(8);
    expect((await ledger.submit([records.registerKey({ chainId, id: id(), publicKey: participant.publicKey, roles: ROLE_PARTICIPANT }, admin)]))[0].name).toBe('ok');
    const x = keyAndUse(participant); // a participant may not register keys
    const r = await ledger.submit([x.reg, x.use()]);
    expect(r[0].name).toBe('signer_not_authorized');
    expect(r[1].height).toBe(r[0].height); // on the chain, with the state machine's answer
    expect(r[1].code).toBeGreaterThanOrEqual(32);
    await expectVerifies();
  });
});

describe('the sequencer seam and block listeners', () => {
  it('append refuses a batch that ends inside a linked chain, and the ledger goes on', async () => {
    const x = keyAndUse();
    const linked = records.registerKey({ chainId, id: id(), publicKey: x.k.publicKey, roles: ROLE_PARTICIPANT, flags: FLAG_LINKED }, admin);
    await expect(ledger.append(linked, 1)).rejects.toThrow(/ends inside a linked chain/);
    await expect(ledger.append(new Uint8Array(256), 0)).rejects.toThrow(RangeError);
    const r = await ledger.submit([x.reg, x.use()]);
    expect(r.map((y) => y.name)).toEqual(['ok', 'ok']);
    await expectVerifies();
  });

  it("a 'block' listener that throws does not stop the ledger; its error goes to 'error' listeners", async () => {
    const errors: Error[] = [];
    const seen: number[] = [];
    const thrower = (): void => { throw new Error('listener bug'); };
    const counter = (e: BlockEvent): void => { seen.push(e.height); };
    const onError = (e: Error): void => { errors.push(e); };
    ledger.on('block', thrower);
    ledger.on('block', counter);
    ledger.on('error', onError);
    try {
      for (let i = 0; i < 3; i++) {
        const x = keyAndUse();
        const r = await ledger.submit([x.reg, x.use()]);
        expect(r.map((y) => y.name)).toEqual(['ok', 'ok']);
      }
    } finally {
      ledger.off('block', thrower);
      ledger.off('block', counter);
      ledger.off('error', onError);
    }
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors[0].message).toBe('listener bug');
    expect(seen.length).toBeGreaterThanOrEqual(3); // the listener after the thrower still runs
    // An 'error' listener that throws as well: a process warning, and the ledger goes on.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    ledger.on('block', thrower);
    ledger.on('error', () => { throw new Error('error listener bug'); });
    try {
      const x = keyAndUse();
      expect((await ledger.submit([x.reg, x.use()])).map((y) => y.name)).toEqual(['ok', 'ok']);
      await new Promise((r) => setImmediate(r));
    } finally {
      ledger.off('block', thrower);
      ledger.removeAllListeners('error');
      process.off('warning', onWarning);
    }
    expect(warnings.some((m) => m.includes('error listener bug'))).toBe(true);
    await expectVerifies();
  });
});

describe('lookups by id', () => {
  it('a transfer the state machine refused is found by its id, with its code, and proved; an applied one wins', async () => {
    const x = keyAndUse();
    const acct = (n: bigint) => records.createAccount({ chainId, id: n, ledger: 1, code: 1, controller: x.k.keyId }, x.k);
    const transfer = (amount: bigint, debit = 9001n) =>
      records.transfer({ chainId, id: 77_000n, debitAccountId: debit, creditAccountId: 9002n, amount, ledger: 1, code: 1 }, x.k);
    const r = await ledger.submit([x.reg, acct(9001n), acct(9002n), transfer(5n, 9999n)]);
    expect(r.map((y) => y.name)).toEqual(['ok', 'ok', 'ok', 'debit_account_not_found']);
    const t = await ledger.getTransaction(77_000n);
    expect(t).toMatchObject({ height: r[3].height, index: r[3].index, name: 'debit_account_not_found' });
    expect(t!.decoded).toMatchObject({ kind: 'transfer', id: 77_000n, body: { debitAccountId: 9999n } });
    expect((await ledger.proveTransaction(77_000n))?.index).toBe(r[3].index);
    expect(await ledger.getTransaction(77_001n)).toBeUndefined();
    // The same id applied later: the lookup answers with the applied transfer.
    const ok = await ledger.submit([transfer(5n)]);
    expect(ok[0].name).toBe('ok');
    expect(await ledger.getTransaction(77_000n)).toMatchObject({ height: ok[0].height, index: ok[0].index, name: 'ok' });
    await expectVerifies();
  });
});

describe('worker threads', () => {
  it("keep none of the main thread's flags but the harmless ones", () => {
    expect(workerExecArgv(['--input-type=module', '--eval', 'x', '--enable-source-maps', '--stack-trace-limit=50', '--import', 'tsx']))
      .toEqual(['--enable-source-maps', '--stack-trace-limit=50']);
  });

  it('a seal worker that cannot start fails start(), not a later seal', async () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'gmledger-worker-')), 'broken.mjs');
    writeFileSync(broken, "throw new Error('cannot load');\n");
    const w = new SealWorker(new StateTree(128), 128, new URL(`file://${broken}`));
    await expect(w.start()).rejects.toThrow(/seal worker could not start/);
    await w.close();
  });

  it('a ledger opened under node --input-type=module -e seals large blocks on its worker', () => {
    const d = tempDir();
    const url = (p: string): string => JSON.stringify(new URL(`../dist/src/${p}`, import.meta.url).href);
    const script = `
      const { initChain } = await import(${url('chain/init.js')});
      const { Ledger } = await import(${url('ledger/ledger.js')});
      const { records, generateSigner } = await import(${url('codec/builders.js')});
      const { verifyChain } = await import(${url('chain/verify.js')});
      const { config, admin } = await initChain({ dir: ${JSON.stringify(d)} });
      const ledger = await Ledger.open({ dir: ${JSON.stringify(d)} });
      const k = generateSigner();
      const chainId = config.chainId;
      await ledger.submit([records.registerKey({ chainId, id: 100n, publicKey: k.publicKey, roles: 8 }, admin)]);
      const batch = [];
      for (let i = 0; i < 1000; i++) batch.push(records.createAccount({ chainId, id: BigInt(i + 1), ledger: 1, code: 1, controller: k.keyId }, k));
      const r = await ledger.submit(batch);
      await ledger.close();
      const v = await verifyChain(${JSON.stringify(d)});
      console.log(r.filter((x) => x.code === 0).length, v.ok);
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(out.stderr).not.toMatch(/could not be sealed|input-type/);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe('1000 true');
  });
});
