// The web console's static files (docs/console.md), served by the node itself: `GET /` is
// the console's page; `/console/<file>` its scripts and styles, the client SDK as native ES
// modules (`/console/dist/src/…`, only the modules the SDK and the console import), the WASM
// core (`/console/build/gmledger.wasm`, where the SDK looks for it) and uPlot
// (`/console/vendor/…`). Everything is read once, when the node starts, into a map keyed by
// URL path: a request is answered from the map or not at all, so no path a client sends ever
// reaches the file system (no traversal), and the total is bounded by CONSOLE_BYTES_MAX.
// The console uses only the node's public HTTP and WebSocket APIs; nothing here is an API.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UwsResponse } from '../../native/uws.js';

/** Bound on everything the console serves together (the SDK, the core, uPlot, the page). */
export const CONSOLE_BYTES_MAX = 8 * 1024 * 1024;
/** Modules of the SDK the console imports; the rest of their import closure comes along. */
const SDK_ENTRIES = ['client/index.js', 'crypto/index.js', 'codec/block.js', 'codec/record.js', 'crypto/sm2.js'];
const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The page may load scripts, styles and the WASM core from this node only, and talk only to
 * this node (HTTP and its WebSocket): a key loaded into the console can be sent nowhere else.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface ConsoleFile {
  body: Buffer;
  type: string;
}

/** The package root: dist/src/server/console-static.js is three levels below it. */
function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Relative imports (static, re-exports and dynamic) of an ES module's text. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)?)['"](\.{1,2}\/[^'"]+\.js)['"]/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1]);
  return out;
}

/** The SDK modules the console needs: SDK_ENTRIES and everything they import, under dist/src. */
function sdkModules(srcDir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const todo = [...SDK_ENTRIES];
  while (todo.length > 0) {
    const rel = posix.normalize(todo.pop()!);
    if (found.has(rel) || rel.startsWith('..')) continue;
    const body = readFileSync(join(srcDir, rel));
    found.set(rel, body);
    for (const spec of relativeImports(body.toString('utf8'))) todo.push(posix.join(posix.dirname(rel), spec));
  }
  return found;
}

/**
 * The console's files, by URL path. Empty when the package has no console/ folder, or when
 * a file it needs cannot be read: the node then serves no console (and says so on stderr),
 * but still starts.
 */
export function loadConsole(root = packageRoot()): Map<string, ConsoleFile> {
  if (!existsSync(join(root, 'console'))) return new Map();
  try {
    return readConsole(root);
  } catch (e) {
    console.warn(`gmledger: the web console is not served: ${(e as Error).message}`);
    return new Map();
  }
}

function readConsole(root: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const dir = join(root, 'console');
  let total = 0;
  const add = (path: string, body: Buffer) => {
    const ext = posix.extname(path);
    const type = TYPES[ext];
    if (type === undefined) return;
    total += body.length;
    if (total > CONSOLE_BYTES_MAX) throw new RangeError(`console: more than ${CONSOLE_BYTES_MAX} bytes to serve`);
    files.set(path, { body, type });
  };
  for (const name of readdirSync(dir)) {
    if (/^[a-z0-9][a-z0-9._-]*$/.test(name)) add(`/console/${name}`, readFileSync(join(dir, name)));
  }
  for (const [rel, body] of sdkModules(join(root, 'dist', 'src'))) add(`/console/dist/src/${rel}`, body);
  add('/console/build/gmledger.wasm', readFileSync(join(root, 'build', 'gmledger.wasm')));
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  for (const name of UPLOT_FILES) add(`/console/vendor/${name}`, readFileSync(join(uplot, name)));
  const index = files.get('/console/index.html');
  if (index !== undefined) files.set('/', index);
  return files;
}

/** Writes a console file (GET, or HEAD without the body). Synchronous: called inside uWS's handler. */
export function writeConsoleFile(res: UwsResponse, file: ConsoleFile, head: boolean): void {
  res.writeStatus('200 OK').writeHeader('content-type', file.type)
    .writeHeader('cache-control', 'no-cache')
    .writeHeader('x-content-type-options', 'nosniff')
    .writeHeader('referrer-policy', 'no-referrer');
  if (file.type.startsWith('text/html')) res.writeHeader('content-security-policy', CONSOLE_CSP);
  if (head) res.endWithoutBody(file.body.length);
  else res.end(file.body);
}
