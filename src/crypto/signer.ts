// A signer: an SM2 key pair and its key id, SM3(public key) — the signer field of every
// record and the id under which the chain registers the key.

import { describeValue } from './bytes.js';
import { sm3 } from './hash.js';
import { sm2Backend, type KeyPair } from './sm2-backend.js';

const KEY_ID_BYTES = 32;
const PUBLIC_KEY_BYTES = 65;

export interface Signer {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** SM3(publicKey): the record's signer field. */
  keyId: Uint8Array;
}

const PRIVATE_KEY_BYTES = 32;

/** Throws unless `v` is a Uint8Array of `len` bytes (TypeError / RangeError naming `name`). */
export function bytesArg(v: unknown, len: number, name: string): void {
  if (!(v instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array of ${len} bytes, got ${describeValue(v)}`);
  }
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
  if (!(publicKey instanceof Uint8Array)) {
    throw new TypeError(`publicKey must be a Uint8Array of 65 bytes, got ${describeValue(publicKey)}`);
  }
  if (publicKey.length !== 65 || publicKey[0] !== 4) {
    throw new RangeError('publicKey must be 65 bytes, 0x04 ‖ x ‖ y');
  }
  return sm3(publicKey);
}

export function signerFromKeyPair(kp: KeyPair): Signer {
  if (typeof kp !== 'object' || kp === null) {
    throw new TypeError(`key pair must be { privateKey, publicKey }, got ${describeValue(kp)}`);
  }
  bytesArg(kp.privateKey, PRIVATE_KEY_BYTES, 'privateKey');
  return { privateKey: kp.privateKey, publicKey: kp.publicKey, keyId: keyIdOf(kp.publicKey) };
}

export function generateSigner(): Signer {
  return signerFromKeyPair(sm2Backend.generateKeyPair());
}
