// `gmledger toll feed <file>`: replays a trip feed file (CSV or NDJSON, docs/toll.md "The
// feed") into a chain — embedded (--dir, the node not running) or through a node (--url) —
// with a progress bar, bad lines reported by number without losing the good ones, and
// resumable after a crash: the last acknowledged line is kept in a progress file, and trip
// ids are derived from the trips themselves, so whatever is sent twice is `exists`.

import { createReadStream, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { FeedError, csvHeader, parseFeedLine } from '../apps/toll/feed.js';
import { tollRecords } from '../apps/toll/sdk.js';
import type { Signer } from '../codec/builders.js';
import { concatRecords } from '../codec/record.js';
import { resultName } from '../codec/results.js';
import { vouchBatch } from '../codec/vouch.js';
import { BATCH_RECORDS_MAX } from '../ledger/sequencer.js';
import { LIMITS } from '../protocol/limits.js';
import { readSigner } from './cli-business.js';

export const TOLL_USAGE = `usage: gmledger toll feed <file> (--dir <dir> | --url <ws url>) --key <base> [options]
  replay a trip feed file (docs/toll.md, The feed): one trip record per good line, signed by the
  gateway key <base>.key (an operator key of the toll ledger; gmledger keygen makes one)
  --dir <dir>             the chain directory, opened in-process (no node may be running on it)
  --url <ws url>          or a running node's WebSocket address (ws://host:port/ws)
  --format csv|ndjson     default: from the file name (.csv, else NDJSON)
  --batch <n>             trips per submit, 1..8189 (default 1000; 1..1023 with --trusted --url)
  --trusted               trusted-gateway mode: one gateway signature per batch (a vouch group) instead of
                          one per trip; through a node, the node must list the key with --gateway
  --progress-file <file>  where the last acknowledged line is kept (default <file>.progress)
  --restart               ignore the progress file and start from line 1 (replays are still safe)
  --quiet                 no progress bar
  exit code: 0 every line applied (or already applied), 1 a bad line or a refused trip, 2 bad usage`;

interface Progress { line: number; ok: number; exists: number; refused: Record<string, number>; bad: number }

interface Sink { chainId: number; submit(records: Uint8Array[]): Promise<string[]>; close(): Promise<void> }

/** Where the trips go: the chain in-process or a node; `trusted`: as one vouch group per submit. */
async function openSink(values: Record<string, unknown>, signer: Signer): Promise<Sink> {
  const trusted = values.trusted === true;
  let vouchId = BigInt(Date.now()) << 20n;
  const group = (chainId: number, r: Uint8Array[]): Uint8Array =>
    vouchBatch(concatRecords(r), r.length, signer, { chainId, id: vouchId++ });
  if (typeof values.dir === 'string') {
    const { Ledger } = await import('../ledger/ledger.js');
    const ledger = await Ledger.open({ dir: values.dir });
    const chainId = ledger.info().chainId;
    return {
      chainId,
      submit: async (r) => trusted
        ? Array.from((await ledger.submitBatch(group(chainId, r), { trusted: true })).codes.subarray(1), resultName)
        : (await ledger.submit(r)).map((x) => x.name),
      close: () => ledger.close(),
    };
  }
  const { Client, authSigner } = await import('../client/index.js');
  const client = await Client.connect(String(values.url), { signer: authSigner(signer) });
  return {
    chainId: client.chainId,
    submit: async (r) => trusted
      ? (await client.submitBatch(group(client.chainId, r), { trusted: true })).slice(1).map((x) => x.result)
      : (await client.submitBatch(r)).map((x) => x.result),
    close: async () => { client.close(); },
  };
}

function saveProgress(file: string, p: Progress): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(p) + '\n');
  renameSync(`${file}.tmp`, file);
}

function bar(done: number, total: number, lines: number, startMs: number): void {
  const f = total === 0 ? 1 : Math.min(1, done / total);
  const rate = Math.round(lines / Math.max(0.001, (Date.now() - startMs) / 1000));
  process.stderr.write(`\r[${'#'.repeat(Math.round(f * 30)).padEnd(30, '.')}] ${(f * 100).toFixed(1)}% ` +
    `line ${lines} ${rate} lines/s `);
}

class Usage extends Error {}

