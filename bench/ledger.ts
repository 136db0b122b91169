// Ledger benchmarks (docs/benchmarks.md, "Ledger core"). Run: npm run build && npm run bench:ledger
//   [--transfers N] [--accounts N] [--sm2 N] [--memory-accounts N] [--no-sync] [--only apply|reopen]
//   [--reopen-accounts N] [--reopen-transfers N] [--reopen-runs N] [--keep (the reopen chains)]
//
// 1. apply: transfers/s through Ledger.submitBatch with signatures already verified
//    (a bench-only verifier that passes every record), durable per block (sync: true).
// 2. sm2: the full path with SM2 verification of every record by the default verifier.
// 3. memory: bytes per account for N accounts in the state machine (slab, index, tree).
// 4. restart: Ledger.open on the chain written by (1).
// 5. reopen at scale: a chain of --reopen-accounts accounts (default 1,000,000), then
//    --reopen-transfers transfers among them; each state reopened in fresh child processes
//    (--reopen-runs each): Ledger.open's wall time with restore.ts's breakdown, and the
//    child's RSS after open minus an empty ledger child's, per account and per transfer.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChain } from '../src/chain/init.js';
import { CHECKPOINT_BLOCKS_DEFAULT, Ledger } from '../src/ledger/ledger.js';
import { toHex } from '../src/crypto/bytes.js';
import { LedgerState } from '../src/ledger/state.js';
import { generateSigner, records, type Signer } from '../src/codec/builders.js';
import {
  HINT_NONE, OFF_HINT, OFF_SIGNATURE, RECORD_BYTES, ROLE_OPERATOR, ROLE_PARTICIPANT, encode, setU128,
  TR_AMOUNT, OFF_ID, TR_DEBIT, TR_CREDIT,
} from '../src/codec/record.js';
import { type RecordVerifier, poolRecordVerifier } from '../src/ledger/verify.js';
import { createVerifyPool } from '../src/pool/index.js';
import { sm2Backend } from '../src/crypto/sm2-backend.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const TRANSFERS = opt('transfers', 1_000_000);
const ACCOUNTS = opt('accounts', 10_000);
const SM2_TRANSFERS = opt('sm2', 20_000);
const MEMORY_ACCOUNTS = opt('memory-accounts', 1_000_000);
const SYNC = !args.includes('--no-sync');
const REOPEN_ACCOUNTS = opt('reopen-accounts', 1_000_000);
const REOPEN_TRANSFERS = opt('reopen-transfers', 1_000_000);
const REOPEN_RUNS = opt('reopen-runs', 3);
/** `--only apply`: just stage 1 (for profiling); `--only reopen`: just stage 5. */
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const BATCH = 8190;
const CHAIN = 77;

/** Bench-only: signatures count as already verified (what stage 1 measures). */
const preVerified: RecordVerifier = {
  name: 'bench-pre-verified',
  async verifyRecords(_b, n, keys) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = keys[i] ? 1 : 0;
    return out;
  },
};

function transferBatch(first: number, count: number, op: Signer, accounts: number): Uint8Array {
  const template = encode({
    kind: 'transfer', chainId: CHAIN, id: 1n, signer: op.keyId, debitAccountId: 1n, creditAccountId: 2n, amount: 1n,
    ledger: 1, code: 1,
  });
  template.fill(0x11, OFF_SIGNATURE, OFF_SIGNATURE + 64);
  template[OFF_HINT] = HINT_NONE;
  const out = new Uint8Array(count * RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    const o = i * RECORD_BYTES;
    out.set(template, o);
    const n = first + i;
    const rec = out.subarray(o, o + RECORD_BYTES);
    setU128(rec, OFF_ID, BigInt(1_000_000_000 + n));
    const d = 1 + (n % accounts);
    const c = 1 + ((n * 7919 + 1) % accounts);
    setU128(rec, TR_DEBIT, BigInt(d));
    setU128(rec, TR_CREDIT, BigInt(c === d ? 1 + (c % accounts) : c));
    setU128(rec, TR_AMOUNT, BigInt(1 + (n % 100)));
  }
  return out;
}

