// Builders that make and sign each record kind (client side and tests). A signer holds an
// SM2 key pair; its key id — the signer field of every record — is SM3(public key).

import {
  HINT_NONE, MESSAGE_BYTES, OFF_HINT, OFF_SIGNATURE, OFF_SIGNER, RECORD_BYTES, type RecordFields, encode,
} from '../codec/record.js';
import { sm3 } from '../crypto/hash.js';
import { sm2Backend, type KeyPair } from './sm2backend.js';

export interface Signer {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** SM3(publicKey): the record's signer field. */
  keyId: Uint8Array;
}

export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 65 || publicKey[0] !== 4) {
    throw new RangeError('publicKey must be 65 bytes, 0x04 ‖ x ‖ y');
  }
  return sm3(publicKey);
}

export function signerFromKeyPair(kp: KeyPair): Signer {
  return { privateKey: kp.privateKey, publicKey: kp.publicKey, keyId: keyIdOf(kp.publicKey) };
}

export function generateSigner(): Signer {
  return signerFromKeyPair(sm2Backend.generateKeyPair());
}

/** Signs `record` in place: M = bytes [0, 191); writes r‖s and the hint (0xff if none). */
export function signRecord(record: Uint8Array, signer: Signer): Uint8Array {
  if (record.length !== RECORD_BYTES) throw new RangeError(`record must be ${RECORD_BYTES} bytes`);
  record.set(signer.keyId, OFF_SIGNER);
  const sig = sm2Backend.sign(record.subarray(0, MESSAGE_BYTES), signer.privateKey);
  record.set(sig.subarray(0, 64), OFF_SIGNATURE);
  record[OFF_HINT] = sig.length === 65 ? sig[64] : HINT_NONE;
  return record;
}

type Without<T> = Omit<T, 'kind' | 'signer'>;

/** Encodes and signs one record. */
export function buildRecord(fields: Omit<RecordFields, 'signer'>, signer: Signer): Uint8Array {
  return signRecord(encode({ ...fields, signer: signer.keyId } as RecordFields), signer);
}

export const records = {
  registerKey: (f: Without<RecordFields> & { publicKey: Uint8Array; roles: number }, s: Signer) =>
    buildRecord({ ...f, kind: 'register_key' }, s),
  createAccount: (f: Without<RecordFields> & { ledger: number; code: number; controller: Uint8Array }, s: Signer) =>
    buildRecord({ ...f, kind: 'create_account' }, s),
  transfer: (f: Without<RecordFields>, s: Signer) => buildRecord({ ...f, kind: 'transfer' }, s),
  anchor: (f: Without<RecordFields> & { digest: Uint8Array }, s: Signer) => buildRecord({ ...f, kind: 'anchor' }, s),
  freezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) => buildRecord({ ...f, kind: 'freeze_account' }, s),
  unfreezeAccount: (f: Without<RecordFields> & { accountId: bigint }, s: Signer) =>
    buildRecord({ ...f, kind: 'unfreeze_account' }, s),
  haltLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) => buildRecord({ ...f, kind: 'halt_ledger' }, s),
  resumeLedger: (f: Without<RecordFields> & { ledger: number }, s: Signer) => buildRecord({ ...f, kind: 'resume_ledger' }, s),
};
