// Clearing crash child: opens the chain, submits the pre-signed cycle_close record in
// argv[3] (a file of 256 bytes), prints "ack <code>" once its block is durable. The parent
// kills it with SIGKILL at a random moment. TEST-ONLY verifier at admission (the record
// carries a real SM2 signature, which the parent's final `gmledger verify` checks).
import { readFileSync } from 'node:fs';
import { Ledger } from '../../dist/src/ledger/ledger.js';

const [dir, recordFile] = process.argv.slice(2);
const testOnlyVerifier = {
  name: 'TEST-ONLY-accept-all',
  async verifyRecords(_b, n, keys) { const o = new Uint8Array(n); for (let i = 0; i < n; i++) o[i] = keys[i] ? 1 : 0; return o; },
};
const ledger = await Ledger.open({ dir, verifier: testOnlyVerifier, blockMaxMs: 2, checkpointBlocks: 2 });
process.stdout.write(`ready ${ledger.height}\n`);
const r = await ledger.submitBatch(new Uint8Array(readFileSync(recordFile)));
process.stdout.write(`ack ${r.codes[0]}\n`);
setInterval(() => {}, 1000);
