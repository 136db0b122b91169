// The client SDK in a real browser: Debian's Chromium, headless, driven by playwright-core.
// A page served from this package (dist/ and build/, no bundler) imports
// dist/src/client/index.js, makes an SM2 key pair with the WASM core, connects to a node
// over the real ledger with the browser's own WebSocket, authenticates, and submits records
// it signed. The node must accept them (and refuse one altered after signing), the chain
// must verify, and the browser's signatures must verify with an independent SM2 (sm-crypto).
//
// Chromium: $CHROMIUM_PATH, else /usr/bin/chromium or /usr/bin/chromium-browser. Without
// one the test is skipped with a message, except in CI (CI set, not "false"/"0"), where it
// fails: CI must run it (.ci/run installs Debian's chromium package).

import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Client, authSigner, records, type Result, type Signer } from '../dist/src/client/index.js';
import { MESSAGE_BYTES, OFF_SIGNATURE, OFF_SIGNER, ROLE_PARTICIPANT } from '../dist/src/codec/record.js';
import { fromHex, toHex } from '../dist/src/crypto/bytes.js';
import { initChain } from '../dist/src/chain/init.js';
import { verifyChain } from '../dist/src/chain/verify.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';

const require = createRequire(import.meta.url);
const smCrypto = require('sm-crypto') as {
  sm2: { doVerifySignature(msg: number[], sig: string, pub: string, opts: object): boolean };
};

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** What the static server hands out: the package's build output and this test's page. */
const SERVED = ['/dist/', '/build/', '/test/browser/'];
const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const INSTALL_HINT = 'install Debian\'s Chromium (apt-get install -y --no-install-recommends chromium) ' +
  'or set CHROMIUM_PATH to a Chromium binary';

function findChromium(): { path?: string; tried: string[] } {
  const tried = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const p of tried) {
    try {
      accessSync(p, constants.X_OK);
      return { path: p, tried };
    } catch {
      // next
    }
  }
  return { tried };
}

interface Served { path: string; status: number; type: string }

