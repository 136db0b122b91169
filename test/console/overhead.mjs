// What the web console costs a node (docs/benchmarks.md, "Web console"): one node under
// flat-out load (a trusted gateway, 4 connections, so the load generator is cheap), its
// committed records/s measured from /metrics over equal phases, in turn: console closed,
// console open on the live view (anonymous: /metrics, /status each second, `blocks` topic),
// console open logged in as the regulator (adds the firehose: every record to the page).
// Also the live view's requests made from this process, with no browser: the node's share.
// Each phase twice, interleaved, in one run. Needs `npm run build` and Chromium.
//
//   node test/console/overhead.mjs [seconds per phase, default 15] [rounds, default 2]
//   GMLEDGER_PHASES=closed,live node test/console/overhead.mjs 5 8   # only some phases

/* global fetch, window, document, clearInterval */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { Client, authSigner, generateSigner, records } from '../../dist/src/client/index.js';
import { encode, ROLE_OPERATOR } from '../../dist/src/codec/record.js';
import { toHex } from '../../dist/src/crypto/bytes.js';
import { initChain } from '../../dist/src/chain/init.js';

const PHASE_S = Number(process.argv[2] ?? 15);
const ROUNDS = Number(process.argv[3] ?? 2);
const WARM_S = 3;
/** GMLEDGER_PHASES=closed,live,…: only the phases whose names start so. */
const ONLY = process.env.GMLEDGER_PHASES?.split(',');
const ACCOUNTS = 64n;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startNode(dir, port, gateway) {
  const args = ['dist/src/cli.js', 'start', '--dir', dir, '--port', String(port), '--gateway', gateway];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    createInterface({ input: p.stdout }).on('line', (line) => {
      if (JSON.parse(line).event === 'listening') resolve();
    });
    p.once('exit', (code) => reject(new Error(`node exited ${code}`)));
  });
  return p;
}

