// Crash-test child: opens the chain, resubmits pre-signed record groups from argv[3] on,
// and prints "ack <group> <codes>" for each group once its block is durable. The parent
// kills it with SIGKILL at a random moment. TEST-ONLY verifier at admission: the records
// carry real SM2 signatures, which the parent's final `gmledger verify` checks.
import { readFileSync } from 'node:fs';
import { Ledger } from '../../dist/src/ledger/ledger.js';

const [dir, recordsFile, startArg] = process.argv.slice(2);
const GROUP = 4;
const IN_FLIGHT_MAX = 3;
const PACE_MS = 25;
const all = new Uint8Array(readFileSync(recordsFile));
const groups = all.length / (256 * GROUP);
const testOnlyVerifier = {
  name: 'TEST-ONLY-accept-all',
  async verifyRecords(_b, n, keys) { const o = new Uint8Array(n); for (let i = 0; i < n; i++) o[i] = keys[i] ? 1 : 0; return o; },
};
// Checkpoint every 3 blocks, so kills land both between checkpoints and around them.
const ledger = await Ledger.open({ dir, verifier: testOnlyVerifier, blockMaxMs: 3, checkpointBlocks: 3 });
process.stdout.write(`ready ${ledger.height}\n`);
let inFlight = 0;
for (let g = Number(startArg); g < groups; g++) {
  while (inFlight >= IN_FLIGHT_MAX) await new Promise((r) => setTimeout(r, 1));
  inFlight++;
  const batch = all.subarray(g * GROUP * 256, (g + 1) * GROUP * 256);
  ledger.submitBatch(batch).then((r) => {
    inFlight--;
    process.stdout.write(`ack ${g} ${Array.from(r.codes).join(',')}\n`);
  });
  await new Promise((r) => setTimeout(r, PACE_MS));
}
while (inFlight > 0) await new Promise((r) => setTimeout(r, 1));
process.stdout.write('done\n');
setInterval(() => {}, 1000);
