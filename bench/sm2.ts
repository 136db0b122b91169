// SM2 benchmarks: gmledger's WASM core beside sm-crypto, sm-crypto-v2 and OpenSSL
// (`openssl speed -seconds 3 sm2`, run in the same process tree and parsed), plus batch
// verification and the worker pool. Like bench/hash.ts every task runs in each of ROUNDS
// rounds and we report the median over rounds of each task's median throughput.
//
//   npm run build && npm run bench:sm2      (ROUNDS=3, BENCH_TIME_MS=1000 by default)

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { createVerifyPool, fromHex, sm2, toHex as hex, type VerifyPool } from 'gmledger';
import { fmt, median, printTaskTable, runRounds } from './rounds.js';

const require = createRequire(import.meta.url);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1000);
const BATCH = 1024;
const BATCH_KEYS = 64;
const COLD_KEYS = 1024; // more than the 256-slot key cache: every verification misses

interface SmCryptoLike {
  sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    doSignature(msg: string, priv: string, opts: object): string;
    doVerifySignature(msg: string, sig: string, pub: string, opts: object): boolean;
  };
}
const smCrypto = require('sm-crypto') as SmCryptoLike;
const smCryptoV2 = require('sm-crypto-v2') as SmCryptoLike;

function opensslSpeed(): { sign: number; verify: number } | undefined {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '3', 'sm2'], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    });
    const m = /SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)/.exec(out);
    return m ? { sign: Number(m[1]), verify: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

const IN_FLIGHT = 4; // pool batches outstanding at once, so both threads have work
const SIGS_PER_OP: Record<string, number> = {
  [`batch ${BATCH} hinted, ${BATCH_KEYS} keys / gmledger`]: BATCH,
  [`batch ${BATCH} hinted, ${BATCH} keys / gmledger`]: BATCH,
  [`pool ${IN_FLIGHT}x${BATCH} / 1 thread`]: IN_FLIGHT * BATCH,
  [`pool ${IN_FLIGHT}x${BATCH} / 2 threads`]: IN_FLIGHT * BATCH,
};

function fixtures() {
  const msg = new TextEncoder().encode('transfer 100.00 CNY from account 1001 to account 2002, nonce 42');
  const msgStr = Buffer.from(msg).toString('latin1');
  const kp = sm2.generateKeyPair();
  const sig = sm2.sign(msg, kp.privateKey);
  const coldKeys = Array.from({ length: COLD_KEYS }, () => sm2.generateKeyPair());
  const coldSigs = coldKeys.map((k) => sm2.sign(msg, k.privateKey));
  const batchKeys = Array.from({ length: BATCH_KEYS }, () => sm2.generateKeyPair());
  const batch = Array.from({ length: BATCH }, (_, i) => {
    const k = batchKeys[i % BATCH_KEYS];
    const m = new TextEncoder().encode(`tx ${i}`);
    return { msg: m, signature: sm2.signRecoverable(m, k.privateKey), publicKey: k.publicKey };
  });
  // the same 1,024 signatures, but every one by a different key (one-off signers)
  const fresh = Array.from({ length: BATCH }, (_, i) => {
    const k = coldKeys[i];
    const m = new TextEncoder().encode(`tx ${i}`);
    return { msg: m, signature: sm2.signRecoverable(m, k.privateKey), publicKey: k.publicKey };
  });
  const ref = smCrypto.sm2.generateKeyPairHex();
  const refSig = smCrypto.sm2.doSignature(msgStr, ref.privateKey, { hash: true, der: false });
  const v2 = smCryptoV2.sm2.generateKeyPairHex();
  const v2Sig = smCryptoV2.sm2.doSignature(msgStr, v2.privateKey, { hash: true, der: false });
  return { msg, msgStr, kp, sig, coldKeys, coldSigs, batch, fresh, ref, refSig, v2, v2Sig };
}

type Fixtures = ReturnType<typeof fixtures>;

// Sanity before timing: all contenders agree on each other's signatures.
function selfCheck({ msg, msgStr, kp, sig, batch, fresh, ref, refSig, v2, v2Sig }: Fixtures): void {
  if (!sm2.verify(msg, sig, kp.publicKey)) throw new Error('gmledger self-check failed');
  if (!smCrypto.sm2.doVerifySignature(msgStr, hex(sig), hex(kp.publicKey), { hash: true, der: false })) {
    throw new Error('sm-crypto disagrees');
  }
  if (!smCryptoV2.sm2.doVerifySignature(msgStr, v2Sig, v2.publicKey, { hash: true, der: false })) {
    throw new Error('sm-crypto-v2 self-check failed');
  }
  if (!sm2.verify(msg, fromHex(refSig), fromHex(ref.publicKey))) throw new Error('cross-check failed');
  if (!sm2.verifyBatch(batch).every(Boolean) || !sm2.verifyBatch(fresh).every(Boolean)) {
    throw new Error('batch self-check failed');
  }
}

function sm2Tasks(f: Fixtures, pool1: VerifyPool, pool2: VerifyPool): Record<string, () => unknown> {
  const { msg, msgStr, kp, sig, coldKeys, coldSigs, batch, fresh, ref, refSig, v2, v2Sig } = f;
  let cold = 0;
  const inFlight = (pool: VerifyPool) => () =>
    Promise.all(Array.from({ length: IN_FLIGHT }, () => pool.verifyBatch(batch)));
  return {
    'verify (hot key) / gmledger': () => sm2.verify(msg, sig, kp.publicKey),
    'verify (cold key) / gmledger': () => {
      const i = cold++ % COLD_KEYS;
      return sm2.verify(msg, coldSigs[i], coldKeys[i].publicKey);
    },
    'verify / sm-crypto': () =>
      smCrypto.sm2.doVerifySignature(msgStr, refSig, ref.publicKey, { hash: true, der: false }),
    'verify / sm-crypto-v2': () =>
      smCryptoV2.sm2.doVerifySignature(msgStr, v2Sig, v2.publicKey, { hash: true, der: false }),
    'sign / gmledger': () => sm2.sign(msg, kp.privateKey),
    'sign / sm-crypto': () =>
      smCrypto.sm2.doSignature(msgStr, ref.privateKey, { hash: true, der: false, publicKey: ref.publicKey }),
    'sign / sm-crypto-v2': () =>
      smCryptoV2.sm2.doSignature(msgStr, v2.privateKey, { hash: true, der: false, publicKey: v2.publicKey }),
    'keygen / gmledger': () => sm2.generateKeyPair(),
    'keygen / sm-crypto': () => smCrypto.sm2.generateKeyPairHex(),
    'keygen / sm-crypto-v2': () => smCryptoV2.sm2.generateKeyPairHex(),
    [`batch ${BATCH} hinted, ${BATCH_KEYS} keys / gmledger`]: () => sm2.verifyBatch(batch),
    [`batch ${BATCH} hinted, ${BATCH} keys / gmledger`]: () => sm2.verifyBatch(fresh),
    [`pool ${IN_FLIGHT}x${BATCH} / 1 thread`]: inFlight(pool1),
    [`pool ${IN_FLIGHT}x${BATCH} / 2 threads`]: inFlight(pool2),
  };
}

function report(perRound: Record<string, number[]>, ossl: { sign: number; verify: number } | undefined): void {
  console.log(`\n${ROUNDS} rounds, ${TIME_MS} ms per task per round, Node ${process.version}\n`);
  printTaskTable(perRound, 'median ops/s (batch, pool: sigs/s)');
  if (ossl) {
    console.log(`| verify / OpenSSL (openssl speed -seconds 3 sm2) | ${fmt(ossl.verify)} | | |\n` +
      `| sign / OpenSSL | ${fmt(ossl.sign)} | | |`);
  }
  const med = (k: string) => median(perRound[k]);
  console.log('\n| comparison | ratio |\n| --- | ---: |');
  const ratio = (label: string, a: number, b: number) => console.log(`| ${label} | ${(a / b).toFixed(2)}× |`);
  if (ossl) {
    ratio('verify hot / OpenSSL verify', med('verify (hot key) / gmledger'), ossl.verify);
    ratio('verify cold / OpenSSL verify', med('verify (cold key) / gmledger'), ossl.verify);
    ratio('sign / OpenSSL sign', med('sign / gmledger'), ossl.sign);
    ratio('batch sigs/s / OpenSSL verify', med(`batch ${BATCH} hinted, ${BATCH_KEYS} keys / gmledger`), ossl.verify);
  }
  ratio('verify hot / sm-crypto', med('verify (hot key) / gmledger'), med('verify / sm-crypto'));
  ratio('verify hot / sm-crypto-v2', med('verify (hot key) / gmledger'), med('verify / sm-crypto-v2'));
  const p2 = perRound[`pool ${IN_FLIGHT}x${BATCH} / 2 threads`];
  const p1 = perRound[`pool ${IN_FLIGHT}x${BATCH} / 1 thread`];
  const poolRatio = median(p2.map((v, i) => v / p1[i])).toFixed(2);
  console.log(`| pool 2 threads / 1 thread (median of per-round ratios) | ${poolRatio}× |`);
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} ` +
    `(2 cores = ${availableParallelism()} threads available)`);
}

async function main(): Promise<void> {
  process.stderr.write(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
  const f = fixtures();
  selfCheck(f);
  const pool1 = createVerifyPool({ threads: 1 });
  const pool2 = createVerifyPool({ threads: 2 });
  await pool1.verifyBatch(f.batch);
  await pool2.verifyBatch(f.batch);
  const perRound = await runRounds(sm2Tasks(f, pool1, pool2), {
    rounds: ROUNDS, timeMs: TIME_MS, warmupMs: 200, itemsPerCall: SIGS_PER_OP,
  });
  await pool1.close();
  await pool2.close();
  report(perRound, opensslSpeed());
}

await main();
