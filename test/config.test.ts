// `gmledger start`'s configuration: a TOML file (--config), GMLEDGER_<NAME> environment
// variables and flags, in that order of precedence; `gmledger config` shows the result and
// where each value came from; the node's log is JSON lines on stderr (time, level, msg).
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { initChain } from '../dist/src/chain/init.js';
import { resolveStartOptions } from '../dist/src/server/cli-start.js';
import { prettyLine } from '../dist/src/server/log.js';

/** The environment without any GMLEDGER_* variable of the test runner's, plus `extra`. */
const envWith = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GMLEDGER_'))), ...extra,
});
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['dist/src/cli.js', ...args], { encoding: 'utf8', timeout: 60_000, env: envWith(env) });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tomlFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'gmledger-config-')), 'node.toml');
  writeFileSync(file, text);
  return file;
};
type Described = { config: string | null; options: Record<string, { value: unknown; source: string }> };

describe('gmledger config', () => {
  it('takes each option from the file, then the environment, then the flags (the highest wins)', () => {
    const file = tomlFile([
      'host = "127.0.0.2"', 'port = 7301', 'block-ms = 15', 'nats = ["nats://a:4222", "nats://b:4222"]',
      'limit = { QUEUE_RECORDS_MAX = 65536 }', 'gateway = ["' + 'ab'.repeat(32) + '"]', 'log-level = "warn"',
    ].join('\n'));
    const r = cli(['config', '--config', file, '--block-ms', '9', '--gateway', 'cd'.repeat(32)],
      { GMLEDGER_PORT: '7302', GMLEDGER_BLOCK_MS: '12', GMLEDGER_URL: 'ws://not-an-option' });
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out) as Described;
    expect(d.config).toBe(resolve(file));
    expect(d.options).toMatchObject({
      dir: { value: resolve('data'), source: 'default' },
      host: { value: '127.0.0.2', source: 'file' },
      port: { value: 7302, source: 'env' },
      'block-ms': { value: 9, source: 'flag' },
      nats: { value: ['nats://a:4222', 'nats://b:4222'], source: 'file' },
      limit: { value: { QUEUE_RECORDS_MAX: 65536 }, source: 'file' },
      gateway: { value: ['cd'.repeat(32)], source: 'flag' }, // the flag replaces the file's list
      'log-level': { value: 'warn', source: 'file' },
      'block-records': { value: 4096, source: 'default' },
    });
    // Every start option is listed, each with a value and a source.
    expect(Object.keys(d.options)).toEqual(expect.arrayContaining(['dev', 'chain-id', 'cors-origin', 'replicas', 'verify-threads', 'backend', 'log-format']));
    for (const [k, v] of Object.entries(d.options)) expect(['default', 'file', 'env', 'flag'], k).toContain(v.source);
    // Without a file or environment, everything is a default; --help answers with exit 0.
    const plain = JSON.parse(cli(['config']).out) as Described;
    expect(plain.config).toBeNull();
    expect(Object.values(plain.options).every((v) => v.source === 'default')).toBe(true);
    expect(cli(['config', '--help'])).toMatchObject({ code: 0, out: expect.stringContaining('gmledger config [start options]') });
  });

  it('the same precedence in resolveStartOptions, with GMLEDGER_CONFIG naming the file', () => {
    const file = tomlFile('port = 7301\ndev = true\nlimit = { QUEUE_RECORDS_MAX = 4096 }\n');
    const r = resolveStartOptions(['--port', '7303'], { GMLEDGER_CONFIG: file, GMLEDGER_PORT: '7302', GMLEDGER_DEV: 'false' });
    expect(r.options).toMatchObject({ port: 7303, dev: false, limits: { QUEUE_RECORDS_MAX: 4096 } });
    expect(r.sources).toEqual({ port: 'flag', dev: 'env', limit: 'file' });
    expect(r.config).toBe(resolve(file));
  });

  it('refuses an unknown key, a bad value or bad TOML, naming the key and the file (exit 2)', () => {
    const unknown = tomlFile('port = 7301\nprot = 7302\n');
    expect(cli(['config', '--config', unknown])).toMatchObject({ code: 2, err: expect.stringContaining(`${unknown}: unknown key "prot"`) });
    expect(cli(['start', '--config', unknown])).toMatchObject({ code: 2, err: expect.stringContaining(`${unknown}: unknown key "prot"`) });
    const badPort = tomlFile('port = 70000\n');
    expect(cli(['config', '--config', badPort])).toMatchObject({ code: 2, err: expect.stringContaining(`port in ${badPort} must be an integer in [0, 65535], got "70000"`) });
    const badType = tomlFile('dev = "yes"\n');
    expect(cli(['config', '--config', badType])).toMatchObject({ code: 2, err: expect.stringContaining(`${badType}: dev must be true or false`) });
    const badLimit = tomlFile('limit = { NO_SUCH_LIMIT = 1 }\n');
    expect(cli(['config', '--config', badLimit])).toMatchObject({ code: 2, err: expect.stringContaining(`limit in ${badLimit}: unknown limit NO_SUCH_LIMIT`) });
    const notToml = tomlFile('port = = 1\n');
    expect(cli(['config', '--config', notToml])).toMatchObject({ code: 2, err: expect.stringContaining(`${notToml}: not valid TOML`) });
    expect(cli(['config', '--config', join(tmpdir(), 'no-such-gmledger.toml')])).toMatchObject({ code: 2, err: expect.stringContaining('cannot read the configuration file') });
    expect(cli(['config'], { GMLEDGER_BLOCK_RECORDS: '0' })).toMatchObject({ code: 2, err: expect.stringContaining('GMLEDGER_BLOCK_RECORDS must be an integer in [1, 65536], got "0"') });
  });
});