async function setupChain(dir: string, verifier: RecordVerifier, accounts = ACCOUNTS) {
  const admin = generateSigner(), regulator = generateSigner(), node = generateSigner(), op = generateSigner();
  await initChain({ dir, chainId: CHAIN, admin, regulator, node });
  const ledger = await Ledger.open({ dir, verifier, blockMaxRecords: BATCH, blockMaxMs: 5, sync: SYNC });
  const r = await ledger.submit([records.registerKey({
    chainId: CHAIN, id: 10n, publicKey: op.publicKey, roles: ROLE_OPERATOR | ROLE_PARTICIPANT, ledger: 1,
  }, admin)]);
  if (r[0].code !== 0) throw new Error(`setup: ${r[0].name}`);
  // Accounts, created by the operator (bench-signed: the pre-verified stage only).
  for (let first = 0; first < accounts; first += BATCH) {
    const n = Math.min(BATCH, accounts - first);
    const batch = new Uint8Array(n * RECORD_BYTES);
    for (let i = 0; i < n; i++) {
      const rec = encode({
        kind: 'create_account', chainId: CHAIN, id: BigInt(first + i + 1), signer: op.keyId, ledger: 1, code: 1,
        controller: op.keyId,
      });
      rec.fill(0x11, OFF_SIGNATURE, OFF_SIGNATURE + 64);
      rec[OFF_HINT] = HINT_NONE;
      batch.set(rec, i * RECORD_BYTES);
    }
    const res = await ledger.submitBatch(batch);
    if (res.codes.some((c) => c !== 0)) throw new Error('account setup failed');
  }
  return { ledger, op };
}

