// The one place the ledger touches SM2. It prefers the project's WASM SM2
// (src/crypto/sm2.ts) and falls back to the `sm-crypto` reference implementation (correct,
// but ~50 verifications/s) when that module is missing or fails a known-answer check at
// load. `sm2Backend.name` says which one is in use.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface VerifyItem {
  msg: Uint8Array;
  signature: Uint8Array;
  publicKey: Uint8Array;
}

export interface Sm2Backend {
  readonly name: string;
  generateKeyPair(): KeyPair;
  getPublicKey(privateKey: Uint8Array): Uint8Array;
  /** r‖s (64 bytes) or r‖s‖hint (65 bytes), default ID 1234567812345678. */
  sign(msg: Uint8Array, privateKey: Uint8Array): Uint8Array;
  verifyBatch(items: VerifyItem[]): boolean[];
  validatePublicKey(publicKey: Uint8Array): boolean;
}

interface SmCrypto {
  sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    getPublicKeyFromPrivateKey(priv: string): string;
    doSignature(msg: number[], priv: string, opts: object): string;
    doVerifySignature(msg: number[], sig: string, pub: string, opts: object): boolean;
    verifyPublicKey(pub: string): boolean;
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** Signers whose public key the sm-crypto backend keeps (it needs it for Z_A on every signature). */
const PUBLIC_KEY_CACHE_MAX = 1024;

function smCryptoBackend(): Sm2Backend {
  const { sm2 } = require('sm-crypto') as SmCrypto;
  const publicKeys = new Map<string, string>();
  return {
    name: 'sm-crypto',
    generateKeyPair() {
      const kp = sm2.generateKeyPairHex();
      return { privateKey: unhex(kp.privateKey.padStart(64, '0')), publicKey: unhex(kp.publicKey) };
    },
    getPublicKey(privateKey) {
      return unhex(sm2.getPublicKeyFromPrivateKey(hex(privateKey)));
    },
    sign(msg, privateKey) {
      const priv = hex(privateKey);
      let pub = publicKeys.get(priv);
      if (pub === undefined) {
        pub = sm2.getPublicKeyFromPrivateKey(priv);
        if (publicKeys.size >= PUBLIC_KEY_CACHE_MAX) publicKeys.clear();
        publicKeys.set(priv, pub);
      }
      return unhex(sm2.doSignature(Array.from(msg), hex(privateKey), { hash: true, der: false, publicKey: pub }));
    },
    verifyBatch(items) {
      return items.map((it) => {
        try {
          return sm2.doVerifySignature(Array.from(it.msg), hex(it.signature.subarray(0, 64)), hex(it.publicKey),
            { hash: true, der: false });
        } catch {
          return false;
        }
      });
    },
    validatePublicKey(publicKey) {
      try {
        return publicKey.length === 65 && publicKey[0] === 4 && sm2.verifyPublicKey(hex(publicKey));
      } catch {
        return false;
      }
    },
  };
}

interface ProjectSm2 {
  generateKeyPair(): KeyPair;
  getPublicKey(priv: Uint8Array): Uint8Array;
  sign(msg: Uint8Array, priv: Uint8Array, opts?: object): Uint8Array;
  signRecoverable?(msg: Uint8Array, priv: Uint8Array): Uint8Array;
  verify(msg: Uint8Array, sig: Uint8Array, pub: Uint8Array, opts?: object): boolean;
  verifyBatch(items: VerifyItem[]): boolean[];
  validatePublicKey?(pub: Uint8Array): boolean;
}

async function projectBackend(reference: Sm2Backend): Promise<Sm2Backend | undefined> {
  let mod: ProjectSm2;
  try {
    const path = '../crypto/sm2.js';
    mod = (await import(path)) as ProjectSm2;
  } catch {
    return undefined;
  }
  try {
    if (typeof mod.sign !== 'function' || typeof mod.verifyBatch !== 'function' || typeof mod.getPublicKey !== 'function') {
      return undefined;
    }
    // Known-answer cross-check against the reference implementation, both directions.
    const ref = reference.generateKeyPair();
    const msg = new TextEncoder().encode('gmledger sm2 self-check');
    const refSig = reference.sign(msg, ref.privateKey);
    const pub = mod.getPublicKey(ref.privateKey);
    if (hex(pub) !== hex(ref.publicKey)) return undefined;
    const ok = mod.verifyBatch([{ msg, signature: refSig, publicKey: ref.publicKey }]);
    const bad = mod.verifyBatch([{ msg: msg.subarray(1), signature: refSig, publicKey: ref.publicKey }]);
    if (ok[0] !== true || bad[0] !== false) return undefined;
    const sig = mod.signRecoverable ? mod.signRecoverable(msg, ref.privateKey) : mod.sign(msg, ref.privateKey);
    if (!reference.verifyBatch([{ msg, signature: sig.subarray(0, 64), publicKey: ref.publicKey }])[0]) return undefined;
    if (mod.signRecoverable && !mod.verifyBatch([{ msg, signature: sig, publicKey: ref.publicKey }])[0]) return undefined;
  } catch {
    return undefined;
  }
  return {
    name: 'gmledger-wasm',
    generateKeyPair: () => mod.generateKeyPair(),
    getPublicKey: (p) => mod.getPublicKey(p),
    sign: (m, p) => (mod.signRecoverable ? mod.signRecoverable(m, p) : mod.sign(m, p)),
    verifyBatch: (items) => mod.verifyBatch(items),
    validatePublicKey: (pk) => (mod.validatePublicKey ? mod.validatePublicKey(pk) : reference.validatePublicKey(pk)),
  };
}

const reference = smCryptoBackend();
export const sm2Backend: Sm2Backend = (await projectBackend(reference)) ?? reference;