/** A static file server on 127.0.0.1 for SERVED paths under the package root; logs each request. */
async function staticServer(log: Served[]): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (status: number, type: string, body: Uint8Array | string) => {
      log.push({ path, status, type });
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
    const rel = path === '/' ? '/test/browser/index.html' : path;
    const file = resolve(ROOT, '.' + rel);
    if (!SERVED.some((p) => rel.startsWith(p)) || !file.startsWith(ROOT + sep)) return send(403, 'text/plain', 'forbidden');
    try {
      send(200, MIME[extname(file)] ?? 'application/octet-stream', await readFile(file));
    } catch {
      send(404, 'text/plain', 'not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Loaded {
  loadMs: number;
  publicKey: string;
  keyId: string;
  globals: Record<string, string>;
}
interface Ran {
  chainId: number;
  created: Result[];
  moved: Result[];
  pong: true | string;
  records: { accountA: string; accountB: string; transfer: string; forged: string };
  resources: string[];
}

const chromiumFound = findChromium();
const CHROMIUM = chromiumFound.path;

if (CHROMIUM === undefined) {
  const why = `no Chromium found (tried ${chromiumFound.tried.join(', ')})`;
  if (IN_CI) {
    describe('client SDK in Chromium (CI)', () => {
      it('needs Chromium in CI', () => {
        throw new Error(`${why}. CI must run the browser test: ${INSTALL_HINT}.`);
      });
    });
  } else {
    console.warn(`test/browser.test.ts skipped: ${why}. To run it, ${INSTALL_HINT}.`);
  }
}

describe.runIf(CHROMIUM !== undefined)('client SDK in Chromium', () => {
  const ACCOUNT_A = 7001n;
  const ACCOUNT_B = 7002n;
  const TRANSFER = 9001n;
  const FORGED = 9002n;
  const AMOUNT = 5n;

  let dir: string;
  let node: RunningNode | undefined;
  let admin: Signer;
  let chainId: number;
  let files: { server: Server; url: string } | undefined;
  const served: Served[] = [];
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let loaded: Loaded | undefined;
  let ran: Ran | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gmledger-browser-'));
    const init = await initChain({ dir, chainId: 5151 });
    admin = init.admin;
    chainId = init.config.chainId;
    node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, blockMs: 5 }, () => undefined);
    files = await staticServer(served);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
    await page.goto(`${files.url}/`);
    await page.waitForFunction('window.gmReady === true', undefined, { timeout: 10_000 });
  });

  afterAll(async () => {
    await browser?.close();
    if (files) await new Promise((r) => files!.server.close(r));
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports the SDK as native modules, loads the WASM core with fetch, and makes an SM2 key pair', async () => {
    loaded = await page.evaluate('window.gm.load()') as Loaded;
    // A plain browser page: none of Node's globals exist there.
    expect(loaded.globals).toEqual({ Buffer: 'undefined', process: 'undefined', require: 'undefined', WebSocket: 'function' });
    const pk = fromHex(loaded.publicKey);
    expect(pk.length).toBe(65);
    expect(pk[0]).toBe(4);
    // The key id is SM3(public key): check with OpenSSL's SM3 (node:crypto), not the WASM one.
    expect(loaded.keyId).toBe(createHash('sm3').update(pk).digest('hex'));
    // The core came from build/ next to dist/, with the WASM MIME type.
    expect(served).toContainEqual({ path: '/build/gmledger.wasm', status: 200, type: 'application/wasm' });
    expect(served.filter((s) => s.status !== 200 && s.status !== 204)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('authenticates over the browser WebSocket and submits browser-signed records that the node accepts', async () => {
    expect(loaded, 'the page loaded the SDK').toBeDefined();
    const { server } = node!;
    // The node's admin registers the browser's key as a participant.
    const c = await Client.connect(server.url, { signer: authSigner(admin) });
    const [rk] = await c.submitBatch([
      records.registerKey({ chainId, id: 100n, publicKey: fromHex(loaded!.publicKey), roles: ROLE_PARTICIPANT }, admin),
    ]);
    expect(rk.result).toBe('ok');
    await c.close();

    const args = {
      url: server.url, accountA: ACCOUNT_A.toString(), accountB: ACCOUNT_B.toString(),
      transferId: TRANSFER.toString(), forgedId: FORGED.toString(), amount: AMOUNT.toString(),
    };
    ran = await page.evaluate(`window.gm.run(${JSON.stringify(args)})`) as Ran;
    expect(ran.chainId).toBe(chainId);
    expect(ran.created.map((r) => r.result)).toEqual(['ok', 'ok']);
    expect(ran.moved.map((r) => r.result)).toEqual(['ok', 'bad_signature']);
    expect(ran.pong).toBe(true);
    // The browser's WebSocket was used: the Node fallback module was never even fetched.
    expect(ran.resources).toContain('/dist/src/client/index.js');
    expect(ran.resources).not.toContain('/dist/src/client/node-websocket.js');
    expect(pageErrors).toEqual([]);

    // On the node: the accounts exist, controlled by the browser's key, and the transfer moved.
    const get = async (path: string) => {
      const r = await fetch(server.httpUrl + path);
      return { status: r.status, json: r.status === 200 ? await r.json() as Record<string, unknown> : undefined };
    };
    expect((await get(`/accounts/${ACCOUNT_A}`)).json).toMatchObject({
      id: ACCOUNT_A.toString(), controller: loaded!.keyId, debitsPosted: AMOUNT.toString(), creditsPosted: '0',
    });
    expect((await get(`/accounts/${ACCOUNT_B}`)).json).toMatchObject({
      id: ACCOUNT_B.toString(), controller: loaded!.keyId, debitsPosted: '0', creditsPosted: AMOUNT.toString(),
    });
    const t = ran.moved[0];
    expect((await get(`/transactions/${TRANSFER}`)).json).toMatchObject({ height: t.height, index: t.index, code: 0 });
    // The block holds exactly the bytes the browser signed.
    expect((await get(`/proofs/${t.height}/${t.index}`)).json).toMatchObject({ record: ran.records.transfer });
    expect((await get(`/transactions/${FORGED}`)).status).toBe(404);
  });

  it('signs records that an independent SM2 implementation (sm-crypto) verifies', () => {
    expect(ran, 'the browser submitted its records').toBeDefined();
    const pub = loaded!.publicKey;
    const verify = (hex: string) => {
      const rec = fromHex(hex);
      expect(toHex(rec.subarray(OFF_SIGNER, OFF_SIGNER + 32))).toBe(loaded!.keyId);
      const msg = Array.from(rec.subarray(0, MESSAGE_BYTES));
      const sig = toHex(rec.subarray(OFF_SIGNATURE, OFF_SIGNATURE + 64));
      return smCrypto.sm2.doVerifySignature(msg, sig, pub, { hash: true, der: false });
    };
    const { accountA, accountB, transfer, forged } = ran!.records;
    expect([accountA, accountB, transfer].map(verify)).toEqual([true, true, true]);
    expect(verify(forged)).toBe(false);
  });

  it('leaves a chain that verifies, with the browser records in it', async () => {
    expect(ran, 'the browser submitted its records').toBeDefined();
    await node!.stop();
    node = undefined;
    const report = await verifyChain(dir);
    expect(report.ok, report.error).toBe(true);
    expect(report.height).toBeGreaterThanOrEqual(ran!.moved[0].height);
    expect(report.records).toBeGreaterThanOrEqual(4); // register_key, two accounts, the transfer
  });
});
