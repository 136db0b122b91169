// Toll benchmark (docs/benchmarks.md, "Toll (ETC) settlement"). Run:
//   npm run build && node dist/bench/toll.js [--trips N] [--signed N] [--no-sync]
//
// One chain, one node, durable per block (sync), the real SM2 verifier (worker pool). A trip
// crosses 3–6 sections of a 200-section fee table (50 operators, 100 issuers, 16 classes).
// Side by side in one run:
// 1. trips, trusted-gateway mode: vouch groups of 8,189 trips, one gateway signature each;
// 2. the same trips as plain linked transfers (one transfer per section, a linked chain per
//    trip, the parts computed by the client), trusted-gateway mode too;
// 3. trips, signed one by one (SM2-verified by the node; signing is not timed);
// 4. the state machine alone (LedgerState.applyBatch, no storage, no verification): trips
//    and the same trips as linked transfers — where the durable figures' ceiling lies.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChain } from '../src/chain/init.js';
import { Ledger } from '../src/ledger/ledger.js';
import { LedgerState } from '../src/ledger/state.js';
import { generateSigner, records, type Signer } from '../src/codec/builders.js';
import { FLAG_LINKED, RECORD_BYTES, ROLE_OPERATOR, ROLE_PARTICIPANT, encode } from '../src/codec/record.js';
import { vouchBatch } from '../src/codec/vouch.js';
import { poolRecordVerifier } from '../src/ledger/verify.js';
import { createVerifyPool } from '../src/pool/index.js';
import { packU32x16, tollRecords } from '../src/apps/toll/sdk.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const TRIPS = opt('trips', 300_000);
const SIGNED = opt('signed', 30_000);
const SYNC = !args.includes('--no-sync');
const CHAIN = 86;
const LEDGER = 1;
const SECTIONS = 200, OPERATORS = 50, ISSUERS = 100;
const GROUP = 8189; // records per vouch group: + the vouch = one full block
const IN_FLIGHT = 6;

interface Trip { id: bigint; issuer: bigint; cls: number; sections: number[]; parts: number[]; toll: number }

const fee = (s: number, cls: number): number => 100 + ((s * 37 + cls * 11) % 900);
const operatorOf = (s: number): bigint => 1000n + BigInt(s % OPERATORS);

function workload(n: number, base: bigint): Trip[] {
  let seed = 12345;
  const rand = (m: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % m; };
  const out: Trip[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rand(4);
    const first = 1 + rand(SECTIONS - len + 1);
    const sections = Array.from({ length: len }, (_, k) => first + k);
    const cls = 1 + rand(16);
    const parts = sections.map((s) => fee(s, cls));
    out.push({ id: base + BigInt(i), issuer: 100n + BigInt(rand(ISSUERS)), cls, sections, parts,
      toll: parts.reduce((a, b) => a + b, 0) });
  }
  return out;
}

async function setup(dir: string): Promise<{ ledger: Ledger; gateway: Signer; close: () => Promise<void> }> {
  const admin = generateSigner(), regulator = generateSigner(), node = generateSigner(), gateway = generateSigner();
  await initChain({ dir, chainId: CHAIN, admin, regulator, node });
  const pool = createVerifyPool();
  const ledger = await Ledger.open({
    dir, blockMaxRecords: GROUP + 1, blockMaxMs: 5, sync: SYNC, verifier: poolRecordVerifier(pool),
  });
  const submit = async (recs: Uint8Array[]): Promise<void> => {
    for (let i = 0; i < recs.length; i += 2000) {
      const r = await ledger.submit(recs.slice(i, i + 2000));
      if (r.some((x) => x.code !== 0)) throw new Error(`setup: ${r.find((x) => x.code !== 0)!.name}`);
    }
  };
  await submit([records.registerKey({
    chainId: CHAIN, id: 10n, publicKey: gateway.publicKey, roles: ROLE_OPERATOR | ROLE_PARTICIPANT, ledger: LEDGER,
  }, admin)]);
  const accounts: Uint8Array[] = [];
  const account = (id: bigint, code: number): Uint8Array =>
    records.createAccount({ chainId: CHAIN, id, ledger: LEDGER, code, controller: gateway.keyId }, gateway);
  for (let i = 0; i < ISSUERS; i++) accounts.push(account(100n + BigInt(i), 1));
  for (let i = 0; i < OPERATORS; i++) accounts.push(account(1000n + BigInt(i), 2));
  await submit(accounts);
  const rules: Uint8Array[] = [];
  for (let s = 1; s <= SECTIONS; s++) {
    rules.push(tollRecords.section({
      chainId: CHAIN, id: 5000n + BigInt(s), ruleVersion: 1, ledger: LEDGER, section: s,
      operatorAccountId: operatorOf(s),
      values: Array.from({ length: 16 }, (_, c) => fee(s, c + 1)),
    }, gateway));
  }
  await submit(rules);
  const from = BigInt(ledger.height + 2);
  await submit([tollRecords.activate({
    chainId: CHAIN, id: 6000n, ruleVersion: 1, ledger: LEDGER, mode: 'fee', code: 9, effectiveHeight: from,
    sectionCount: SECTIONS,
  }, gateway)]);
  while (BigInt(ledger.height) < from) {
    const digest = new Uint8Array(32).fill(1);
    await submit([records.anchor({ chainId: CHAIN, id: 7000n + BigInt(ledger.height), digest }, gateway)]);
  }
  return { ledger, gateway, close: async () => { await ledger.close(); await pool.close(); } };
}

