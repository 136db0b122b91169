// `gmledger console`: a REPL with the SDK loaded, connected and authenticated
// (docs/operations.md, "Business commands"); with piped input, a script run with the same
// names in scope. In scope: `client` (a connected Client), `signer` (the --key), `chainId`,
// `records`, `clearing` and every other gmledger/client export as `sdk`, `http(path)` (GET a
// node path as JSON), `submit(records)` (results as `name@height#index`), `id()` (a fresh
// random u128). Top-level await works; history persists in ~/.gmledger_history.

import { homedir } from 'node:os';
import { join } from 'node:path';
import repl from 'node:repl';
import * as sdk from '../client/index.js';
import type { Signer } from '../codec/builders.js';
import { toHex } from '../crypto/bytes.js';
import { randomId } from './cli-business.js';

const HISTORY_FILE = join(homedir(), '.gmledger_history');

export async function consoleCommand(url: string, signer: Signer, httpBase: string): Promise<number> {
  const client = await sdk.Client.connect(url, { signer: sdk.authSigner(signer) });
  // Signed with the console's key (sdk.httpGet), so it works on a node started with --http-auth.
  const auth = { signer: sdk.authSigner(signer), chainId: client.chainId };
  const http = (path: string): Promise<unknown> =>
    sdk.httpGet(httpBase, path.startsWith('/') ? path : `/${path}`, auth);
  const submit = async (recs: Uint8Array | Uint8Array[]): Promise<string[]> =>
    (await client.submitBatch(Array.isArray(recs) ? recs : [recs]))
      .map((r) => (r.height >= 0 ? `${r.result}@${r.height}#${r.index}` : r.result));
  const id = randomId;
  const scope = {
    client, signer, chainId: client.chainId, records: sdk.records, clearing: sdk.clearing, sdk, http, submit, id,
  };
  if (process.stdin.isTTY !== true) {
    // Piped input is a script: run it as one async function body with the same names in
    // scope, so each top-level await finishes before the next line (REPL commands dropped).
    try {
      await runScript(await readStdin(), scope);
    } finally {
      await client.close();
    }
    return 0;
  }
  const interactive = true;
  if (interactive) {
    console.log(`connected to ${url} (chain ${client.chainId}) as key ${toHex(signer.keyId).slice(0, 16)}…;` +
      ' in scope: client, signer, chainId, records, clearing, sdk, http(path), submit(records), id(). .exit to leave.');
  }
  // useGlobal: objects typed in the REPL must be this realm's (the builders refuse foreign prototypes).
  const server = repl.start({ prompt: interactive ? 'gmledger> ' : '', useGlobal: true, terminal: interactive });
  Object.assign(server.context, scope);
  if (interactive) server.setupHistory(HISTORY_FILE, () => undefined);
  await new Promise<void>((resolve) => server.on('exit', () => resolve()));
  await client.close();
  return 0;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text;
}

type AsyncFn = new (...args: string[]) => (...values: unknown[]) => Promise<unknown>;

async function runScript(text: string, scope: Record<string, unknown>): Promise<void> {
  const body = text.split('\n').filter((l) => !/^\s*\.[a-z]+\b/.test(l)).join('\n');
  const AsyncFunction = (async () => undefined).constructor as AsyncFn;
  await new AsyncFunction(...Object.keys(scope), body)(...Object.values(scope));
}
