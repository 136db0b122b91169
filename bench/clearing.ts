// Clearing benchmarks (docs/benchmarks.md, "Clearing"). Run: npm run build && node dist/bench/clearing.js
//   [--obligations N (1,000,000)] [--members N (100)] [--runs N (3)] [--transfers N (300,000)]
//   [--rules N (1,000)] [--short-every K (10)] [--only close|rules]
//
// 1. close: a cycle of N obligations among M members, gridlock included (a tenth of the
//    members — every K-th — have no funds), in the state machine: the block time the close record
//    takes (beginBlock → apply → end of block), median of --runs fresh cycles.
// 2. gross against net: the same payments settled gross one by one (plain transfers, the
//    state machine, same run): time, and the liquidity each member needed — the peak of its
//    running outflow − inflow in arrival order — against its net debit in the cycle.
// 3. rules: durable apply (Ledger.submitBatch, signatures pre-verified, synced blocks) with
//    no rules against --rules active per-account rules (never tripping, so every transfer
//    pays for the checks and the windows), alternating, --runs each; the ratio of medians.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChain } from '../src/chain/init.js';
import { Ledger } from '../src/ledger/ledger.js';
import { LedgerState } from '../src/ledger/state.js';
import { generateSigner, type Signer } from '../src/codec/builders.js';
import {
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, HINT_NONE, OFF_HINT, OFF_ID, OFF_SIGNATURE, RECORD_BYTES, ROLE_ADMIN,
  ROLE_OPERATOR, RULE_ALERT, TRANSFER_DEFERRED, TR_AMOUNT, TR_CREDIT, TR_DEBIT, encode, setU128,
  type RecordFields,
} from '../src/codec/record.js';
import type { RecordVerifier } from '../src/ledger/verify.js';
import { sm2Backend } from '../src/crypto/sm2-backend.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const OBLIGATIONS = opt('obligations', 1_000_000);
const MEMBERS = opt('members', 100);
const RUNS = opt('runs', 3);
const TRANSFERS = opt('transfers', 300_000);
const RULES = opt('rules', 1_000);
const SHORT_EVERY = opt('short-every', 10);
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const CHAIN = 78;
const BATCH = 8190;
const CLEAR = 1n;
const FUND = 2n;
const member = (i: number): bigint => 1000n + BigInt(i);

