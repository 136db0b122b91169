// A clearing cycle end to end (docs/clearing.md): ten banks, 100,000 payments in one cycle,
// a bank that cannot cover its net debit (gridlock), the close, and the report.
//
//   node examples/clearing.mjs [payments]     (default 100000; CI runs it)
//
// Everything runs in-process on a fresh chain in a temporary folder: the embedded Ledger,
// real SM2 signatures on every record, durable blocks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS, Ledger, ROLE_OPERATOR, cycleRecords, generateSigner, initChain,
  obligationRecord, records,
} from 'gmledger';

const PAYMENTS = Number(process.argv[2] ?? 100_000);
const BANKS = 10;
const SUBMIT = 8_000;
const dir = mkdtempSync(join(tmpdir(), 'gmledger-clearing-example-'));
const { config, admin } = await initChain({ dir });
const chainId = config.chainId;
const ledger = await Ledger.open({ dir });
const op = generateSigner();
const CENTRAL = 1n, CLEARING = 2n, CYCLE = 1_000n;
const bank = (i) => 100n + BigInt(i);
const ok = (rs) => { const bad = rs.filter((r) => r.name !== 'ok'); if (bad.length) throw new Error(bad[0].name); };

// The operator's key; a central account that funds the banks; the clearing account; the banks.
const dmnec = ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS;
const account = (id, flags) => records.createAccount({ chainId, id, ledger: 1, code: 1, flags, controller: op.keyId }, admin);
ok(await ledger.submit([
  records.registerKey({ chainId, id: 10n, publicKey: op.publicKey, roles: ROLE_OPERATOR, ledger: 1 }, admin),
  account(CENTRAL, 0), account(CLEARING, dmnec), ...Array.from({ length: BANKS }, (_, i) => account(bank(i), dmnec)),
]));
// Banks 0..8 get 20,000,000 each; bank 9 only 1,000: it will be short.
ok(await ledger.submit(Array.from({ length: BANKS }, (_, i) => records.transfer({
  chainId, id: 20n + BigInt(i), debitAccountId: CENTRAL, creditAccountId: bank(i), amount: i === 9 ? 1_000n : 20_000_000n,
  ledger: 1, code: 1,
}, op))));
ok(await ledger.submit(cycleRecords(chainId, {
  cycleId: CYCLE, ledger: 1, code: 9, clearingAccountId: CLEARING, members: Array.from({ length: BANKS }, (_, i) => bank(i)),
}, op)));

// Payments: random pairs and amounts (a fixed seed, so every run is the same); bank 9 pays
// more than it receives.
let seed = 2024;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const t0 = performance.now();
for (let at = 0; at < PAYMENTS; at += SUBMIT) {
  const batch = [];
  for (let k = at; k < Math.min(PAYMENTS, at + SUBMIT); k++) {
    const from = rnd(10) === 0 ? 9 : rnd(BANKS);
    const to = (from + 1 + rnd(BANKS - 1)) % BANKS;
    batch.push(obligationRecord(chainId, CYCLE, {
      id: 1_000_000n + BigInt(k), debitAccountId: bank(from), creditAccountId: bank(to), amount: BigInt(1 + rnd(1_000)),
      ledger: 1, code: 7,
    }, op));
  }
  ok(await ledger.submit(batch));
}
const t1 = performance.now();
ok(await ledger.submit([records.cycleClose({ chainId, id: 2_000n, cycleId: CYCLE }, op)]));
const t2 = performance.now();

const c = ledger.getCycle(CYCLE);
const r = c.report;
console.log(`cycle ${c.id}: ${c.status}, ${c.obligations} obligations among ${c.members.length} banks`);
console.log(`submitted in ${((t1 - t0) / 1000).toFixed(1)} s; close (one block, durable) ${(t2 - t1).toFixed(0)} ms`);
console.log(`gross ${r.gross}  net ${r.net}  liquidity saved ${r.saved} (${(Number(r.saved) * 100 / Number(r.gross)).toFixed(1)} %)`);
console.log(`gridlock: ${r.rounds} round(s), ${r.removedCount} obligations removed (${r.removedGross}), returned unsettled`);
for (const m of c.members) console.log(`  bank ${m.accountId}: net ${m.position}`);
const balance = (id) => { const a = ledger.getAccount(id); return a.creditsPosted - a.debitsPosted; };
console.log(`clearing account after the close: ${balance(CLEARING)}`);
await ledger.close();
rmSync(dir, { recursive: true, force: true });