/** Vouched batches of whole trips (each trip `recordsOf` records), ≤ GROUP records per group. */
function vouched(trips: Trip[], gateway: Signer, recordsOf: (t: Trip) => Uint8Array[], firstId: bigint): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur: Uint8Array[] = [];
  let id = firstId;
  const flush = (): void => {
    const flat = new Uint8Array(cur.length * RECORD_BYTES);
    cur.forEach((r, i) => flat.set(r, i * RECORD_BYTES));
    out.push(vouchBatch(flat, cur.length, gateway, { chainId: CHAIN, id: id++ }));
    cur = [];
  };
  for (const t of trips) {
    const recs = recordsOf(t);
    if (cur.length + recs.length > GROUP) flush();
    cur.push(...recs);
  }
  if (cur.length > 0) flush();
  return out;
}

async function run(ledger: Ledger, batches: Uint8Array[], trusted: boolean):
  Promise<{ seconds: number; failed: number }> {
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  let failed = 0;
  for (const b of batches) {
    pending.push(ledger.submitBatch(b, { trusted }).then((r) => { for (const c of r.codes) if (c !== 0) failed++; }));
    if (pending.length >= IN_FLIGHT) await pending.shift();
  }
  await Promise.all(pending);
  return { seconds: (performance.now() - started) / 1000, failed };
}

const tripRecord = (t: Trip, keyId: Uint8Array): Uint8Array => tollRecords.tripToVouch({
  chainId: CHAIN, id: t.id, issuerAccountId: t.issuer, toll: t.toll, ruleVersion: 1, vehicleClass: t.cls,
  sections: t.sections, vehicleId: t.id & 0xffffn, tripTimeMs: 1n,
}, keyId);

const linkedRecords = (t: Trip, keyId: Uint8Array): Uint8Array[] => t.sections.map((s, k) => encode({
  kind: 'transfer', chainId: CHAIN, id: (t.id << 4n) | BigInt(k), signer: keyId, debitAccountId: t.issuer,
  creditAccountId: operatorOf(s), amount: BigInt(t.parts[k]), ledger: LEDGER, code: 9,
  flags: k < t.sections.length - 1 ? FLAG_LINKED : 0,
}));

function flatten(recs: Uint8Array[]): Uint8Array {
  const flat = new Uint8Array(recs.length * RECORD_BYTES);
  recs.forEach((r, i) => flat.set(r, i * RECORD_BYTES));
  return flat;
}

