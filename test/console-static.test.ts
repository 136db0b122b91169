// The web console's static files as the node serves them (src/server/console-static.ts),
// without a browser: what is loaded at start (the page, the SDK's import closure, the WASM
// core, uPlot) and nothing else; the headers; `console: false`; paths that must not reach
// the file system. test/console.test.ts drives the page itself in Chromium.

import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONSOLE_BYTES_MAX, CONSOLE_CSP, loadConsole } from '../dist/src/server/console-static.js';
import { initChain } from '../dist/src/chain/init.js';
import { runNode } from '../dist/src/server/cli-start.js';
import { startNode } from './server-fixtures.js';

describe('web console files', () => {
  const files = loadConsole();

  it('loads the page, its modules, the SDK closure, the WASM core and uPlot, within the bound', () => {
    for (const p of ['/', '/console/index.html', '/console/app.js', '/console/verify.js', '/console/console.css',
      '/console/dist/src/client/index.js', '/console/dist/src/client/client.js', '/console/dist/src/crypto/wasm.js',
      '/console/dist/src/codec/block.js', '/console/dist/src/codec/certificate.js', '/console/build/gmledger.wasm',
      '/console/vendor/uPlot.iife.min.js', '/console/vendor/uPlot.min.css']) {
      expect(files.has(p), p).toBe(true);
    }
    expect(files.get('/')).toBe(files.get('/console/index.html'));
    expect(files.get('/console/build/gmledger.wasm')!.type).toBe('application/wasm');
    // Exactly the bytes of the package's files.
    expect(files.get('/console/app.js')!.body.equals(readFileSync('console/app.js'))).toBe(true);
    // Only what the SDK imports: no server, ledger or store code, no maps or declarations.
    const paths = [...files.keys()];
    expect(paths.filter((p) => /\/(server|ledger|store|pipeline|consortium)\//.test(p))).toEqual([]);
    expect(paths.filter((p) => /\.(map|ts)$/.test(p))).toEqual([]);
    const total = [...new Set(files.values())].reduce((a, f) => a + f.body.length, 0);
    expect(total).toBeLessThanOrEqual(CONSOLE_BYTES_MAX);
  });

  it('a package without its console, or missing a file it needs, serves none (and the node still starts)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gmledger-console-static-'));
    try {
      expect(loadConsole(root).size).toBe(0); // no console/ folder
      await mkdir(join(root, 'console'));
      await writeFile(join(root, 'console', 'index.html'), '<!doctype html>');
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      expect(loadConsole(root).size).toBe(0); // no dist/ beside it
      expect(warn.mock.calls[0][0]).toMatch(/^gmledger: the web console is not served: /);
      warn.mockRestore();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('every console module the page imports is served', () => {
    const imports = (text: string) => [...text.matchAll(/from '\.\/([^']+)'/g)].map((m) => `/console/${m[1]}`);
    for (const p of [...files.keys()].filter((k) => /^\/console\/[a-z-]+\.js$/.test(k))) {
      for (const dep of imports(files.get(p)!.body.toString())) expect(files.has(dep), `${p} imports ${dep}`).toBe(true);
    }
  });

  describe('served by a node', () => {
    let on: Awaited<ReturnType<typeof startNode>>;
    let off: Awaited<ReturnType<typeof startNode>>;
    beforeAll(async () => {
      on = await startNode();
      off = await startNode({}, { console: false });
    });
    afterAll(async () => {
      await on?.close();
      await off?.close();
    });

    it('answers GET and HEAD with the file, its type, no-cache, nosniff and (the page) the CSP', async () => {
      const r = await fetch(on.server.httpUrl + '/');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(await r.text()).toBe(files.get('/')!.body.toString());
      const h = await fetch(on.server.httpUrl + '/console/build/gmledger.wasm', { method: 'HEAD' });
      expect([h.status, h.headers.get('content-length')]).toEqual([200, String(files.get('/console/build/gmledger.wasm')!.body.length)]);
      expect((await fetch(on.server.httpUrl + '/console/app.js')).headers.get('content-security-policy')).toBeNull();
    });

    it('answers 404 for anything not loaded at start, and the API is unchanged', async () => {
      for (const p of ['/console', '/console/', '/console/nope.js', '/console/dist/src/server/node-server.js',
        '/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/dist/src/client/index.js.map',
        '/console//app.js', '/CONSOLE/app.js', '/index.html']) {
        const r = await fetch(on.server.httpUrl + p);
        expect(r.status, p).toBe(404);
        expect(await r.json(), p).toEqual({ error: 'not_found' });
      }
      expect((await fetch(on.server.httpUrl + '/status')).status).toBe(200);
      expect((await fetch(on.server.httpUrl + '/', { method: 'POST' })).status).toBe(405);
    });

    it('serves nothing with console: false, and gmledger start --no-console passes it', async () => {
      expect((await fetch(off.server.httpUrl + '/')).status).toBe(404);
      expect((await fetch(off.server.httpUrl + '/console/app.js')).status).toBe(404);
      const dir = await mkdtemp(join(tmpdir(), 'gmledger-no-console-'));
      try {
        await initChain({ dir });
        const node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, noConsole: true },
          () => undefined);
        const [page, status] = [await fetch(node.server.httpUrl + '/'), await fetch(node.server.httpUrl + '/status')];
        await node.stop();
        expect([page.status, status.status]).toEqual([404, 200]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
