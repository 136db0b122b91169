// Fair admission under a flood (docs/benchmarks.md, "Fair admission under a bad-signature
// flood"). Run: npm run build && node dist/bench/flood.js [--seconds 20] [--rate 1000] [--attackers 2]
//
// A node in its own process (gmledger start on a fresh chain). An honest client submits
// SM2-signed transfers at --rate per second in frames of 10, and measures each frame's
// submit → durable latency. Meanwhile --attackers authenticated connections (each its own
// registered key) flood frames of 1,024 records with bad signatures (valid structure, a
// wrong r‖s: the node must verify each to refuse it) as fast as the node takes them,
// reconnecting whenever the node closes them. Reported: the honest p50/p99/max, how many
// honest transfers were acknowledged and applied, how many bad records the node verified and
// refused, how often it closed an attacker. Run once with --attackers 0 for the baseline.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { initChain } from '../src/chain/init.js';
import { Client, ClientError, authSigner, generateSigner, records, type Signer } from '../src/client/index.js';
import { OFF_SIGNATURE, ROLE_PARTICIPANT } from '../src/codec/record.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 20);
const RATE = opt('rate', 1000);
const ATTACKERS = opt('attackers', 2);
const FRAME = 10;
const FLOOD_FRAME = 1024;
const CLI = join(import.meta.dirname, '..', 'src', 'cli.js');

async function startNode(dir: string): Promise<{ url: string; stop(): void }> {
  const p = spawn(process.execPath, [CLI, 'start', '--dir', dir, '--port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (l) => {
      try {
        const j = JSON.parse(l) as { event?: string; url?: string };
        if (j.event === 'listening' && j.url) resolve(j.url);
      } catch { /* not a JSON line */ }
    });
    p.on('exit', (code) => reject(new Error(`node exited (${code})`)));
  });
  return { url, stop: () => p.kill('SIGTERM') };
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function setup(url: string, chainId: number, admin: Signer, honest: Signer, attackers: Signer[]): Promise<void> {
  const c = await Client.connect(url, { signer: authSigner(admin) });
  const rs = await c.submitBatch([
    ...[honest, ...attackers].map((s, i) => records.registerKey({
      chainId, id: 5000n + BigInt(i), publicKey: s.publicKey, roles: ROLE_PARTICIPANT,
    }, admin)),
    records.createAccount({ chainId, id: 1n, ledger: 1, code: 1, controller: honest.keyId }, honest),
    records.createAccount({ chainId, id: 2n, ledger: 1, code: 1, controller: honest.keyId }, honest),
  ]);
  if (rs.some((r) => !r.ok)) throw new Error(`setup: ${rs.map((r) => r.result).join(',')}`);
  await c.close();
}

/** Floods frames of records with wrong signatures until `stop`; reconnects when closed. */
async function flood(
  url: string, chainId: number, s: Signer, stop: () => boolean, stats: { sent: number; closes: number },
): Promise<void> {
  const bad = records.transfer({ chainId, id: 1n, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1,
    code: 1 }, s);
  bad[OFF_SIGNATURE + 5] ^= 0x55; // a wrong signature, well formed
  let n = 0;
  while (!stop()) {
    let c: Client;
    try {
      c = await Client.connect(url, { signer: authSigner(s) });
    } catch {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    // Refusals while slowed (too_many_in_flight) are part of the flood; any other failure is the
    // node closing the connection: reconnect.
    let dead = false;
    const inflight: Promise<unknown>[] = [];
    while (!stop() && !dead) {
      const frame = Array.from({ length: FLOOD_FRAME }, () => {
        const r = bad.slice();
        r[16] = n & 0xff; r[17] = (n >> 8) & 0xff; r[18] = (n >> 16) & 0xff; r[19] = (n++ >> 24) & 0xff;
        return r;
      });
      inflight.push(c.submitBatch(frame).then(() => { stats.sent += FLOOD_FRAME; }, (e: Error) => {
        if (!(e instanceof ClientError && e.name === 'too_many_in_flight')) dead = true;
      }));
      if (inflight.length >= 8) await inflight.shift();
    }
    await Promise.allSettled(inflight);
    stats.closes++;
    await c.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gmledger-flood-'));
  const { config, admin } = await initChain({ dir });
  const node = await startNode(dir);
  try {
    const honest = generateSigner();
    const attackers = Array.from({ length: ATTACKERS }, () => generateSigner());
    await setup(node.url, config.chainId, admin, honest, attackers);
    const c = await Client.connect(node.url, { signer: authSigner(honest) });
    let stopped = false;
    const stats = { sent: 0, closes: 0 };
    const floods = attackers.map((s) => flood(node.url, config.chainId, s, () => stopped, stats));
    await new Promise((r) => setTimeout(r, 1000)); // the flood under way first
    const lat: number[] = [];
    let acked = 0, applied = 0, nextId = 1_000_000n;
    const started = performance.now();
    const pending: Promise<void>[] = [];
    for (let f = 0; performance.now() - started < SECONDS * 1000; f++) {
      const due = started + (f * FRAME * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const recs = Array.from({ length: FRAME }, () => records.transfer({ chainId: config.chainId, id: nextId++,
        debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1, code: 1 }, honest));
      const t0 = performance.now();
      pending.push(c.submitBatch(recs).then((rs) => {
        lat.push(performance.now() - t0);
        acked += rs.length;
        applied += rs.filter((r) => r.ok).length;
      }));
    }
    await Promise.all(pending);
    stopped = true;
    await Promise.all(floods);
    await c.close();
    console.log(`honest: ${acked} transfers acknowledged, ${applied} applied, at ${RATE}/s for ${SECONDS} s;` +
      ` latency p50 ${pct(lat, 0.5).toFixed(0)} ms, p99 ${pct(lat, 0.99).toFixed(0)} ms,` +
      ` max ${pct(lat, 1).toFixed(0)} ms`);
    console.log(`flood: ${ATTACKERS} connections, ${stats.sent} bad-signature records answered, ` +
      `${stats.closes} times closed by the node`);
  } finally {
    node.stop();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