/** Bench-only: dummy signatures, counted as verified (the state machine is measured here, not SM2). */
function rec(fields: Omit<RecordFields, 'signer' | 'chainId'>, by: Signer): Uint8Array {
  const b = encode({ chainId: CHAIN, timestamp: 1n, ...fields, signer: by.keyId } as RecordFields);
  b.fill(0x11, OFF_SIGNATURE, OFF_SIGNATURE + 64);
  b[OFF_HINT] = HINT_NONE;
  return b;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A payment of the bench's deterministic stream: (from, to, amount). */
function payment(k: number): [number, number, bigint] {
  const from = (k * 7919 + (k >> 3)) % MEMBERS;
  const to = (from + 1 + ((k * 104729) % (MEMBERS - 1))) % MEMBERS;
  return [from, to, BigInt(1 + ((k * 2654435761) >>> 0) % 1000)];
}

/**
 * Payments [first, first + n) of the stream as `template` records (ids from `idBase`), each
 * handed to `each(from, to, amount)` too.
 */
function paymentBatch(template: Uint8Array, idBase: bigint, first: number, n: number,
  each?: (from: number, to: number, amount: bigint) => void): Uint8Array {
  const b = new Uint8Array(n * RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    const r = b.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
    r.set(template);
    const [f, t, amount] = payment(first + i);
    each?.(f, t, amount);
    setU128(r, OFF_ID, idBase + BigInt(first + i));
    setU128(r, TR_DEBIT, member(f));
    setU128(r, TR_CREDIT, member(t));
    setU128(r, TR_AMOUNT, amount);
  }
  return b;
}

interface World { state: LedgerState; apply(recs: Uint8Array, n: number, timeMs?: number): Uint16Array; op: Signer }

/** A state machine: an operator, FUND, CLEAR, MEMBERS funded members (a tenth short); `unlimited`: no limits. */
function world(unlimited = false): World {
  const state = new LedgerState({ validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
  const admin = generateSigner(), op = generateSigner();
  let height = -1;
  let time = 1_000_000;
  const apply = (recs: Uint8Array, n: number, timeMs?: number): Uint16Array => {
    state.beginBlock(++height, timeMs ?? (time += 1000));
    const codes = new Uint16Array(n);
    state.applyBatch(recs, 0, n, codes, 0, 0);
    state.endBlock();
    return codes;
  };
  const cat = (rs: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(rs.length * RECORD_BYTES);
    rs.forEach((r, i) => out.set(r, i * RECORD_BYTES));
    return out;
  };
  const must = (codes: Uint16Array, what: string): void => {
    if (codes.some((c) => c !== 0)) throw new Error(`${what}: codes ${[...new Set(codes)].join(',')}`);
  };
  must(apply(cat([
    rec({ kind: 'register_key', id: 1n, publicKey: admin.publicKey, roles: ROLE_ADMIN }, admin),
    rec({ kind: 'register_key', id: 2n, publicKey: op.publicKey, roles: ROLE_OPERATOR, ledger: 1 }, admin),
  ]), 2), 'keys');
  const dmnec = ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS;
  const accts = [FUND, CLEAR, ...Array.from({ length: MEMBERS }, (_, i) => member(i))].map((id) =>
    rec({ kind: 'create_account', id, ledger: 1, code: 1, flags: id === FUND || unlimited ? 0 : dmnec,
      controller: op.keyId }, admin));
  must(apply(cat(accts), accts.length), 'accounts');
  // Each member gets about what it would pay in the cycle; every SHORT_EVERY-th nothing.
  const per = BigInt(Math.ceil(OBLIGATIONS / MEMBERS)) * 500n;
  const fund = Array.from({ length: MEMBERS }, (_, i) => i).filter((i) => i % SHORT_EVERY !== SHORT_EVERY - 1)
    .map((i) => rec({
      kind: 'transfer', id: 10n + BigInt(i), debitAccountId: FUND, creditAccountId: member(i), amount: per, ledger: 1,
      code: 1,
    }, op));
  must(apply(cat(fund), fund.length), 'funding');
  return { state, apply, op };
}

function benchClose(cycleId: bigint): { closeMs: number; loadPerS: number; rounds: number; removed: number } {
  const { state, apply, op } = world();
  const open = [rec({ kind: 'cycle_open', id: cycleId, ledger: 1, code: 9, clearingAccountId: CLEAR }, op),
    ...Array.from({ length: MEMBERS }, (_, i) => rec({ kind: 'cycle_member', id: cycleId + 1n + BigInt(i), cycleId,
      accountId: member(i) }, op))];
  const ob = new Uint8Array(open.length * RECORD_BYTES);
  open.forEach((r, i) => ob.set(r, i * RECORD_BYTES));
  apply(ob, open.length);
  const template = rec({ kind: 'transfer', flags: TRANSFER_DEFERRED, id: 1n, debitAccountId: 1n, creditAccountId: 2n,
    amount: 1n, pendingId: cycleId, ledger: 1, code: 7 }, op);
  const t0 = performance.now();
  for (let first = 0; first < OBLIGATIONS; first += BATCH) {
    const n = Math.min(BATCH, OBLIGATIONS - first);
    const codes = apply(paymentBatch(template, 10_000_000n, first, n), n);
    if (codes.some((c) => c !== 0)) throw new Error('obligations refused');
  }
  const loadPerS = OBLIGATIONS / ((performance.now() - t0) / 1000);
  const close = rec({ kind: 'cycle_close', id: cycleId + 100_000n, cycleId }, op);
  const c0 = performance.now();
  const codes = apply(close, 1);
  const closeMs = performance.now() - c0;
  if (codes[0] !== 0) throw new Error(`close refused: ${codes[0]}`);
  const report = state.clearing.cycle(cycleId)!.report!;
  return { closeMs, loadPerS, rounds: report.rounds, removed: report.removedCount };
}

/** The same payments gross, one by one, in the state machine (members unlimited: no payment waits). */
function benchGross(): { ms: number; peakNeed: bigint; netNeed: bigint } {
  const { apply, op } = world(true);
  const template = rec({ kind: 'transfer', id: 1n, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1,
    code: 7 }, op);
  // Liquidity: per member, the peak of running outflow − inflow (what it must hold to pay
  // every payment on arrival), against its net debit.
  const running = new Array<bigint>(MEMBERS).fill(0n);
  const peak = new Array<bigint>(MEMBERS).fill(0n);
  let ms = 0;
  for (let first = 0; first < OBLIGATIONS; first += BATCH) {
    const n = Math.min(BATCH, OBLIGATIONS - first);
    // The members have no balance limit here, so no payment waits or is refused; what each
    // would have needed on hand is `peak`.
    const b = paymentBatch(template, 20_000_000n, first, n, (f, t, amount) => {
      running[f] += amount;
      running[t] -= amount;
      if (running[f] > peak[f]) peak[f] = running[f];
    });
    const t0 = performance.now();
    const codes = apply(b, n);
    ms += performance.now() - t0;
    if (codes.some((c) => c !== 0)) throw new Error('gross payments refused');
  }
  const peakNeed = peak.reduce((a, b) => a + b, 0n);
  const netNeed = running.reduce((a, b) => (b > 0n ? a + b : a), 0n);
  return { ms, peakNeed, netNeed };
}

/** Bench-only: every record whose signer resolved passes (SM2 is measured elsewhere). */
const preVerified: RecordVerifier = {
  name: 'bench-pre-verified',
  async verifyRecords(_b, n, keys) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = keys[i] ? 1 : 0;
    return out;
  },
};

async function benchApply(rules: number): Promise<{ tps: number; cpuUs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-bench-clearing-'));
  try {
    const admin = generateSigner(), regulator = generateSigner(), node = generateSigner(), op = generateSigner();
    await initChain({ dir, chainId: CHAIN, admin, regulator, node });
    const ledger = await Ledger.open({ dir, verifier: preVerified, blockMaxRecords: BATCH, blockMaxMs: 5 });
    const ACCOUNTS = 10_000;
    const setup: Uint8Array[] = [rec({ kind: 'register_key', id: 10n, publicKey: op.publicKey, roles: ROLE_OPERATOR,
      ledger: 1 }, admin)];
    for (let i = 1; i <= ACCOUNTS; i++) {
      setup.push(rec({ kind: 'create_account', id: BigInt(i), ledger: 1, code: 1, controller: op.keyId }, admin));
    }
    // Rules on the first `rules` accounts: a per-transfer cap and a window, never reached.
    for (let r = 0; r < rules; r++) {
      setup.push(rec({ kind: 'rule', id: 100_000n + BigInt(r), ruleId: r + 1, ledger: 1, tier: RULE_ALERT,
        accountId: BigInt(1 + r), maxAmount: 1_000_000n, windowMs: 60_000, maxCount: 1_000_000 }, regulator));
    }
    for (let first = 0; first < setup.length; first += BATCH) {
      const r = await ledger.submit(setup.slice(first, first + BATCH));
      if (r.some((x) => x.code !== 0)) throw new Error(`setup: ${r.find((x) => x.code !== 0)!.name}`);
    }
    if (ledger.state.clearing.rules.size !== rules) throw new Error('rules not in force');
    const template = rec({ kind: 'transfer', id: 1n, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1,
      code: 1 }, op);
    const batches: Uint8Array[] = [];
    for (let first = 0; first < TRANSFERS; first += BATCH) {
      const n = Math.min(BATCH, TRANSFERS - first);
      const b = new Uint8Array(n * RECORD_BYTES);
      for (let i = 0; i < n; i++) {
        const k = first + i;
        const r = b.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
        r.set(template);
        setU128(r, OFF_ID, 50_000_000n + BigInt(k));
        // Debits walk the first 1,000 accounts (the ruled ones, when there are rules).
        const d = 1 + (k % 1000);
        setU128(r, TR_DEBIT, BigInt(d));
        setU128(r, TR_CREDIT, BigInt(1001 + (k % (ACCOUNTS - 1000))));
      }
      batches.push(b);
    }
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const pending: Promise<unknown>[] = [];
    for (const b of batches) {
      pending.push(ledger.submitBatch(b).then((r) => {
        if (r.codes.some((c) => c !== 0)) throw new Error('refused');
      }));
      if (pending.length >= 8) await pending.shift();
    }
    await Promise.all(pending);
    const tps = TRANSFERS / ((performance.now() - started) / 1000);
    const cpu = process.cpuUsage(cpu0);
    await ledger.close();
    // CPU per transfer (all threads): steadier than wall time on a shared machine.
    return { tps, cpuUs: (cpu.user + cpu.system) / TRANSFERS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (ONLY === undefined || ONLY === 'close') {
    console.log(`1. close: ${OBLIGATIONS} obligations among ${MEMBERS} members (every ${SHORT_EVERY}th unfunded),` +
      ` ${RUNS} runs`);
    const runs = Array.from({ length: RUNS }, (_, r) => benchClose(1_000_000n * BigInt(r + 1)));
    for (const r of runs) {
      console.log(`   close ${r.closeMs.toFixed(0)} ms (gridlock: ${r.rounds} rounds, ${r.removed} removed);` +
        ` obligations applied at ${r.loadPerS.toFixed(0)}/s`);
    }
    console.log(`   median close: ${median(runs.map((r) => r.closeMs)).toFixed(0)} ms of block time`);
    console.log('2. the same payments settled gross, one by one (state machine)');
    const g = benchGross();
    console.log(`   apply ${g.ms.toFixed(0)} ms for ${OBLIGATIONS} transfers`);
    console.log(`   liquidity needed: gross ${g.peakNeed} (Σ members' peak running outflow) against net ${g.netNeed}` +
      ` (Σ net debits): ${(Number(g.peakNeed) / Number(g.netNeed)).toFixed(2)}×`);
  }
  if (ONLY === undefined || ONLY === 'rules') {
    console.log(`3. durable apply, ${TRANSFERS} transfers: no rules against ${RULES} rules,` +
      ` alternating (ABBA), ${RUNS} runs each`);
    const none: { tps: number; cpuUs: number }[] = [];
    const ruled: { tps: number; cpuUs: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      // Alternating which goes first (ABBA…), so neither side always runs on a warmer or colder machine.
      if (r % 2 === 0) {
        none.push(await benchApply(0));
        ruled.push(await benchApply(RULES));
      } else {
        ruled.push(await benchApply(RULES));
        none.push(await benchApply(0));
      }
      console.log(`   run ${r + 1}: ${none[r].tps.toFixed(0)}/s, ${none[r].cpuUs.toFixed(2)} µs CPU/transfer` +
        ' without;' +
        ` ${ruled[r].tps.toFixed(0)}/s, ${ruled[r].cpuUs.toFixed(2)} µs with rules`);
    }
    const m0 = median(none.map((x) => x.tps)), m1 = median(ruled.map((x) => x.tps));
    const c0 = median(none.map((x) => x.cpuUs)), c1 = median(ruled.map((x) => x.cpuUs));
    console.log(`   medians: ${m0.toFixed(0)}/s without, ${m1.toFixed(0)}/s with:` +
      ` ${(m1 / m0).toFixed(3)}× throughput;` +
      ` CPU per transfer ${c0.toFixed(2)} → ${c1.toFixed(2)} µs: ${(c1 / c0).toFixed(3)}×`);
  }
}

await main();