function options(argv: string[]): { file: string; values: Record<string, string | boolean | undefined> } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true, options: {
        dir: { type: 'string' }, url: { type: 'string' }, key: { type: 'string' }, format: { type: 'string' },
        batch: { type: 'string' }, 'progress-file': { type: 'string' }, restart: { type: 'boolean' },
        quiet: { type: 'boolean' }, trusted: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) { throw new Usage((e as Error).message); }
  const { values, positionals } = parsed;
  if (values.help) return { file: '', values };
  if (positionals[0] !== 'feed' || positionals.length !== 2) throw new Usage('expected: toll feed <file>');
  if ((values.dir === undefined) === (values.url === undefined)) throw new Usage('give one of --dir and --url');
  if (values.key === undefined) throw new Usage('--key <base> is required');
  if (values.format !== undefined && values.format !== 'csv' && values.format !== 'ndjson') {
    throw new Usage('--format must be csv or ndjson');
  }
  // A trusted batch is one vouch group with its vouch: a ledger batch (BATCH_RECORDS_MAX) on --dir,
  // one frame (LIMITS.BATCH_RECORDS_MAX) through a node.
  const batchMax = (values.trusted && values.url !== undefined ? LIMITS.BATCH_RECORDS_MAX : BATCH_RECORDS_MAX) - 1;
  if (values.batch !== undefined && (!/^\d+$/.test(values.batch) || +values.batch < 1 || +values.batch > batchMax)) {
    throw new Usage(`--batch must be an integer in [1, ${batchMax}]`);
  }
  return { file: positionals[1], values };
}

/** The gmledger toll subcommand; resolves to the exit code. */
export async function tollCommand(argv: string[]): Promise<number> {
  let o;
  try { o = options(argv); } catch (e) {
    if (!(e instanceof Usage)) throw e;
    console.error(`gmledger toll: ${e.message}\n${TOLL_USAGE}`);
    return 2;
  }
  if (o.values.help) { console.log(TOLL_USAGE); return 0; }
  const { file, values } = o;
  let signer: Signer;
  try {
    signer = await readSigner(`${String(values.key)}.key`);
  } catch (e) {
    console.error(`gmledger toll: ${(e as Error).message}`);
    return 2;
  }
  const progressFile = String(values['progress-file'] ?? `${file}.progress`);
  const start: Progress = !values.restart && existsSync(progressFile)
    ? JSON.parse(readFileSync(progressFile, 'utf8')) as Progress : { line: 0, ok: 0, exists: 0, refused: {}, bad: 0 };
  const sink = await openSink(values, signer);
  try {
    return await feed(file, values, sink, signer, start, progressFile);
  } finally {
    await sink.close();
  }
}

async function feed(file: string, values: Record<string, unknown>, sink: Sink, signer: Signer, p: Progress,
  progressFile: string): Promise<number> {
  const csv = values.format === 'csv' || (values.format === undefined && file.toLowerCase().endsWith('.csv'));
  const batchMax = Number(values.batch ?? 1000);
  const showBar = values.quiet !== true && process.stderr.isTTY === true;
  const total = statSync(file).size;
  const resumedFrom = p.line;
  const startMs = Date.now();
  let columns: string[] | undefined;
  let lineNo = 0;
  let bytes = 0;
  let batch: { line: number; record: Uint8Array }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const names = await sink.submit(batch.map((x) => x.record));
      names.forEach((name, i) => {
        if (name === 'ok') p.ok++;
        else if (name === 'exists') p.exists++;
        else { p.refused[name] = (p.refused[name] ?? 0) + 1; console.error(`line ${batch[i].line}: refused ${name}`); }
      });
    }
    p.line = lineNo;
    saveProgress(progressFile, p);
    batch = [];
    if (showBar) bar(bytes, total, lineNo, startMs);
  };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const raw of rl) {
    lineNo++;
    bytes += Buffer.byteLength(raw) + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (csv && columns === undefined) {
      try { columns = csvHeader(line); } catch (e) {
        console.error(`line ${lineNo}: bad header: ${(e as Error).message}`);
        return 1;
      }
      continue;
    }
    if (lineNo <= p.line) continue;
    try {
      const t = parseFeedLine(line, columns);
      const f = { chainId: sink.chainId, ...t };
      const record = values.trusted === true ? tollRecords.tripToVouch(f, signer.keyId) : tollRecords.trip(f, signer);
      batch.push({ line: lineNo, record });
    } catch (e) {
      if (!(e instanceof FeedError)) throw e;
      p.bad++;
      console.error(`line ${lineNo}: ${e.message}`);
    }
    if (batch.length >= batchMax) await flush();
  }
  await flush();
  if (showBar) process.stderr.write('\n');
  const refused = Object.values(p.refused).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({
    file, lines: lineNo, resumedFrom, ok: p.ok, exists: p.exists, refused: p.refused, badLines: p.bad,
  }));
  return p.bad > 0 || refused > 0 ? 1 : 0;
}