/** /proc/<pid>/stat after the command name: [state, ppid, …]; utime and stime at 11, 12 (clock ticks). */
async function stat(pid) {
  return (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
}

/**
 * CPU seconds (user + system) of a process; with `tree`, of its descendants too, but not of
 * `except` (this script's children: Chromium's processes, not the node's).
 */
async function cpuSeconds(pid, tree = false, except = -1) {
  const pids = [pid];
  if (tree) {
    const all = [];
    for (const p of (await readdir('/proc')).filter((x) => /^[0-9]+$/.test(x))) {
      try { all.push([Number(p), Number((await stat(p))[1])]); } catch { /* gone */ }
    }
    for (let i = 0; i < pids.length; i++) {
      for (const [p, pp] of all) if (pp === pids[i] && p !== except) pids.push(p);
    }
    pids.shift();
  }
  let s = 0;
  for (const p of pids) {
    try { const f = await stat(p); s += (Number(f[11]) + Number(f[12])) / 100; } catch { /* gone */ }
  }
  return s;
}

const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

async function committed(http) {
  const text = await (await fetch(`${http}/metrics`)).text();
  const v = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { ok: v('gmledger_records_committed_total'), cut: v('gmledger_slow_subscribers_cut_total') };
}

/** Flat-out trusted load: each connection submits 8 × 1,023 unsigned transfers per call, again and again. */
function load(url, gw, chainId) {
  let running = true;
  let next = 1n << 40n;
  const one = async () => {
    const c = await Client.connect(url, { signer: authSigner(gw) });
    while (running) {
      const rs = Array.from({ length: 8 * 1023 }, () => {
        const i = next++;
        return encode({ kind: 'transfer', chainId, id: i, signer: gw.keyId, debitAccountId: 1n + (i % ACCOUNTS),
          creditAccountId: 1n + ((i + 1n) % ACCOUNTS), amount: 1n, ledger: 1, code: 1 });
      });
      await c.submitTrusted(rs, gw).catch((e) => { running = false; console.error(`load: ${e.message}`); });
    }
    await c.close();
  };
  const all = Promise.all([one(), one(), one(), one()]);
  return async () => { running = false; await all; };
}

/**
 * What the live view asks of the node, made from this process instead of a browser: /metrics
 * every second, /status every two, the `blocks` topic. Separates the node's cost from the
 * browser's CPU on the same machine.
 */
function poller(url, http) {
  return async () => {
    const c = await Client.connect(url);
    await c.subscribe('blocks', () => undefined);
    let n = 0;
    const t = setInterval(() => {
      fetch(`${http}/metrics`).then((r) => r.text()).catch(() => undefined);
      if (n++ % 2 === 0) fetch(`${http}/status`).then((r) => r.json()).catch(() => undefined);
    }, 1000);
    return { close: async () => { clearInterval(t); await c.close(); }, evaluate: async () => 'n/a' };
  };
}

async function phase(name, http, pids, open) {
  const page = await open();
  await sleep(WARM_S * 1000);
  const cpu = async () => [await cpuSeconds(pids.node), await cpuSeconds(process.pid, true, pids.node), selfCpu()];
  const [a, ca, t0] = [await committed(http), await cpu(), Date.now()];
  await sleep(PHASE_S * 1000);
  const [b, cb, t1] = [await committed(http), await cpu(), Date.now()];
  const seen = page === undefined ? '' : await page.evaluate(() => document.querySelector('#m-height').textContent);
  await page?.close();
  const s = (t1 - t0) / 1000;
  const tps = Math.round((b.ok - a.ok) / s);
  const [node, browser, gen] = [0, 1, 2].map((i) => (cb[i] - ca[i]) / s);
  const row = { phase: name, tps, nodeCpu: node.toFixed(2), usPerRecord: ((node * 1e6) / tps).toFixed(1),
    browserCpu: browser.toFixed(2), loadCpu: gen.toFixed(2), cut: b.cut - a.cut, pageHeight: seen };
  console.log(JSON.stringify(row));
  return row;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'gmledger-console-overhead-'));
  const { config: { chainId }, admin } = await initChain({ dir });
  const gw = generateSigner();
  const port = await freePort();
  const [url, http] = [`ws://127.0.0.1:${port}/ws`, `http://127.0.0.1:${port}`];
  const node = await startNode(dir, port, toHex(gw.keyId));
  try {
    await run(dir, chainId, admin, gw, node, [url, http]);
  } finally {
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

async function run(dir, chainId, admin, gw, node, [url, http]) {
  const setup = await Client.connect(url, { signer: authSigner(admin) });
  await setup.submitBatch([
    records.registerKey({ chainId, id: 100n, publicKey: gw.publicKey, roles: ROLE_OPERATOR, ledger: 1 }, admin),
    ...Array.from({ length: Number(ACCOUNTS) }, (_, i) => records.createAccount({ chainId, id: BigInt(i + 1),
      ledger: 1, code: 1, controller: admin.keyId }, admin)),
  ]);
  await setup.close();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const console_ = (login) => async () => {
    const page = await browser.newPage();
    await page.goto(`${http}/`);
    await page.waitForFunction(() => window.gmConsole?.ready === true);
    if (login) {
      await page.click('nav button[data-view=access]');
      await page.setInputFiles('#keyfile', join(dir, 'keys', 'regulator.key'));
      await page.waitForFunction(() => document.querySelector('#alerts-note').dataset.topics !== undefined);
      await page.click('nav button[data-view=live]');
    }
    return page;
  };
  const stop = load(url, gw, chainId);
  const rows = [];
  const pids = { node: node.pid };
  const phases = [
    ['closed', async () => undefined],
    ['live view\'s requests, no browser', poller(url, http)],
    ['open, live view', console_(false)],
    ['open, regulator (firehose)', console_(true)],
  ].filter(([name]) => ONLY === undefined || ONLY.some((o) => name.startsWith(o)));
  // The order turns each round, so that a drift over the run (the chain grows, other work on
  // the machine comes and goes) does not always favour the same phase.
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < phases.length; k++) {
      const [name, open] = phases[(round + k) % phases.length];
      rows.push(await phase(name, http, pids, open));
    }
  }
  await stop();
  await browser.close();
  console.log('\n| phase | committed records/s | node CPU (cores) | node CPU µs per record | Chromium CPU (cores) | ' +
    'load generator CPU (cores) | subscribers cut |\n| --- | --- | --- | --- | --- | --- | --- |');
  console.log(`\nload average at the end: ${(await readFile('/proc/loadavg', 'utf8')).trim()}`);
  const line = (r) => console.log(`| ${r.phase} | ${r.tps.toLocaleString('en-US')} | ${r.nodeCpu} | ${r.usPerRecord} | ` +
    `${r.browserCpu} | ${r.loadCpu} | ${r.cut} |`);
  for (const r of rows) line(r);
  console.log('\nMedians over the rounds:\n');
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  for (const name of [...new Set(rows.map((r) => r.phase))]) {
    const of = rows.filter((r) => r.phase === name);
    const m = (k) => median(of.map((r) => Number(r[k])));
    line({ phase: name, tps: m('tps'), nodeCpu: m('nodeCpu').toFixed(2), usPerRecord: m('usPerRecord').toFixed(1),
      browserCpu: m('browserCpu').toFixed(2), loadCpu: m('loadCpu').toFixed(2), cut: of.reduce((a, r) => a + r.cut, 0) });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
