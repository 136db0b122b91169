// The public SM2 namespace, exported from 'gmledger' as `sm2`: everything sm2.ts offers
// except its test hook (signing with an injected nonce, which would hand any caller the
// means to reuse k and leak the private key).

export {
  PRIVATE_KEY_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, RECOVERABLE_SIGNATURE_BYTES, SM2_BATCH_MAX, SM2_ID_MAX,
  SM2_ITEM_BYTES, DEFAULT_ID,
  generateKeyPair, getPublicKey, validatePublicKey, decompressPublicKey, compressPublicKey, za, clearSigningCache,
  sign, signRecoverable, verify, verifyDigest, digest, packBatch, verifyBatchPacked, verifyBatch,
  signatureToDer, signatureFromDer, publicKeyToSpki, publicKeyFromSpki, publicKeyToPem, publicKeyFromPem,
} from './sm2.js';
export type { KeyPair, SignOptions, VerifyBatchItem } from './sm2.js';
