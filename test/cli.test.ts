// The command line refuses what it does not understand, by name, and never takes an option
// for a directory: -h/--help on every subcommand, --version, unknown options and commands,
// numeric options with their bounds, and a folder without a chain.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['dist/src/cli.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('gmledger CLI', () => {
  it('answers --help and --version, and -h/--help on every subcommand, with exit 0', () => {
    expect(cli('--help')).toMatchObject({ code: 0, out: expect.stringContaining('gmledger init <dir>') });
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(cli('--version')).toMatchObject({ code: 0, out: `${version}\n` });
    for (const sub of ['start', 'bench']) expect(cli(sub, '--help'), sub).toMatchObject({ code: 0, out: expect.stringContaining(`gmledger ${sub} [options]`) });
    for (const sub of ['init', 'verify', 'info']) {
      for (const h of ['--help', '-h']) expect(cli(sub, h), `${sub} ${h}`).toMatchObject({ code: 0, out: expect.stringContaining(`gmledger ${sub} <dir>`) });
    }
    expect(existsSync('--help')).toBe(false); // never taken for a directory
  });

  it('refuses unknown commands and options, bad numbers and missing chains, naming them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gmledger-cli-'));
    expect(cli('frob')).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "frob"') });
    expect(cli('init', join(dir, 'x'), '--bogus')).toMatchObject({ code: 2, err: expect.stringContaining("'--bogus'") });
    expect(cli('init')).toMatchObject({ code: 2, err: expect.stringContaining('needs a <dir>') });
    expect(cli('init', join(dir, 'x'), '--chain-id', '4294967296')).toMatchObject({ code: 2, err: expect.stringContaining('--chain-id must be an integer in [0, 4294967295]') });
    expect(cli('verify', dir, '--threads', 'abc')).toMatchObject({ code: 2, err: expect.stringContaining('--threads must be an integer in [1, 256], got "abc"') });
    expect(cli('start', '--limit', 'FOO=3')).toMatchObject({ code: 2, err: expect.stringContaining('unknown limit FOO') });
    expect(cli('start', '--block-records', '100000')).toMatchObject({ code: 2, err: expect.stringContaining('--block-records must be an integer in [1, 65536]') });
    expect(cli('verify', join(dir, 'none'))).toMatchObject({ code: 1, err: expect.stringContaining('holds no gmledger chain') });
    expect(cli('info', join(dir, 'none'))).toMatchObject({ code: 1, err: expect.stringContaining('holds no gmledger chain') });
    expect(existsSync(join(dir, 'x'))).toBe(false);
    // And the real thing still works.
    const chain = join(dir, 'chain');
    expect(cli('init', chain, '--chain-id', '31')).toMatchObject({ code: 0, out: expect.stringContaining('"chainId": 31') });
    expect(cli('verify', chain, '--threads', '1')).toMatchObject({ code: 0, out: expect.stringContaining('"ok": true') });
    expect(cli('info', chain)).toMatchObject({ code: 0, out: expect.stringContaining('"chainId": 31') });
  });

  it('info reads a chain a running ledger holds; a second writer is told the chain is in use', async () => {
    const { Ledger } = await import('../dist/src/ledger/ledger.js');
    const dir = join(mkdtempSync(join(tmpdir(), 'gmledger-cli-')), 'chain');
    expect(cli('init', dir, '--chain-id', '32').code).toBe(0);
    const ledger = await Ledger.open({ dir });
    try {
      const r = cli('info', dir);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ chainId: 32, height: 0 });
      await expect(Ledger.open({ dir })).rejects.toThrow(/is in use by another process/);
    } finally {
      await ledger.close();
    }
  });
});

describe('gmledger keygen', () => {
  it('writes a 0600 private key and a public key, prints the key id, and never overwrites', async () => {
    const { statSync } = await import('node:fs');
    const { sm3 } = await import('../dist/src/crypto/hash.js');
    const base = join(mkdtempSync(join(tmpdir(), 'gmledger-keygen-')), 'gw');
    const r = cli('keygen', base);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { keyId: string };
    const pub = readFileSync(`${base}.pub`, 'utf8').trim();
    expect(out.keyId).toBe(Buffer.from(sm3(Buffer.from(pub, 'hex'))).toString('hex'));
    expect(readFileSync(`${base}.key`, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(`${base}.key`).mode & 0o777).toBe(0o600);
    const again = cli('keygen', base);
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists: keygen never overwrites a key');
    expect(cli('keygen')).toMatchObject({ code: 2, err: expect.stringContaining('keygen needs a <file>') });
  });
});

describe('the node key file', () => {
  it('a missing, group-readable, empty or malformed node.key is refused by name', async () => {
    const { Ledger } = await import('../dist/src/ledger/ledger.js');
    const { chmod, rm, writeFile } = await import('node:fs/promises');
    const dir = join(mkdtempSync(join(tmpdir(), 'gmledger-key-')), 'chain');
    expect(cli('init', dir).code).toBe(0);
    const key = join(dir, 'keys', 'node.key');
    const good = readFileSync(key, 'utf8');
    await chmod(key, 0o644);
    await expect(Ledger.open({ dir })).rejects.toThrow(/node\.key: the node's private key is readable by other users \(mode 644\); run chmod 600/);
    await writeFile(key, '', { mode: 0o600 });
    await chmod(key, 0o600);
    await expect(Ledger.open({ dir })).rejects.toThrow(/node\.key: not a node key \(expected 64 hex characters, found an empty file\)/);
    await writeFile(key, 'zz'.repeat(32));
    await expect(Ledger.open({ dir })).rejects.toThrow(/not a node key/);
    await rm(key);
    await expect(Ledger.open({ dir })).rejects.toThrow(/node\.key: cannot read the node key \(ENOENT\)/);
    await writeFile(key, good, { mode: 0o600 });
    const ledger = await Ledger.open({ dir });
    await ledger.close();
  });
});
