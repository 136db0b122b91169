// Where `gmledger start`'s options come from: a TOML file (--config), environment variables
// (GMLEDGER_<NAME>) and flags. Each source becomes the same raw form, option name → its
// values as flag arguments (`port` → ['7301'], `gateway` → one per key, `limit` →
// ['NAME=n', …]), which cli-start validates and merges: flags > environment > file > defaults.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'smol-toml';

/**
 * How an option takes values: `value` one (the last given counts), `flag` on/off,
 * `list` one comma-separated list, `repeat` one value per occurrence, `limits` NAME=n pairs.
 */
export type OptionKind = 'value' | 'flag' | 'list' | 'repeat' | 'limits';

/** Every start option by its flag name without `--`, which is also its key in the file. */
export const START_OPTION_KINDS: Readonly<Record<string, OptionKind>> = {
  dir: 'value', dev: 'flag', host: 'value', port: 'value', 'chain-id': 'value', gateway: 'repeat',
  'block-ms': 'value', 'block-records': 'value', 'cors-origin': 'repeat', nats: 'list', replicas: 'value',
  limit: 'limits', 'verify-threads': 'value', backend: 'value', 'log-level': 'value', 'log-format': 'value',
  'tls-cert': 'value', 'tls-key': 'value', 'http-auth': 'flag', 'audit-anchor-s': 'value',
  'no-console': 'flag',
};

export type Source = 'default' | 'file' | 'env' | 'flag';

/** The kind of a start option, or undefined for a name that is not one. */
export function optionKind(name: string): OptionKind | undefined {
  return Object.hasOwn(START_OPTION_KINDS, name) ? START_OPTION_KINDS[name] : undefined;
}

/** One source's options: name → values as flag arguments, and how to name each in an error. */
export interface RawOptions {
  source: Source;
  values: Map<string, string[]>;
  /** `--port`, `GMLEDGER_PORT`, `port in /etc/gmledger.toml`. */
  label(name: string): string;
}

/** Bad configuration (a usage error: exit code 2). */
export class ConfigError extends Error {}

/** The environment variable of an option: GMLEDGER_ and its name in upper case, `-` as `_`. */
export function envName(name: string): string {
  return `GMLEDGER_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** The options set in the environment; other GMLEDGER_* variables (GMLEDGER_URL, …) are not the node's. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): RawOptions {
  const values = new Map<string, string[]>();
  for (const [name, kind] of Object.entries(START_OPTION_KINDS)) {
    const v = env[envName(name)];
    if (v === undefined || v === '') continue;
    if (kind === 'flag') {
      if (!/^(1|0|true|false)$/.test(v)) throw new ConfigError(`${envName(name)} must be 1, 0, true or false, got ${JSON.stringify(v)}`);
      values.set(name, [String(v === '1' || v === 'true')]);
    } else {
      values.set(name, kind === 'repeat' || kind === 'limits' ? v.split(',') : [v]);
    }
  }
  return { source: 'env', values, label: envName };
}

/** The options in a TOML file; an unknown key or a value of the wrong type is an error naming both. */
export function readConfigFile(path: string): RawOptions {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the configuration file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file}: not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  const values = new Map<string, string[]>();
  for (const [key, v] of Object.entries(doc)) {
    const kind = optionKind(key);
    if (kind === undefined) {
      throw new ConfigError(`${file}: unknown key ${JSON.stringify(key)} (the keys are the start options ` +
        `without --: ${Object.keys(START_OPTION_KINDS).join(', ')})`);
    }
    values.set(key, fileValues(kind, v, `${file}: ${key}`));
  }
  return { source: 'file', values, label: (name) => `${name} in ${file}` };
}

/** A file value as flag arguments, after checking its TOML type. */
function fileValues(kind: OptionKind, v: unknown, where: string): string[] {
  const scalar = (x: unknown): string => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' || typeof x === 'bigint') return String(x);
    throw new ConfigError(`${where} must be a string or a number, got ${JSON.stringify(x) ?? typeof x}`);
  };
  switch (kind) {
    case 'flag':
      if (typeof v !== 'boolean') throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(v)}`);
      return [String(v)];
    case 'value':
      return [scalar(v)];
    case 'list':
      return [Array.isArray(v) ? v.map(scalar).join(',') : scalar(v)];
    case 'repeat':
      return Array.isArray(v) ? v.map(scalar) : [scalar(v)];
    case 'limits':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new ConfigError(`${where} must be a table of limits, e.g. limit = { QUEUE_RECORDS_MAX = 65536 }`);
      }
      return Object.entries(v).map(([n, x]) => `${n}=${scalar(x)}`);
  }
}

/** The flags of `argv`, and the --config file they name; unknown options are errors. */
export function optionsFromArgv(argv: string[]): { raw: RawOptions; config?: string } {
  const values = new Map<string, string[]>();
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2) : '';
    const kind = name === 'config' ? 'value' : optionKind(name);
    if (kind === undefined) throw new ConfigError(`unknown option ${a}`);
    let v = 'true';
    if (kind !== 'flag') {
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`${a} needs a value`);
      v = next;
    }
    if (name === 'config') config = v;
    else if (kind === 'repeat' || kind === 'limits') values.set(name, [...(values.get(name) ?? []), v]);
    else values.set(name, [v]);
  }
  return { raw: { source: 'flag', values, label: (n) => `--${n}` }, config };
}