describe('gmledger start --config', () => {
  it('listens on the configured port and logs JSON lines with time, level and msg on stderr', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gmledger-config-node-')), 'chain');
    await initChain({ dir, chainId: 41 });
    const file = tomlFile(`dir = ${JSON.stringify(dir)}\nport = 0\nhost = "127.0.0.1"\nlog-level = "info"\n`);
    const child = spawn(process.execPath, ['dist/src/cli.js', 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: envWith() });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const first = await new Promise<string>((res, rej) => {
      createInterface({ input: child.stdout }).once('line', res);
      void exited.then((code) => rej(new Error(`exited ${code}: ${err}`)));
    });
    const listening = JSON.parse(first) as { event: string; url: string; chainId: number; dir: string };
    expect(listening).toMatchObject({ event: 'listening', chainId: 41, dir });
    expect(listening.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    child.kill('SIGTERM');
    expect(await exited, err).toBe(0);
    const lines = err.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) {
      expect(typeof l.time, JSON.stringify(l)).toBe('string');
      expect(['trace', 'debug', 'info', 'warn', 'error']).toContain(l.level);
      expect(typeof l.msg).toBe('string');
    }
    expect(lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ level: 'info', msg: 'listening', chainId: 41, dir, url: listening.url, version: expect.any(String) }),
      expect.objectContaining({ level: 'info', msg: 'stopped' }),
    ]));
  });

  it('a failed start is an error line; pretty lines read time LEVEL msg key=value', () => {
    const r = cli(['start', '--dir', join(tmpdir(), 'gmledger-no-such-chain'), '--port', '0', '--log-format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.err.trim().split('\n').at(-1)!)).toMatchObject({ level: 'error', msg: expect.stringContaining('holds no gmledger chain') });
    expect(prettyLine('{"level":"warn","time":"2026-01-02T03:04:05.678Z","event":"alarm","detail":"two blocks","msg":"consortium alarm"}'))
      .toBe('03:04:05.678 WARN  consortium alarm event=alarm detail="two blocks"\n');
  });
});
