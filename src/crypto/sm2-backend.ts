// The one place the ledger touches SM2: the project's WASM implementation
// (src/crypto/sm2.ts), behind a small interface so the state machine, the chain and the
// tools name only what they use. There is no fallback: a ledger that silently verified at
// 50 signatures a second with another library would be a surprise, not a feature.

import * as sm2 from './sm2.js';
import type { KeyPair } from './sm2.js';

export type { KeyPair };

export interface VerifyItem {
  msg: Uint8Array;
  signature: Uint8Array;
  publicKey: Uint8Array;
}

export interface Sm2Backend {
  readonly name: string;
  generateKeyPair(): KeyPair;
  getPublicKey(privateKey: Uint8Array): Uint8Array;
  /** r‖s‖hint (65 bytes, recoverable form), default ID 1234567812345678. */
  sign(msg: Uint8Array, privateKey: Uint8Array): Uint8Array;
  verifyBatch(items: VerifyItem[]): boolean[];
  validatePublicKey(publicKey: Uint8Array): boolean;
}

export const sm2Backend: Sm2Backend = {
  name: 'gmledger-wasm',
  generateKeyPair: () => sm2.generateKeyPair(),
  getPublicKey: (privateKey) => sm2.getPublicKey(privateKey),
  sign: (msg, privateKey) => sm2.signRecoverable(msg, privateKey),
  verifyBatch: (items) => sm2.verifyBatch(items),
  validatePublicKey: (publicKey) => sm2.validatePublicKey(publicKey),
};
