// DER and SPKI/PEM encodings for SM2, used only at the edges (OpenSSL, X.509 tooling):
// inside gmledger signatures are r‖s (64 bytes, GM/T 0009) and keys 04‖x‖y (65 bytes).

import { assertBytes, assertLength } from './bytes.js';

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const body = v.subarray(i);
  const pad = body[0] & 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/** r‖s (64 bytes) → DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function signatureToDer(sig: Uint8Array): Uint8Array {
  assertBytes(sig, 'signature');
  if (sig.length !== 64 && sig.length !== 65) {
    throw new RangeError(`signature must be 64 (r‖s) or 65 (r‖s‖hint) bytes, got ${sig.length}`);
  }
  const r = derInteger(sig.subarray(0, 32));
  const s = derInteger(sig.subarray(32, 64));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length; // at most 70, short form
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

function readInteger(der: Uint8Array, at: number): { value: Uint8Array; next: number } {
  if (der[at] !== 0x02) throw new RangeError('DER signature: expected INTEGER');
  const len = der[at + 1];
  if (len === undefined || len === 0 || len > 33 || at + 2 + len > der.length) {
    throw new RangeError('DER signature: bad INTEGER length');
  }
  const body = der.subarray(at + 2, at + 2 + len);
  if (body[0] & 0x80) throw new RangeError('DER signature: negative INTEGER');
  if (len > 1 && body[0] === 0 && !(body[1] & 0x80)) throw new RangeError('DER signature: non-minimal INTEGER');
  const v = body[0] === 0 && len > 1 ? body.subarray(1) : body;
  if (v.length > 32) throw new RangeError('DER signature: INTEGER longer than 32 bytes');
  const value = new Uint8Array(32);
  value.set(v, 32 - v.length);
  return { value, next: at + 2 + len };
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → r‖s (64 bytes). Strict DER; throws RangeError. */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  assertBytes(der, 'der');
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) {
    throw new RangeError('DER signature: expected SEQUENCE spanning the input');
  }
  const r = readInteger(der, 2);
  const s = readInteger(der, r.next);
  if (s.next !== der.length) throw new RangeError('DER signature: trailing bytes');
  const out = new Uint8Array(64);
  out.set(r.value, 0);
  out.set(s.value, 32);
  return out;
}

// SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, sm2p256v1 }, BIT STRING 04‖x‖y }
// (Decoded without Buffer: this runs at module load, also in browsers.)
const SPKI_PREFIX = Uint8Array.from(
  '3059301306072a8648ce3d020106082a811ccf5501822d03420004'.match(/../g)!, (h) => parseInt(h, 16));

/** 65-byte 04‖x‖y → DER SubjectPublicKeyInfo (91 bytes). */
export function publicKeyToSpki(publicKey: Uint8Array): Uint8Array {
  assertLength(publicKey, 65, 'publicKey');
  if (publicKey[0] !== 4) throw new RangeError('publicKey must be uncompressed (04‖x‖y)');
  const out = new Uint8Array(SPKI_PREFIX.length + 64);
  out.set(SPKI_PREFIX, 0);
  out.set(publicKey.subarray(1), SPKI_PREFIX.length);
  return out;
}

/** DER SubjectPublicKeyInfo for an SM2 key → 65-byte 04‖x‖y (not validated on the curve). */
export function publicKeyFromSpki(spki: Uint8Array): Uint8Array {
  assertBytes(spki, 'spki');
  if (spki.length !== SPKI_PREFIX.length + 64) throw new RangeError('not an SM2 SubjectPublicKeyInfo');
  for (let i = 0; i < SPKI_PREFIX.length; i++) {
    if (spki[i] !== SPKI_PREFIX[i]) throw new RangeError('not an SM2 SubjectPublicKeyInfo');
  }
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(spki.subarray(SPKI_PREFIX.length), 1);
  return out;
}

/** 65-byte public key → PEM "PUBLIC KEY". */
export function publicKeyToPem(publicKey: Uint8Array): string {
  const b64 = Buffer.from(publicKeyToSpki(publicKey)).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}

/** PEM "PUBLIC KEY" → 65-byte public key. */
export function publicKeyFromPem(pem: string): Uint8Array {
  if (typeof pem !== 'string') throw new TypeError('pem must be a string');
  const m = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem);
  if (!m) throw new RangeError('no PUBLIC KEY block in PEM');
  return publicKeyFromSpki(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
}