/** Stage 4: records per second through LedgerState alone, in blocks of ≤ 8,190 records (chains kept whole). */
function stateMachineOnly(n: number): { trips: number; linked: number } {
  const st = new LedgerState();
  const op = generateSigner();
  let height = 0;
  const apply = (b: Uint8Array, count: number): void => {
    st.beginBlock(height++, 1000 + height);
    st.applyBatch(b, 0, count, new Uint16Array(count), 0, 0);
    st.endBlock();
  };
  const setup = [encode({ kind: 'register_key', chainId: CHAIN, id: 1n, signer: op.keyId, publicKey: op.publicKey,
    roles: 1 | ROLE_OPERATOR, ledger: LEDGER })];
  const account = (id: bigint, code: number): Uint8Array =>
    encode({ kind: 'create_account', chainId: CHAIN, id, signer: op.keyId, ledger: LEDGER, code,
      controller: op.keyId });
  for (let i = 0; i < ISSUERS; i++) setup.push(account(100n + BigInt(i), 1));
  for (let i = 0; i < OPERATORS; i++) setup.push(account(1000n + BigInt(i), 2));
  for (let s = 1; s <= SECTIONS; s++) {
    setup.push(encode({
      kind: 'toll_rule', chainId: CHAIN, id: 5000n + BigInt(s), signer: op.keyId, ruleVersion: 1, action: 1,
      ledger: LEDGER, section: s, operatorAccountId: operatorOf(s),
      classValues: packU32x16(Array.from({ length: 16 }, (_, c) => fee(s, c + 1))),
    }));
  }
  apply(flatten(setup), setup.length);
  const act = encode({ kind: 'toll_rule', chainId: CHAIN, id: 6000n, signer: op.keyId, ruleVersion: 1, action: 2,
    ledger: LEDGER, mode: 1, code: 9, effectiveHeight: BigInt(height + 1), sectionCount: SECTIONS });
  apply(act, 1);
  apply(new Uint8Array(0), 0);
  const time = (recs: Uint8Array[], trips: number): number => {
    const flat = flatten(recs);
    const started = performance.now();
    for (let i = 0; i < recs.length;) {
      let count = Math.min(GROUP + 1, recs.length - i);
      while (count > 1 && (flat[(i + count - 1) * RECORD_BYTES + 2] & FLAG_LINKED) !== 0) count--;
      apply(flat.subarray(i * RECORD_BYTES, (i + count) * RECORD_BYTES), count);
      i += count;
    }
    return trips / ((performance.now() - started) / 1000);
  };
  const trips = workload(n, 4n << 64n);
  const tripsPerS = time(trips.map((t) => tripRecord(t, op.keyId)), n);
  const linked = workload(n, 5n << 64n);
  return { trips: tripsPerS, linked: time(linked.flatMap((t) => linkedRecords(t, op.keyId)), n) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-bench-toll-'));
  const { ledger, gateway, close } = await setup(dir);
  const rows: string[] = [];
  const report = (name: string, trips: number, legs: number, r: { seconds: number; failed: number }): void => {
    rows.push(`| ${name} | ${Math.round(trips / r.seconds).toLocaleString('en-US')} | ` +
      `${Math.round(legs / r.seconds).toLocaleString('en-US')} | ${trips.toLocaleString('en-US')} | ` +
      `${r.seconds.toFixed(2)} s | ${r.failed} |`);
    console.log(rows[rows.length - 1]);
  };
  try {
    console.log(`toll bench: ${TRIPS} trips (3–6 sections), ${SIGNED} signed; sync ${SYNC}`);
    console.log('| workload | trips/s | sections (legs)/s | trips | time | refused |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    const trips = workload(TRIPS, 1n << 64n);
    const legs = trips.reduce((a, t) => a + t.sections.length, 0);
    const tb = vouched(trips, gateway, (t) => [tripRecord(t, gateway.keyId)], 1n);
    report('trips, trusted gateway', trips.length, legs, await run(ledger, tb, true));
    const linked = workload(TRIPS, 2n << 64n);
    const lb = vouched(linked, gateway, (t) => linkedRecords(t, gateway.keyId), 1_000_000n);
    report('plain linked transfers, trusted gateway', linked.length, legs, await run(ledger, lb, true));
    const signed = workload(SIGNED, 3n << 64n);
    const signedLegs = signed.reduce((a, t) => a + t.sections.length, 0);
    const recs = signed.map((t) => tollRecords.trip({
      chainId: CHAIN, id: t.id, issuerAccountId: t.issuer, toll: t.toll, ruleVersion: 1, vehicleClass: t.cls,
      sections: t.sections, vehicleId: t.id & 0xffffn, tripTimeMs: 1n,
    }, gateway));
    const sb: Uint8Array[] = [];
    for (let i = 0; i < recs.length; i += 2048) {
      const part = recs.slice(i, i + 2048);
      const flat = new Uint8Array(part.length * RECORD_BYTES);
      part.forEach((r, k) => flat.set(r, k * RECORD_BYTES));
      sb.push(flat);
    }
    report('trips, each SM2-signed', signed.length, signedLegs, await run(ledger, sb, false));
    const sm = stateMachineOnly(Math.min(TRIPS, 200_000));
    console.log(`state machine alone (no storage, no verification): trips ${Math.round(sm.trips)}/s, ` +
      `the same as linked transfers ${Math.round(sm.linked)} trips/s`);
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