async function benchApply(): Promise<{
  dir: string; tps: number; blocks: number; cpuUsPerTransfer: number; opPrivateKey: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-bench-'));
  const { ledger, op } = await setupChain(dir, preVerified);
  let blocks = 0;
  ledger.on('block', () => blocks++);
  const batches: Uint8Array[] = [];
  for (let first = 0; first < TRANSFERS; first += BATCH) {
    batches.push(transferBatch(first, Math.min(BATCH, TRANSFERS - first), op, ACCOUNTS));
  }
  const IN_FLIGHT = 8;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  let failures = 0;
  for (const b of batches) {
    pending.push(ledger.submitBatch(b).then((r) => { for (const c of r.codes) if (c !== 0) failures++; }));
    if (pending.length >= IN_FLIGHT) await pending.shift();
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await ledger.close();
  if (failures) console.log(`  (${failures} transfers failed)`);
  // CPU time per transfer (all threads of this process): steadier than wall time on a shared machine.
  return {
    dir, tps: TRANSFERS / seconds, blocks, cpuUsPerTransfer: (cpu.user + cpu.system) / TRANSFERS,
    opPrivateKey: toHex(op.privateKey),
  };
}

async function benchSm2(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-bench-sm2-'));
  try {
    const { ledger, op } = await setupChain(dir, preVerified);
    await ledger.close();
    const pool = createVerifyPool();
    const real = await Ledger.open({
      dir, blockMaxRecords: BATCH, blockMaxMs: 5, sync: SYNC, verifier: poolRecordVerifier(pool),
    });
    const recs: Uint8Array[] = [];
    const signStart = performance.now();
    for (let i = 0; i < SM2_TRANSFERS; i++) {
      recs.push(records.transfer({
        chainId: CHAIN, id: BigInt(5_000_000 + i), debitAccountId: BigInt(1 + (i % ACCOUNTS)),
        creditAccountId: BigInt(1 + ((i + 1) % ACCOUNTS)), amount: 1n, ledger: 1, code: 1,
      }, op));
    }
    const signSeconds = (performance.now() - signStart) / 1000;
    console.log(
      `  signing ${SM2_TRANSFERS} records: ${(SM2_TRANSFERS / signSeconds).toFixed(0)}/s (${sm2Backend.name})`);
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let first = 0; first < recs.length; first += 2048) {
      pending.push(real.submit(recs.slice(first, first + 2048)));
    }
    const results = (await Promise.all(pending)).flat() as { code: number }[];
    const seconds = (performance.now() - started) / 1000;
    if (results.some((r) => r.code !== 0)) console.log('  (some sm2 transfers failed)');
    console.log(`  verifier: ${real.info().verifier}`);
    await real.close();
    await pool.close();
    return SM2_TRANSFERS / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The state machine alone: apply + state-root update per block, no hashing of records, no
 * storage.
 */
function benchStateMachine(): { applyTps: number; withRootTps: number } {
  const state = new LedgerState();
  const op = generateSigner();
  const setup = encode({
    kind: 'register_key', chainId: CHAIN, id: 1n, signer: op.keyId, publicKey: op.publicKey, roles: 1 | ROLE_OPERATOR,
    ledger: 1,
  });
  state.beginBlock(0, 1);
  const codes = new Uint16Array(BATCH);
  state.applyBatch(setup, 0, 1, codes, 0, 0);
  const accounts = new Uint8Array(ACCOUNTS * RECORD_BYTES);
  for (let i = 0; i < ACCOUNTS; i++) {
    accounts.set(encode({
      kind: 'create_account', chainId: CHAIN, id: BigInt(i + 1), signer: op.keyId, ledger: 1, code: 1,
      controller: op.keyId,
    }), i * RECORD_BYTES);
  }
  const big = new Uint16Array(ACCOUNTS);
  state.applyBatch(accounts, 0, ACCOUNTS, big, 0, 0);
  state.endBlock();
  const batches: Uint8Array[] = [];
  for (let first = 0; first < TRANSFERS; first += BATCH) {
    batches.push(transferBatch(first, Math.min(BATCH, TRANSFERS - first), op, ACCOUNTS));
  }
  let applyMs = 0;
  let rootMs = 0;
  let height = 1;
  for (const b of batches) {
    const t0 = performance.now();
    state.beginBlock(height++, height);
    state.applyBatch(b, 0, b.length / RECORD_BYTES, codes, 0, 0);
    const t1 = performance.now();
    state.endBlock();
    applyMs += t1 - t0;
    rootMs += performance.now() - t1;
  }
  return { applyTps: TRANSFERS / (applyMs / 1000), withRootTps: TRANSFERS / ((applyMs + rootMs) / 1000) };
}

function benchMemory(): number {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const state = new LedgerState();
  const rec = new Uint8Array(128);
  for (let i = 0; i < MEMORY_ACCOUNTS; i++) {
    rec.fill(0);
    setU128(rec, 0, BigInt(i + 1));
    rec[96] = 1; rec[100] = 1;
    state.restoreAccount(rec);
  }
  state.finishRestore(0, 0);
  globalThis.gc?.();
  const after = process.memoryUsage();
  const bytes = (after.heapUsed + after.arrayBuffers) - (before.heapUsed + before.arrayBuffers);
  return bytes / MEMORY_ACCOUNTS;
}

// -----------------------------------------------------------------------------------------
// 5. Reopen at scale.

/** `count` create_account records (ids first+1…), operator-signed with a dummy signature. */
function accountBatch(first: number, count: number, op: Signer): Uint8Array {
  const template = encode({
    kind: 'create_account', chainId: CHAIN, id: 1n, signer: op.keyId, ledger: 1, code: 1, controller: op.keyId,
  });
  template.fill(0x11, OFF_SIGNATURE, OFF_SIGNATURE + 64);
  template[OFF_HINT] = HINT_NONE;
  const out = new Uint8Array(count * RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    out.set(template, i * RECORD_BYTES);
    setU128(out.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES), OFF_ID, BigInt(first + i + 1));
  }
  return out;
}

/**
 * Submits `count` records made by `make(first, n)` in full batches, 8 in flight; every
 * record must pass.
 */
async function submitAll(
  ledger: Ledger, count: number, make: (first: number, n: number) => Uint8Array,
): Promise<void> {
  const pending: Promise<void>[] = [];
  let failures = 0;
  for (let first = 0; first < count; first += BATCH) {
    const n = Math.min(BATCH, count - first);
    pending.push(ledger.submitBatch(make(first, n)).then((r) => { for (const c of r.codes) if (c !== 0) failures++; }));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
  if (failures) throw new Error(`${failures} records failed`);
}

interface ReopenSample {
  openMs: number;
  restore?: Record<string, number>;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  accounts: number;
  transfers: number;
}

/** The restore module's stats, if this build has it (so the same bench runs on older code). */
async function restoreStats(): Promise<Record<string, number> | undefined> {
  const url = new URL('../src/ledger/restore.js', import.meta.url).href;
  const mod = await import(url).catch(() => undefined) as { lastRestoreStats?: Record<string, number> } | undefined;
  return mod?.lastRestoreStats;
}

/**
 * Child mode (`--reopen-child <dir>`): Ledger.open once, then one JSON line: time, restore
 * stats, memory.
 */
async function reopenChild(dir: string): Promise<never> {
  await restoreStats(); // module loaded before the clock starts, as the ledger's own imports are
  const t0 = performance.now();
  const ledger = await Ledger.open({ dir, verifier: preVerified });
  const openMs = performance.now() - t0;
  const restore = await restoreStats();
  for (let i = 0; i < 3; i++) { globalThis.gc?.(); await new Promise((r) => setTimeout(r, 20)); }
  const m = process.memoryUsage();
  const { accounts, transfers } = ledger.info();
  console.log(JSON.stringify({
    openMs, restore, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, accounts, transfers,
  } satisfies ReopenSample));
  await ledger.close();
  process.exit(0);
}

async function reopenInChild(dir: string): Promise<ReopenSample> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, '--reopen-child', dir],
    { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as ReopenSample;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** Reopens `dir` `runs` times in child processes and prints the medians, with the breakdown. */
async function measureReopen(label: string, dir: string, runs: number): Promise<ReopenSample[]> {
  const samples: ReopenSample[] = [];
  for (let r = 0; r < runs; r++) samples.push(await reopenInChild(dir));
  const s0 = samples[0];
  const times = samples.map((x) => x.openMs);
  const heap = mib(median(samples.map((x) => x.heapUsed)));
  const arrayBuffers = mib(median(samples.map((x) => x.arrayBuffers)));
  console.log(
    `   ${label}: ${s0.accounts} accounts, ${s0.transfers} transfers — Ledger.open median ` +
    `${(median(times) / 1000).toFixed(2)} s` +
    ` (${times.map((t) => (t / 1000).toFixed(2)).join(', ')}), child RSS ${mib(median(samples.map((x) => x.rss)))}` +
    ` (JS heap ${heap}, array buffers ${arrayBuffers})`);
  if (s0.restore) printRestoreBreakdown(samples, s0.restore);
  return samples;
}

/** Where the reopens spent their time: the medians of restore.ts's phases, then each run's totals. */
function printRestoreBreakdown(samples: ReopenSample[], r0: Record<string, number>): void {
  const phase = (k: string): number => median(samples.map((x) => x.restore![k]));
  const ms = (k: string): string => phase(k).toFixed(0);
  const rest = median(samples.map((x) => x.openMs - x.restore!.totalMs));
  console.log(`     breakdown (median ms): checkpoint marker, keys, ops, halts ${ms('metaMs')};` +
    ` read side by side: accounts ${ms('accountsMs')} (${r0.imageValues} image values, ${r0.logValues} log values,` +
    ` ${r0.logEntries} log entries) ‖ transfers ${ms('transfersMs')};` +
    ` then, while the helper thread hashes its half of the tree: id indexes + expiry queue ${ms('indexMs')};` +
    ` the rest of the state tree + root check ${ms('treeMs')} (of it waiting for the helper ${ms('treeWaitMs')});` +
    ` format 1 rewrite ${ms('migrateMs')};` +
    ` the rest of open (RocksDB open, replay; the seal worker loads meanwhile) ${rest.toFixed(0)}`);
  const run = (x: ReopenSample): string => {
    const r = x.restore!;
    return `${x.openMs.toFixed(0)} = restore ${r.totalMs.toFixed(0)}` +
      ` (reads ${Math.max(r.accountsMs, r.transfersMs).toFixed(0)},` +
      ` indexes ${r.indexMs.toFixed(0)}, tree ${r.treeMs.toFixed(0)} on ${r.treeThreads} threads)` +
      ` + rest ${(x.openMs - r.totalMs).toFixed(0)}`;
  };
  console.log(`     per run (ms): ${samples.map(run).join('; ')}`);
}

async function benchReopen(): Promise<void> {
  const N = REOPEN_ACCOUNTS, M = REOPEN_TRANSFERS, runs = REOPEN_RUNS;
  console.log(
    `5. reopen: ${N} accounts, then ${M} transfers among them; ${runs} child processes each (warm page cache)`);
  const emptyDir = mkdtempSync(join(tmpdir(), 'gmledger-bench-empty-'));
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-bench-reopen-'));
  try {
    await (await setupChain(emptyDir, preVerified, 0)).ledger.close();
    const t0 = performance.now();
    const { ledger, op } = await setupChain(dir, preVerified, 0);
    await submitAll(ledger, N, (first, n) => accountBatch(first, n, op));
    await ledger.close();
    console.log(
      `   built ${N} accounts in ${((performance.now() - t0) / 1000).toFixed(1)} s (signatures pre-verified)`);
    const empty = await measureReopen('empty ledger', emptyDir, runs);
    const accounts = await measureReopen(`${N} accounts`, dir, runs);
    const rssEmpty = median(empty.map((x) => x.rss));
    const rssAccounts = median(accounts.map((x) => x.rss));
    const jsAccounts = median(accounts.map((x) => x.heapUsed + x.arrayBuffers));
    const jsEmpty = median(empty.map((x) => x.heapUsed + x.arrayBuffers));
    console.log(`     RSS growth: ${((rssAccounts - rssEmpty) / N).toFixed(1)} B/account` +
      ` (JS heap + array buffers: ${((jsAccounts - jsEmpty) / N).toFixed(1)} B/account)`);
    if (M > 0) {
      const t1 = performance.now();
      const again = await Ledger.open({
        dir, verifier: preVerified, blockMaxRecords: BATCH, blockMaxMs: 5, sync: SYNC,
      });
      await submitAll(again, M, (first, n) => transferBatch(first, n, op, N));
      await again.close();
      console.log(`   appended ${M} transfers in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      const both = await measureReopen(`${N} accounts + ${M} transfers`, dir, runs);
      const rssBoth = median(both.map((x) => x.rss));
      console.log(`     RSS growth: ${((rssBoth - rssEmpty) / N).toFixed(1)} B/account with the transfers counted in,` +
        ` ${((rssBoth - rssAccounts) / M).toFixed(1)} B/transfer over the accounts-only state`);
    }
  } finally {
    if (args.includes('--keep')) {
      console.log(`   kept: ${dir} (and the empty ledger ${emptyDir})`);
    } else {
      rmSync(dir, { recursive: true, force: true });
      rmSync(emptyDir, { recursive: true, force: true });
    }
  }
}

/**
 * Child mode (`--append <dir> <blocks> <op key hex>`): appends full blocks with no
 * checkpoint and exits without close(), as a crash would leave the store: the next start
 * must replay those blocks.
 */
async function appendAndExit(dir: string, blocks: number, opPriv: string): Promise<never> {
  const { fromHex } = await import('../src/crypto/bytes.js');
  const { signerFromKeyPair } = await import('../src/codec/builders.js');
  const priv = fromHex(opPriv);
  const op = signerFromKeyPair({ privateKey: priv, publicKey: sm2Backend.getPublicKey(priv) });
  const ledger = await Ledger.open({
    dir, verifier: preVerified, blockMaxRecords: BATCH, blockMaxMs: 5, checkpointBlocks: 1024,
  });
  for (let b = 0; b < blocks; b++) {
    await ledger.submitBatch(transferBatch(50_000_000 + b * BATCH, BATCH, op, ACCOUNTS));
  }
  process.exit(0);
}

/** 4. Ledger.open on the chain stage 1 wrote: after a clean shutdown, then after a crash. */
async function benchRestart(dir: string, opPrivateKey: string): Promise<void> {
  console.log('4. restart');
  const t0 = performance.now();
  const reopened = await Ledger.open({ dir, verifier: preVerified });
  const restartSeconds = (performance.now() - t0) / 1000;
  console.log(`   Ledger.open on ${reopened.info().transfers} transfers, ${reopened.info().accounts} accounts` +
    ` (clean shutdown): ${restartSeconds.toFixed(2)} s`);
  await reopened.close();
  // Worst case: a crash just before a checkpoint leaves CHECKPOINT_BLOCKS_DEFAULT − 1 full
  // blocks to replay.
  const { execFileSync } = await import('node:child_process');
  const replayBlocks = CHECKPOINT_BLOCKS_DEFAULT - 1;
  execFileSync(process.execPath, [
    new URL(import.meta.url).pathname, '--append', dir, String(replayBlocks), opPrivateKey,
    '--accounts', String(ACCOUNTS),
  ], { stdio: 'inherit' });
  const t1 = performance.now();
  const crashed = await Ledger.open({ dir, verifier: preVerified });
  const crashSeconds = (performance.now() - t1) / 1000;
  console.log(`   Ledger.open after a crash, replaying ${replayBlocks} blocks (${replayBlocks * BATCH} records)` +
    ` on ${crashed.info().transfers} transfers: ${crashSeconds.toFixed(2)} s`);
  await crashed.close();
}

async function main(): Promise<void> {
  const append = args.indexOf('--append');
  if (append >= 0) await appendAndExit(args[append + 1], Number(args[append + 2]), args[append + 3]);
  const child = args.indexOf('--reopen-child');
  if (child >= 0) await reopenChild(args[child + 1]);
  console.log(`gmledger ledger bench — node ${process.version}, sm2 backend ${sm2Backend.name}, sync ${SYNC}`);
  if (ONLY === 'reopen') {
    await benchReopen();
    return;
  }
  if (ONLY === 'apply') {
    const a = await benchApply();
    console.log(`1. ${a.tps.toFixed(0)} transfers/s durable (${a.blocks} blocks);` +
      ` ${a.cpuUsPerTransfer.toFixed(2)} µs CPU per transfer (all threads)`);
    rmSync(a.dir, { recursive: true, force: true });
    return;
  }
  const sm = benchStateMachine();
  console.log(`0. state machine only, ${TRANSFERS} transfers over ${ACCOUNTS} accounts`);
  console.log(`   apply: ${sm.applyTps.toFixed(0)} transfers/s;` +
    ` apply + incremental state root: ${sm.withRootTps.toFixed(0)} transfers/s`);
  console.log(
    `1. apply ${TRANSFERS} transfers over ${ACCOUNTS} accounts (signatures pre-verified), batches of ${BATCH}`);
  const apply = await benchApply();
  console.log(`   ${apply.tps.toFixed(0)} transfers/s durable (${apply.blocks} blocks);` +
    ` ${apply.cpuUsPerTransfer.toFixed(2)} µs CPU per transfer (all threads)`);
  await benchRestart(apply.dir, apply.opPrivateKey);
  rmSync(apply.dir, { recursive: true, force: true });
  if (SM2_TRANSFERS > 0) {
    console.log(`2. full path with SM2 verification: ${SM2_TRANSFERS} transfers`);
    console.log(`   ${(await benchSm2()).toFixed(0)} transfers/s`);
  }
  console.log(`3. memory for ${MEMORY_ACCOUNTS} accounts`);
  console.log(`   ${benchMemory().toFixed(1)} bytes/account`);
  await benchReopen();
}

await main();
