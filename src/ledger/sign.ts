// Builders that make and sign each record kind (client side and tests). A signer holds an
// SM2 key pair; its key id — the signer field of every record — is SM3(public key).
//
// Every argument is checked before anything is encoded or signed: a wrong type is a
// TypeError, a wrong size or an out-of-range value a RangeError, and the message names the
// field or argument (record fields: see encode in src/codec/record.ts and docs/api.md).

import {
  HINT_NONE, KEY_ID_BYTES, MESSAGE_BYTES, OFF_HINT, OFF_SIGNATURE, OFF_SIGNER, PUBLIC_KEY_BYTES, RECORD_BYTES,
  type KindName, type RecordFields, describeValue, encode,
} from '../codec/record.js';
import { sm3 } from '../crypto/hash.js';
import { sm2Backend, type KeyPair } from './sm2backend.js';

export interface Signer {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** SM3(publicKey): the record's signer field. */
  keyId: Uint8Array;
}

const PRIVATE_KEY_BYTES = 32;

function bytesArg(v: unknown, len: number, name: string): void {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array of ${len} bytes, got ${describeValue(v)}`);
  if (v.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`);
}

/**
 * Checks `s` is a Signer: `{ privateKey: 32 bytes, publicKey: 65 bytes, keyId: 32 bytes }`
 * (TypeError / RangeError naming `name.field`). Whether keyId is SM3(publicKey) and the key
 * pair matches is not checked here (the node refuses such a record).
 */
export function checkSigner(s: unknown, name = 'signer'): asserts s is Signer {
  if (typeof s !== 'object' || s === null) {
    throw new TypeError(`${name} must be a Signer { privateKey, publicKey, keyId }, got ${describeValue(s)}`);
  }
  const o = s as Record<string, unknown>;
  bytesArg(o.keyId, KEY_ID_BYTES, `${name}.keyId`);
  bytesArg(o.privateKey, PRIVATE_KEY_BYTES, `${name}.privateKey`);
  bytesArg(o.publicKey, PUBLIC_KEY_BYTES, `${name}.publicKey`);
}

export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError(`publicKey must be a Uint8Array of 65 bytes, got ${describeValue(publicKey)}`);
  if (publicKey.length !== 65 || publicKey[0] !== 4) {
    throw new RangeError('publicKey must be 65 bytes, 0x04 ‖ x ‖ y');
  }
  return sm3(publicKey);
}

export function signerFromKeyPair(kp: KeyPair): Signer {
  if (typeof kp !== 'object' || kp === null) throw new TypeError(`key pair must be { privateKey, publicKey }, got ${describeValue(kp)}`);
  bytesArg(kp.privateKey, PRIVATE_KEY_BYTES, 'privateKey');
  return { privateKey: kp.privateKey, publicKey: kp.publicKey, keyId: keyIdOf(kp.publicKey) };
}

export function generateSigner(): Signer {
  return signerFromKeyPair(sm2Backend.generateKeyPair());
}

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
  freezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) => build('freeze_account', 'records.freezeAccount', f, s),
  unfreezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) =>
    build('unfreeze_account', 'records.unfreezeAccount', f, s),
  haltLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) => build('halt_ledger', 'records.haltLedger', f, s),
  resumeLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) => build('resume_ledger', 'records.resumeLedger', f, s),
};
