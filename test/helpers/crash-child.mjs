// Crash-test child: opens the chain, resubmits pre-signed record groups from argv[3] on,
// argv[4] groups per submit (default 1; large submits make blocks that are sealed on the
// ledger's seal worker), and prints "ack <group> <codes>" for each group once its block is
// durable. The parent
// kills it with SIGKILL at a random moment. TEST-ONLY verifier at admission: the records
// carry real SM2 signatures, which the parent's final `gmledger verify` checks.
import { readFileSync } from 'node:fs';
import { Ledger } from '../../dist/src/ledger/ledger.js';

const [dir, recordsFile, startArg, perSubmitArg] = process.argv.slice(2);
const PER_SUBMIT = Number(perSubmitArg ?? 1);
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
for (let g = Number(startArg); g < groups; g += PER_SUBMIT) {
  while (inFlight >= IN_FLIGHT_MAX) await new Promise((r) => setTimeout(r, 1));
  inFlight++;
  const end = Math.min(groups, g + PER_SUBMIT);
  const batch = all.subarray(g * GROUP * 256, end * GROUP * 256);
  ledger.submitBatch(batch).then((r) => {
    inFlight--;
    let lines = '';
    for (let k = g; k < end; k++) lines += `ack ${k} ${Array.from(r.codes.subarray((k - g) * GROUP, (k - g + 1) * GROUP)).join(',')}\n`;
    process.stdout.write(lines);
  });
  await new Promise((r) => setTimeout(r, PACE_MS));
}
while (inFlight > 0) await new Promise((r) => setTimeout(r, 1));
process.stdout.write('done\n');
setInterval(() => {}, 1000);
