// Docs whose examples run: every ```ts / ```js block in README.md and docs/*.md runs as an
// ES module in a child `node`, so the examples cannot go stale.
//
// - Info string: ```ts (runs), ```ts fragment (not run: signatures, listings, pseudo-code),
//   ```ts continues (runs appended to the file's previous runnable block, as one module:
//   a walkthrough split by prose).
// - Each block runs exactly as written (the examples are in the JS subset of TypeScript, so
//   a reader can paste one into a .mjs file), from a fresh folder that has
//   node_modules/gmledger → this repository: `import 'gmledger'`,
//   'gmledger/client', … resolve through package.json "exports" to dist/, as in a project
//   that installed the package. The folder is the block's working directory (an example
//   that calls initChain({ dir: './data' }) gets an empty one).
// - A block that mentions GMLEDGER_URL or GMLEDGER_HTTP talks to a node: it runs in the
//   folder whose ./data is the chain of a node this test starts (the layout `npm start`
//   makes: ./data/keys holds admin.key, admin.pub, …; plus gateway.key/.pub, a key the node
//   lists with --gateway), with GMLEDGER_URL / GMLEDGER_HTTP set to the node's WebSocket and
//   HTTP URLs. These run one after another, as a reader would run them against one node;
//   the others run a few at a time (describe.concurrent).
// - DOCS_TEST_VERBOSE=1 prints what each example prints.
// A block fails the test, named by file and line, when it throws, exits non-zero, or prints
// the name of a refusal (a result code other than ok: e.g. `exists` from reused ids).

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initChain } from '../dist/src/chain/init.js';
import { generateSigner } from '../dist/src/client/index.js';
import { ResultCode } from '../dist/src/codec/results.js';
import { toHex } from '../dist/src/crypto/bytes.js';
import { runNode, type RunningNode } from '../dist/src/server/cli-start.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Docs not covered here: consortium.md is another suite's, benchmarks.md only has shell. */
const EXCLUDED = new Set(['docs/consortium.md', 'docs/benchmarks.md']);
const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  .filter((f) => !EXCLUDED.has(f));
const RUN_TIMEOUT_MS = 30_000;
const URL_VAR = 'GMLEDGER_URL';
const HTTP_VAR = 'GMLEDGER_HTTP';
const REFUSALS = new RegExp(`\\b(${Object.keys(ResultCode).filter((n) => n !== 'ok').join('|')})\\b`);

interface Block {
  file: string;
  line: number; // of the opening fence, 1-based
  lang: string;
  flags: string[];
  code: string; // what runs: the body, after the blocks it continues
}

function extract(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  let prev: Block | undefined; // the previous runnable ts/js block of the file
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end >= lines.length) throw new Error(`${file}:${start + 1}: unclosed code fence`);
    i = end;
    const lang = open[1];
    if (lang !== 'ts' && lang !== 'js') continue;
    const flags = open[2].trim().split(/\s+/).filter(Boolean);
    const body = lines.slice(start + 1, end).join('\n') + '\n';
    const unknown = flags.filter((f) => f !== 'fragment' && f !== 'continues');
    if (unknown.length > 0) throw new Error(`${file}:${start + 1}: unknown info string ${unknown.join(' ')}`);
    let code = body;
    if (flags.includes('continues')) {
      if (!prev) throw new Error(`${file}:${start + 1}: 'continues' with no runnable block before it`);
      code = prev.code + body;
    }
    const b: Block = { file, line: start + 1, lang, flags, code };
    out.push(b);
    if (!flags.includes('fragment')) prev = b;
  }
  return out;
}

const BLOCKS = FILES.flatMap(extract);
const RUNNABLE = BLOCKS.filter((b) => !b.flags.includes('fragment'));
const needsNode = (b: Block) => b.code.includes(URL_VAR) || b.code.includes(HTTP_VAR);

/** Runs `js` as <dir>/<name>.mjs with cwd `dir`; resolves with the exit code and output. */
function runModule(dir: string, name: string, js: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; signal: string | null; out: string }>((done, fail) => {
    const path = join(dir, `${name}.mjs`);
    writeFile(path, js).then(() => {
      const child = spawn(process.execPath, [path], { cwd: dir, env: { ...process.env, ...env }, stdio: 'pipe' });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      const timer = setTimeout(() => { out += `\n(killed after ${RUN_TIMEOUT_MS} ms)`; child.kill('SIGKILL'); },
        RUN_TIMEOUT_MS);
      child.on('error', fail);
      child.on('close', (code, signal) => { clearTimeout(timer); done({ code, signal, out }); });
    }, fail);
  });
}

describe('docs: every ts/js example runs', () => {
  let work: string;
  let nodeDir: string;
  let node: RunningNode | undefined;
  let url = '';
  let http = '';

  /** A fresh working folder in which `import 'gmledger'` resolves to this repository. */
  async function folder(name: string): Promise<string> {
    const dir = join(work, name);
    await mkdir(join(dir, 'node_modules'), { recursive: true });
    await symlink(ROOT, join(dir, 'node_modules', 'gmledger'), 'dir');
    return dir;
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gmledger-docs-'));
    nodeDir = await folder('node');
    if (RUNNABLE.some(needsNode)) {
      const dir = join(nodeDir, 'data');
      await initChain({ dir });
      const gw = generateSigner();
      await writeFile(join(dir, 'keys', 'gateway.key'), toHex(gw.privateKey) + '\n', { mode: 0o600 });
      await writeFile(join(dir, 'keys', 'gateway.pub'), toHex(gw.publicKey) + '\n');
      const gateways = [gw.keyId];
      node = await runNode({ dir, host: '127.0.0.1', port: 0, gateways, limits: {}, blockMs: 5 }, () => undefined);
      url = node.server.url;
      http = node.server.httpUrl;
    }
  }, 30_000);
  afterAll(async () => {
    await node?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('finds the examples, and few of them are fragments', () => {
    expect(RUNNABLE.length).toBeGreaterThanOrEqual(8);
    expect(BLOCKS.length - RUNNABLE.length).toBeLessThanOrEqual(3);
  });

  async function check(where: string, b: Block): Promise<void> {
    const name = where.replace(/[^A-Za-z0-9]+/g, '-');
    const dir = needsNode(b) ? nodeDir : await folder(name);
    const r = await runModule(dir, name, b.code, { [URL_VAR]: url, [HTTP_VAR]: http });
    if (process.env.DOCS_TEST_VERBOSE) console.log(`${where}:\n${r.out}`);
    if (r.code !== 0) throw new Error(`${where}: the example exited with ${r.code ?? r.signal}:\n${r.out}`);
    const refused = REFUSALS.exec(r.out);
    if (refused) throw new Error(`${where}: the example printed a refusal (${refused[1]}):\n${r.out}`);
  }
  const cases = (node: boolean) =>
    RUNNABLE.filter((b) => needsNode(b) === node).map((b) => [`${b.file}:${b.line}`, b] as const);
  const TIMEOUT = RUN_TIMEOUT_MS + 5_000;

  describe.concurrent('blocks on their own', () => {
    it.each(cases(false))('%s', check, TIMEOUT);
  });
  describe.sequential('blocks against the node', () => {
    it.each(cases(true))('%s', check, TIMEOUT);
  });
});
