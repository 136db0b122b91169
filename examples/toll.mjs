// A day of toll (ETC) settlement in a small province (docs/toll.md), end to end and in
// process: a chain, three road-section companies, two card-issuing banks, a fee rule table
// for eight sections, and a day of synthetic trips sent by the ETC gateway in trusted-gateway
// mode (one SM2 signature per batch). Each trip is split on the chain issuer → operators,
// atomically and to the fen; then the period report: each operator's revenue and the
// netting (what each bank owes each company, and every account's net position).
//
//   node examples/toll.mjs [trips]        (default 20000; CI runs it: test/toll-example.test.ts)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Ledger, ROLE_OPERATOR, ROLE_PARTICIPANT, concatRecords, generateSigner, initChain, records, splitTrip, tollRecords,
  tollReport, tripId, vouchBatch,
} from 'gmledger';

const TRIPS = Number(process.argv[2] ?? 20_000);
const CHAIN = 32;          // the provincial chain
const CNY = 156;           // the ledger: yuan, amounts in fen
const dir = mkdtempSync(join(tmpdir(), 'gmledger-toll-'));
const [admin, regulator, node, gateway, bankKey] = [0, 1, 2, 3, 4].map(() => generateSigner());
await initChain({ dir, chainId: CHAIN, admin, regulator, node });
const ledger = await Ledger.open({ dir });
let nextId = 100n;
const id = () => nextId++;
async function submit(recs) {
  for (const r of await ledger.submit(recs)) if (r.code !== 0) throw new Error(`refused: ${r.name}`);
}

// Members: the ETC centre's gateway (an operator of the CNY ledger), the banks' key.
await submit([
  records.registerKey({ chainId: CHAIN, id: id(), publicKey: gateway.publicKey, roles: ROLE_OPERATOR, ledger: CNY }, admin),
  records.registerKey({ chainId: CHAIN, id: id(), publicKey: bankKey.publicKey, roles: ROLE_PARTICIPANT }, admin),
]);
const banks = { 'ICBC Jiangsu': 1001n, 'BOC Jiangsu': 1002n };
const companies = { 'Ninghu Expressway': 2001n, 'Yanjiang Expressway': 2002n, 'Sutong Bridge': 2003n };
await submit([
  ...Object.values(banks).map((a) =>
    records.createAccount({ chainId: CHAIN, id: a, ledger: CNY, code: 1, controller: bankKey.keyId }, bankKey)),
  ...Object.values(companies).map((a) =>
    records.createAccount({ chainId: CHAIN, id: a, ledger: CNY, code: 2, controller: gateway.keyId }, gateway)),
]);

// Rule version 1, fee mode: sections 11..18 → their company, a fee per vehicle class 1..4 (fen).
const plan = [
  [11, 'Ninghu Expressway', 1250], [12, 'Ninghu Expressway', 980], [13, 'Ninghu Expressway', 1430],
  [14, 'Yanjiang Expressway', 870], [15, 'Yanjiang Expressway', 1110], [16, 'Yanjiang Expressway', 760],
  [17, 'Sutong Bridge', 2500], [18, 'Sutong Bridge', 400],
];
const classFactor = [1, 1.5, 2, 3];        // class c pays base × factor (rounded to the fen)
const table = { mode: 'fee', sections: new Map() };
const ruleRecords = plan.map(([section, company, base]) => {
  const values = classFactor.map((f) => Math.round(base * f));
  table.sections.set(section, { operatorAccountId: companies[company], values });
  return tollRecords.section({
    chainId: CHAIN, id: id(), ruleVersion: 1, ledger: CNY, section, operatorAccountId: companies[company], values,
  }, gateway);
});
await submit(ruleRecords);
const effective = BigInt(ledger.height + 2);
await submit([tollRecords.activate({
  chainId: CHAIN, id: id(), ruleVersion: 1, ledger: CNY, mode: 'fee', code: 71, effectiveHeight: effective,
  sectionCount: plan.length,
}, gateway)]);
// A vehicle the regulator flags (its trips go through, marked for review).
await submit([tollRecords.blacklist({ chainId: CHAIN, id: id(), action: 'add', vehicleId: 3207n, mode: 'flag' }, regulator)]);
while (BigInt(ledger.height) < effective) {
  await submit([records.anchor({ chainId: CHAIN, id: id(), digest: new Uint8Array(32).fill(7) }, admin)]);
}

// The day's trips: routes of 3–6 consecutive sections, classes 1..4, two banks.
let seed = 20260101;
const rand = (n) => { // mulberry32: a small deterministic generator
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) % n;
};
const periodFrom = Date.now();
const BATCH = 4000;
let sent = 0;
while (sent < TRIPS) {
  const n = Math.min(BATCH, TRIPS - sent);
  const trips = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rand(4);
    const first = 11 + rand(plan.length - len + 1);
    const sections = Array.from({ length: len }, (_, k) => first + k);
    const vehicleClass = 1 + rand(4);
    const vehicleId = BigInt(3000 + rand(400));
    const tripTimeMs = BigInt(periodFrom + sent + i);
    const { toll } = splitTrip(table, vehicleClass, sections); // the gateway prices the trip as the chain will
    const issuerAccountId = rand(2) === 0 ? banks['ICBC Jiangsu'] : banks['BOC Jiangsu'];
    trips.push(tollRecords.tripToVouch({ // unsigned: the batch's one vouch signature covers it
      chainId: CHAIN, id: tripId(`G-${sent + i}`), issuerAccountId, vehicleId, tripTimeMs, toll, ruleVersion: 1,
      vehicleClass, sections,
    }, gateway.keyId));
  }
  const batch = vouchBatch(concatRecords(trips), n, gateway, { chainId: CHAIN, id: id() });
  const r = await ledger.submitBatch(batch, { trusted: true });
  if (r.codes.some((c) => c !== 0)) throw new Error('a trip was refused');
  sent += n;
}
const report = tollReport(ledger.state, periodFrom, Date.now() + 1);

// The report: revenue per company, the netting per bank and company, net positions.
const nameOf = new Map([...Object.entries(banks), ...Object.entries(companies)].map(([k, v]) => [v, k]));
const yuan = (fen) => `¥${(Number(fen) / 100).toFixed(2)}`;
console.log(`${report.trips} trips (${report.flaggedTrips} flagged), tolls ${yuan(report.total)}`);
console.log('\noperator revenue');
for (const o of report.operators) console.log(`  ${nameOf.get(o.accountId).padEnd(22)} ${yuan(o.revenue).padStart(14)}  (${o.legs} legs)`);
console.log('\nperiod netting: each bank owes each company');
for (const p of report.pairs) {
  console.log(`  ${nameOf.get(p.issuerAccountId).padEnd(14)} → ${nameOf.get(p.operatorAccountId).padEnd(22)} ${yuan(p.amount).padStart(14)}`);
}
console.log('\nnet positions (+ receives, − pays)');
let sum = 0n;
for (const p of report.positions) {
  sum += p.net;
  console.log(`  ${nameOf.get(p.accountId).padEnd(22)} ${(p.net < 0n ? '-' : '+') + yuan(p.net < 0n ? -p.net : p.net).padStart(13)}`);
}
const issued = report.issuers.reduce((a, i) => a + i.charges, 0n);
const earned = report.operators.reduce((a, o) => a + o.revenue, 0n);
console.log(`\nΣ positions = ${sum}; charged ${yuan(issued)} = earned ${yuan(earned)}: no float left anywhere`);
if (sum !== 0n || issued !== earned || issued !== report.total) throw new Error('the books do not balance');
await ledger.close();
rmSync(dir, { recursive: true, force: true });
