// The second tier for `gmledger cluster up --national` (docs/toll.md, "Two tiers"): a
// national chain beside the local (provincial) consortium, one `gmledger start` node, and an
// anchorer that every `anchorEveryMs` puts the provincial chain's latest final header into
// it as an anchor record (src/apps/toll/sdk.ts tollAnchorRecord) signed by provincial node 1's
// key, which the national chain registers. A trip on the provincial chain is then provable
// against the national chain alone (verifyTollCrossProof).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { initChain } from '../chain/init.js';
import { Client, authSigner } from '../client/index.js';
import { records } from '../codec/builders.js';
import { ROLE_PARTICIPANT } from '../codec/record.js';
import { fromHex } from '../crypto/bytes.js';
import { tollAnchorRecord } from '../apps/toll/sdk.js';
import { readSigner } from './cli-business.js';

export const ANCHOR_EVERY_MS_DEFAULT = 5_000;

export interface NationalTier {
  url: string;
  http: string;
  dir: string;
  chainId: number;
  pid: number;
  /** The provincial height last anchored (−1: none yet). */
  anchoredHeight(): number;
  stop(): Promise<void>;
}

/** `gmledger start` on `dir`; resolves with its URLs once it prints its listening line. */
function startNode(cli: string, dir: string): Promise<{ proc: ChildProcess; url: string; http: string }> {
  const proc = spawn(process.execPath, [cli, 'start', '--dir', dir, '--port', '0', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      try {
        const j = JSON.parse(l) as { event?: string; url?: string; http?: string };
        if (j.event === 'listening' && j.url && j.http) resolve({ proc, url: j.url, http: j.http });
      } catch { /* a log line */ }
    });
    proc.on('exit', (code) => reject(new Error(`the national node exited (${code}) before listening`)));
  });
}

/**
 * Starts the national chain in `<base>/national` (made on first use) and the anchorer from
 * the provincial node at `provincialHttp` (its chain directory `provincialDir`).
 */
export async function startNationalTier(o: {
  base: string; cli: string; provincialDir: string; provincialHttp: string; anchorEveryMs?: number;
  log?: (line: string) => void;
}): Promise<NationalTier> {
  const dir = join(o.base, 'national');
  if (!existsSync(join(dir, 'db'))) await initChain({ dir });
  const admin = await readSigner(join(dir, 'keys', 'admin.key'));
  const provincial = await readSigner(join(o.provincialDir, 'keys', 'node.key'));
  const node = await startNode(o.cli, dir);
  const chainId = ((await (await fetch(`${node.http}/status`)).json()) as { chainId: number }).chainId;
  const adminClient = await Client.connect(node.url, { signer: authSigner(admin) });
  const [reg] = await adminClient.submitBatch([records.registerKey({
    chainId, id: 10n, publicKey: provincial.publicKey, roles: ROLE_PARTICIPANT,
  }, admin)]);
  await adminClient.close();
  if (!reg.ok && reg.result !== 'exists') throw new Error(`registering the provincial node key: ${reg.result}`);
  const client = await Client.connect(node.url, { signer: authSigner(provincial) });
  let anchored = -1;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const status = await (await fetch(`${o.provincialHttp}/status`)).json() as {
        finalHeight?: number; height: number;
      };
      // A consortium anchors only final (certified) headers; a single node's durable one is final.
      const h = status.finalHeight ?? status.height;
      if (h <= anchored) return;
      const block = await (await fetch(`${o.provincialHttp}/blocks/${h}`)).json() as { headerBytes: string };
      const [r] = await client.submitBatch([tollAnchorRecord(fromHex(block.headerBytes), chainId, provincial)]);
      if (!r.ok && r.result !== 'exists') throw new Error(r.result);
      anchored = h;
      o.log?.(`anchored provincial block ${h} in national block ${r.height}`);
    } catch (e) {
      o.log?.(`anchoring failed (will retry): ${(e as Error).message}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => { void tick(); }, o.anchorEveryMs ?? ANCHOR_EVERY_MS_DEFAULT);
  void tick();
  return {
    url: node.url, http: node.http, dir, chainId, pid: node.proc.pid!,
    anchoredHeight: () => anchored,
    async stop() {
      clearInterval(timer);
      await client.close().catch(() => undefined);
      const exited = new Promise((r) => node.proc.once('exit', r));
      node.proc.kill('SIGTERM');
      await exited;
    },
  };
}
