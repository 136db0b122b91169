#!/usr/bin/env node
// gmledger command line: `init <dir>` creates a chain, `verify <dir>` rechecks one offline,
// `info <dir>` prints its tip. Exit code 0 on success, 1 on a failed check, 2 on bad usage.

import { initChain } from './chain/init.js';
import { verifyChain } from './chain/verify.js';
import { toHex } from './crypto/bytes.js';
import { sm2Backend } from './crypto/sm2-backend.js';
import { poolRecordVerifier } from './ledger/verify.js';
import { createVerifyPool } from './pool/index.js';
import { availableParallelism } from 'node:os';

const USAGE = `usage:
  gmledger init <dir> [--chain-id <u32>]   create a chain: keys (0600), config, genesis block
  gmledger verify <dir> [--threads <n>]    recheck the whole chain offline; names the first bad block
                                           (record signatures on <n> worker threads; default: all cores)
  gmledger info <dir>                      print the chain's config and tip
  gmledger start [--dir <dir>] [--host <h>] [--port <p>] ...   run a node (--help for all options)
  gmledger bench [...]                     the load harness (--help for all options)`;

async function main(argv: string[]): Promise<number> {
  const [cmd, dir, ...rest] = argv;
  // start and bench own their option parsing and keep running; they are loaded on demand
  // so that init/verify never load the server or the load generator.
  // Both end with process.exit: idle keep-alive sockets would otherwise hold uWS's loop open.
  if (cmd === 'start') {
    const code = await (await import('./server/cli-start.js')).startCommand(argv.slice(1));
    process.exit(Number(process.exitCode ?? code));
  }
  if (cmd === 'bench') process.exit(await (await import('../bench/load.js')).benchCommand(argv.slice(1)));
  if (!cmd || !dir || cmd === '--help') { console.error(USAGE); return 2; }
  if (cmd === 'init') {
    let chainId: number | undefined;
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--chain-id') chainId = Number(rest[++i]);
      else { console.error(`unknown option ${rest[i]}\n${USAGE}`); return 2; }
    }
    const r = await initChain({ dir, chainId });
    console.log(JSON.stringify({
      dir, chainId: r.config.chainId, admin: toHex(r.admin.keyId), regulator: toHex(r.regulator.keyId),
      node: toHex(r.node.keyId), keys: `${dir}/keys/*.key (mode 0600)`, sm2: sm2Backend.name,
    }, null, 2));
    return 0;
  }
  if (cmd === 'verify') {
    let threads = availableParallelism();
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '--threads') threads = Number(rest[++i]);
      else { console.error(`unknown option ${rest[i]}\n${USAGE}`); return 2; }
    }
    const started = Date.now();
    const pool = threads > 1 ? createVerifyPool({ threads }) : undefined;
    let report;
    try {
      report = await verifyChain(dir, pool ? { verifier: poolRecordVerifier(pool) } : {});
    } finally {
      await pool?.close();
    }
    console.log(JSON.stringify({ ...report, seconds: (Date.now() - started) / 1000, sm2: sm2Backend.name }, null, 2));
    if (!report.ok) console.error(`gmledger verify: FAILED — ${report.error}`);
    return report.ok ? 0 : 1;
  }
  if (cmd === 'info') {
    const { Ledger } = await import('./ledger/ledger.js');
    const ledger = await Ledger.open({ dir });
    try {
      console.log(JSON.stringify(ledger.info(), null, 2));
    } finally {
      await ledger.close();
    }
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => {
  console.error(`gmledger: ${err.message}`);
  process.exitCode = 1;
});
