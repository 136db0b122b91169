// Hashing and Merkle micro-benchmarks: gmledger's WASM core side by side with node:crypto
// (OpenSSL), hash-wasm and sm-crypto, in one process. Every task runs in each of ROUNDS
// rounds; we report the median over rounds of each task's median ops/s, and each ratio
// as the median of the per-round ratios, so slow drift on a shared machine cancels out.
//
//   npm run bench            (ROUNDS=5 by default; BENCH_TIME_MS per task per round)

import { createHash as nodeCreateHash } from 'node:crypto';
import { createSHA256, createSM3 } from 'hash-wasm';
import smCrypto from 'sm-crypto';
import { merkleRoot, sha256, sm3, toHex as hex } from 'gmledger';
import { median, printTaskTable, runRounds } from './rounds.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 700);
const LEAVES = 65_536;

type Alg = 'sm3' | 'sha256';

/** RFC 6962 root with node:crypto, one createHash per leaf and per node. */
function nodeMerkleRoot(leaves: Uint8Array[], alg: Alg): Uint8Array {
  if (leaves.length === 0) return nodeCreateHash(alg).digest();
  let level: Uint8Array[] = leaves.map((l) => nodeCreateHash(alg).update(LEAF).update(l).digest());
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(nodeCreateHash(alg).update(NODE).update(level[i]).update(level[i + 1]).digest());
    }
    if (level.length & 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7) & 255;
  return b;
}

async function main(): Promise<void> {
  const msg64 = bytes(64, 1);
  const msg1m = bytes(1 << 20, 2);
  const leaves = Array.from({ length: LEAVES }, (_, i) => bytes(32, i));
  const hwSm3 = await createSM3();
  const hwSha = await createSHA256();
  const smHex64 = Array.from(msg64);

  // Sanity: every contender computes the same digests before anything is timed.
  for (const alg of ['sm3', 'sha256'] as const) {
    if (hex(merkleRoot(leaves, alg)) !== hex(nodeMerkleRoot(leaves, alg))) throw new Error(`merkle ${alg} disagrees`);
  }
  hwSm3.init(); hwSm3.update(msg64);
  if (hex(sm3(msg64)) !== hwSm3.digest('hex') || hex(sm3(msg64)) !== smCrypto.sm3(smHex64)) {
    throw new Error('sm3 disagrees');
  }

  const tasks: Record<string, () => unknown> = {
    'merkle sm3 65536 / gmledger': () => merkleRoot(leaves, 'sm3'),
    'merkle sm3 65536 / node:crypto': () => nodeMerkleRoot(leaves, 'sm3'),
    'merkle sha256 65536 / gmledger': () => merkleRoot(leaves, 'sha256'),
    'merkle sha256 65536 / node:crypto': () => nodeMerkleRoot(leaves, 'sha256'),
    'sm3 64 B / gmledger': () => sm3(msg64),
    'sm3 64 B / node:crypto': () => nodeCreateHash('sm3').update(msg64).digest(),
    'sm3 64 B / hash-wasm': () => { hwSm3.init(); hwSm3.update(msg64); return hwSm3.digest('binary'); },
    'sm3 64 B / sm-crypto': () => smCrypto.sm3(smHex64),
    'sha256 64 B / gmledger': () => sha256(msg64),
    'sha256 64 B / node:crypto': () => nodeCreateHash('sha256').update(msg64).digest(),
    'sha256 64 B / hash-wasm': () => { hwSha.init(); hwSha.update(msg64); return hwSha.digest('binary'); },
    'sm3 1 MiB / gmledger': () => sm3(msg1m),
    'sm3 1 MiB / node:crypto': () => nodeCreateHash('sm3').update(msg1m).digest(),
    'sm3 1 MiB / hash-wasm': () => { hwSm3.init(); hwSm3.update(msg1m); return hwSm3.digest('binary'); },
    'sha256 1 MiB / gmledger': () => sha256(msg1m),
    'sha256 1 MiB / node:crypto': () => nodeCreateHash('sha256').update(msg1m).digest(),
  };
  const ratios: [string, string, string][] = [
    ['merkle sm3 65536', 'gmledger', 'node:crypto'],
    ['merkle sha256 65536', 'gmledger', 'node:crypto'],
    ['sm3 64 B', 'gmledger', 'node:crypto'],
    ['sm3 64 B', 'gmledger', 'hash-wasm'],
    ['sm3 64 B', 'gmledger', 'sm-crypto'],
    ['sha256 64 B', 'gmledger', 'node:crypto'],
    ['sm3 1 MiB', 'gmledger', 'node:crypto'],
    ['sm3 1 MiB', 'gmledger', 'hash-wasm'],
    ['sha256 1 MiB', 'gmledger', 'node:crypto'],
  ];

  const perRound = await runRounds(tasks, { rounds: ROUNDS, timeMs: TIME_MS, warmupMs: 100 });
  console.log(`\n${ROUNDS} rounds, ${TIME_MS} ms per task per round, Node ${process.version}\n`);
  printTaskTable(perRound);
  console.log('\n| comparison | median ratio | min | max |\n| --- | ---: | ---: | ---: |');
  for (const [what, a, b] of ratios) {
    const xs = perRound[`${what} / ${a}`].map((v, i) => v / perRound[`${what} / ${b}`][i]);
    const [mid, lo, hi] = [median(xs), Math.min(...xs), Math.max(...xs)].map((v) => v.toFixed(2));
    console.log(`| ${what}: ${a} / ${b} | ${mid}× | ${lo}× | ${hi}× |`);
  }
}

await main();
