// Builders that make and sign each record kind (client side and tests). A signer
// (crypto/signer.ts) holds an SM2 key pair; its key id is every record's signer field.
//
// Every argument is checked before anything is encoded or signed: a wrong type is a
// TypeError, a wrong size or an out-of-range value a RangeError, and the message names the
// field or argument (record fields: see encode in src/codec/record.ts and docs/api.md).

import {
  HINT_NONE, MESSAGE_BYTES, OFF_HINT, OFF_SIGNATURE, OFF_SIGNER, RECORD_BYTES,
  type KindName, type RecordFields, describeValue, encode,
} from './record.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import { type Signer, bytesArg, checkSigner } from '../crypto/signer.js';

export { type Signer, checkSigner, keyIdOf, signerFromKeyPair, generateSigner } from '../crypto/signer.js';

/** Signs `record` in place: M = bytes [0, 191); writes r‖s and the hint (0xff if none). */
export function signRecord(record: Uint8Array, signer: Signer): Uint8Array {
  bytesArg(record, RECORD_BYTES, 'record');
  checkSigner(signer);
  record.set(signer.keyId, OFF_SIGNER);
  const sig = sm2Backend.sign(record.subarray(0, MESSAGE_BYTES), signer.privateKey);
  record.set(sig.subarray(0, 64), OFF_SIGNATURE);
  record[OFF_HINT] = sig.length === 65 ? sig[64] : HINT_NONE;
  return record;
}

function checkFields(fields: unknown, what: string): asserts fields is Record<string, unknown> {
  const proto = typeof fields === 'object' && fields !== null ? Object.getPrototypeOf(fields) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${what}: fields must be a plain object, got ${describeValue(fields)}`);
  }
  if ((fields as Record<string, unknown>).signer !== undefined) {
    throw new TypeError(`${what}: fields must not contain signer (the record's signer is the signer argument's keyId)`);
  }
}

type Without<T> = Omit<T, 'kind' | 'signer'>;

/** Encodes and signs one record. */
export function buildRecord(fields: Omit<RecordFields, 'signer'>, signer: Signer): Uint8Array {
  checkFields(fields, 'buildRecord');
  checkSigner(signer);
  return signRecord(encode({ ...fields, signer: signer.keyId } as RecordFields), signer);
}

function build(kind: KindName, builder: string, fields: unknown, signer: Signer): Uint8Array {
  checkFields(fields, builder);
  if (fields.kind !== undefined) throw new TypeError(`${builder}: fields must not contain kind (it is ${kind})`);
  checkSigner(signer);
  return signRecord(encode({ ...fields, kind, signer: signer.keyId } as RecordFields), signer);
}

export const records = {
  registerKey: (f: Without<RecordFields> & { publicKey: Uint8Array; roles: number }, s: Signer) =>
    build('register_key', 'records.registerKey', f, s),
  createAccount: (f: Without<RecordFields> & { ledger: number; code: number; controller: Uint8Array }, s: Signer) =>
    build('create_account', 'records.createAccount', f, s),
  transfer: (f: Without<RecordFields>, s: Signer) => build('transfer', 'records.transfer', f, s),
  anchor: (f: Without<RecordFields> & { digest: Uint8Array }, s: Signer) => build('anchor', 'records.anchor', f, s),
  freezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) =>
    build('freeze_account', 'records.freezeAccount', f, s),
  unfreezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) =>
    build('unfreeze_account', 'records.unfreezeAccount', f, s),
  haltLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) =>
    build('halt_ledger', 'records.haltLedger', f, s),
  resumeLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) =>
    build('resume_ledger', 'records.resumeLedger', f, s),
  // Clearing (docs/clearing.md).
  cycleOpen: (f: Without<RecordFields> & { ledger: number; code: number; clearingAccountId: bigint }, s: Signer) =>
    build('cycle_open', 'records.cycleOpen', f, s),
  cycleMember: (f: Without<RecordFields> & { cycleId: bigint; accountId: bigint }, s: Signer) =>
    build('cycle_member', 'records.cycleMember', f, s),
  cycleClose: (f: Without<RecordFields> & { cycleId: bigint }, s: Signer) =>
    build('cycle_close', 'records.cycleClose', f, s),
  cycleRegulate: (f: Without<RecordFields> & { cycleId: bigint; action: number }, s: Signer) =>
    build('cycle_regulate', 'records.cycleRegulate', f, s),
  rule: (f: Without<RecordFields> & { ruleId: number; ledger: number; tier: number }, s: Signer) =>
    build('rule', 'records.rule', f, s),
  // Toll (docs/toll.md; src/apps/toll/sdk.ts has typed helpers over these).
  tollRule: (f: Without<RecordFields> & { ruleVersion: number; action: number; ledger: number }, s: Signer) =>
    build('toll_rule', 'records.tollRule', f, s),
  trip: (f: Without<RecordFields> & {
    issuerAccountId: bigint; toll: number; ruleVersion: number; vehicleClass: number; sectionCount: number;
    sections: Uint8Array;
  }, s: Signer) => build('trip', 'records.trip', f, s),
  blacklist: (f: Without<RecordFields> & { action: number }, s: Signer) =>
    build('blacklist', 'records.blacklist', f, s),
};
