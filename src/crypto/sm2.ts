// SM2 signatures (GB/T 32918.2) over the WASM core: keys, signing, verification, Z_A,
// batch verification over a packed buffer. See docs/sm2.md for the design.
//
// Conventions: private keys are 32 bytes big-endian in [1, n-2]; public keys 65 bytes
// 04‖x‖y (33-byte compressed keys are accepted as input); signatures r‖s, 64 bytes, or
// r‖s‖hint, 65 bytes (signRecoverable: enables batch verification). Default user ID
// "1234567812345678" (GM/T 0009).

import { assertBytes, assertLength } from './bytes.js';
import { ARENA_BASE, core, mem, reserve } from './wasm.js';
import { sm3 } from './hash.js';

export {
  signatureToDer, signatureFromDer, publicKeyToSpki, publicKeyFromSpki, publicKeyToPem, publicKeyFromPem,
} from './der.js';

export const PRIVATE_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 65;
export const SIGNATURE_BYTES = 64;
export const RECOVERABLE_SIGNATURE_BYTES = 65;
/** Most items one verifyBatch / verifyBatchPacked call takes. */
export const SM2_BATCH_MAX = 1 << 16;
/** Longest user ID: ENTL is a 16-bit bit length. */
export const SM2_ID_MAX = 8191;
/** Bytes per item in the packed batch layout (see packBatch). */
export const SM2_ITEM_BYTES: number = core.SM2_ITEM_BYTES.value as number;
// The packed item's field offsets, as the WASM module defines them (assembly/sm2/batch.ts).
const itemOffset = (name: string): number => (core as unknown as Record<string, { value: number }>)[name].value;
const ITEM_FLAGS = itemOffset('SM2_ITEM_FLAGS');
const ITEM_HINT = itemOffset('SM2_ITEM_HINT');
const ITEM_ID_OFF = itemOffset('SM2_ITEM_ID_OFF');
const ITEM_ID_LEN = itemOffset('SM2_ITEM_ID_LEN');
const ITEM_MSG_OFF = itemOffset('SM2_ITEM_MSG_OFF');
const ITEM_MSG_LEN = itemOffset('SM2_ITEM_MSG_LEN');
const ITEM_E = itemOffset('SM2_ITEM_E');
const ITEM_R = itemOffset('SM2_ITEM_R');
export const DEFAULT_ID = new TextEncoder().encode('1234567812345678');

const SIGNER_BYTES: number = core.SIGNER_BYTES.value as number;
const BATCH_SCRATCH: number = core.SM2_BATCH_SCRATCH.value as number;
const DEFAULT_ID_MARKER = 0xffffffff;

// One-time fixed-base tables for G.
reserve(core.SM2_INIT_SCRATCH.value as number);
core.sm2Init(ARENA_BASE);

// ---- host CSPRNG ----

const RAND_POOL = 8192;
const randPool = new Uint8Array(RAND_POOL);
let randAt = RAND_POOL;

/** Copies n fresh CSPRNG bytes into dst at off; every byte is used once, then wiped. */
function fillRandom(dst: Uint8Array, off: number, n: number): void {
  if (n > RAND_POOL) {
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(dst.subarray(off + i, off + Math.min(n, i + 65536)));
    return;
  }
  if (randAt + n > RAND_POOL) {
    crypto.getRandomValues(randPool);
    randAt = 0;
  }
  dst.set(randPool.subarray(randAt, randAt + n), off);
  randPool.fill(0, randAt, randAt + n);
  randAt += n;
}

// ---- arena helpers ----

const align = (n: number): number => (n + 63) & ~63;

// ---- keys ----

export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Fresh key pair from the host CSPRNG. */
export function generateKeyPair(): KeyPair {
  reserve(128);
  const priv = ARENA_BASE;
  const pub = ARENA_BASE + 64;
  for (;;) {
    const m = mem();
    fillRandom(m, priv, 32);
    if (core.sm2PublicKey(priv, pub) === 1) {
      const out = { privateKey: m.slice(priv, priv + 32), publicKey: m.slice(pub, pub + 65) };
      m.fill(0, priv, priv + 32);
      return out;
    }
  }
}

function checkPrivateKey(privateKey: unknown): asserts privateKey is Uint8Array {
  assertLength(privateKey, PRIVATE_KEY_BYTES, 'privateKey');
}

/** 65-byte public key 04‖x‖y of a private key; RangeError if the key is not in [1, n-2]. */
export function getPublicKey(privateKey: Uint8Array): Uint8Array {
  checkPrivateKey(privateKey);
  reserve(128);
  const m = mem();
  m.set(privateKey, ARENA_BASE);
  const ok = core.sm2PublicKey(ARENA_BASE, ARENA_BASE + 64);
  m.fill(0, ARENA_BASE, ARENA_BASE + 32);
  if (ok !== 1) throw new RangeError('privateKey must be an integer in [1, n-2]');
  return m.slice(ARENA_BASE + 64, ARENA_BASE + 129);
}

/**
 * 1 if pk is a valid SM2 public key: 65 bytes 04‖x‖y or 33 bytes 02/03‖x, coordinates < p,
 * on the curve, not the point at infinity.
 */
export function validatePublicKey(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey');
  if (publicKey.length !== 65 && publicKey.length !== 33) return false;
  reserve(192);
  mem().set(publicKey, ARENA_BASE);
  return core.sm2ValidatePublicKey(ARENA_BASE, publicKey.length, ARENA_BASE + 128) === 1;
}

/** 65-byte form of a valid 33- or 65-byte public key; RangeError if invalid. */
export function decompressPublicKey(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  if (!validatePublicKey(publicKey)) throw new RangeError('invalid SM2 public key');
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(mem().subarray(ARENA_BASE + 128, ARENA_BASE + 192), 1);
  return out;
}

/** 33-byte compressed form 02/03‖x of a valid public key. */
export function compressPublicKey(publicKey: Uint8Array): Uint8Array {
  const full = decompressPublicKey(publicKey);
  const out = new Uint8Array(33);
  out[0] = 2 | (full[64] & 1);
  out.set(full.subarray(1, 33), 1);
  return out;
}

export interface SignOptions {
  /** User ID hashed into Z_A; default "1234567812345678". */
  id?: Uint8Array;
}

function checkId(id: unknown): Uint8Array | undefined {
  if (id === undefined) return undefined;
  assertBytes(id, 'id');
  if (id.length > SM2_ID_MAX) throw new RangeError(`id must be at most ${SM2_ID_MAX} bytes, got ${id.length}`);
  return id;
}

/** Z_A = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA) for a public key; RangeError if the key is invalid. */
export function za(publicKey: Uint8Array, id?: Uint8Array): Uint8Array {
  assertBytes(publicKey, 'publicKey');
  const uid = checkId(id);
  const idLen = uid ? uid.length : 0;
  reserve(128 + align(idLen) + 32);
  const m = mem();
  const pk = ARENA_BASE;
  const idp = ARENA_BASE + 128;
  const out = idp + align(idLen);
  if (publicKey.length !== 65 && publicKey.length !== 33) throw new RangeError('invalid SM2 public key');
  m.set(publicKey, pk);
  if (uid) m.set(uid, idp);
  if (core.sm2ZaEncoded(pk, publicKey.length, idp, uid ? idLen : DEFAULT_ID_MARKER, out) !== 1) {
    throw new RangeError('invalid SM2 public key');
  }
  return m.slice(out, out + 32);
}

// ---- signing ----

// Per-key signing state (d, (1+d)^-1, public key, default Z_A), keyed by SM3 of the key
// so the map holds no key bytes as strings. Small and bounded; clearSigningCache() empties it.
const SIGNER_CACHE_MAX = 64;
const signers = new Map<string, Uint8Array>();

/** Forgets cached per-key signing state (wipes it). */
export function clearSigningCache(): void {
  for (const blob of signers.values()) blob.fill(0);
  signers.clear();
}

/**
 * The cache key: SM3(privateKey ‖ 32 zero bytes) as a string. One whole 64-byte block is
 * compressed straight from the arena (the core keeps message words in locals), so no copy
 * of the key lands in the core's static hash buffers, as a 32-byte message would via its
 * partial-block buffer; the arena copy is wiped at once.
 */
function signerCacheKey(privateKey: Uint8Array): string {
  reserve(96);
  const m = mem();
  m.set(privateKey, ARENA_BASE);
  m.fill(0, ARENA_BASE + 32, ARENA_BASE + 64);
  core.hashOneshot(0, ARENA_BASE, 64, ARENA_BASE + 64);
  m.fill(0, ARENA_BASE, ARENA_BASE + 32);
  let key = '';
  for (let i = ARENA_BASE + 64; i < ARENA_BASE + 96; i++) key += String.fromCharCode(m[i]);
  return key;
}

function signerBlob(privateKey: Uint8Array): Uint8Array {
  const key = signerCacheKey(privateKey);
  let blob = signers.get(key);
  if (blob) return blob;
  reserve(64 + SIGNER_BYTES);
  const m = mem();
  m.set(privateKey, ARENA_BASE);
  const ok = core.sm2SignerInit(ARENA_BASE, ARENA_BASE + 64);
  m.fill(0, ARENA_BASE, ARENA_BASE + 32);
  if (ok !== 1) throw new RangeError('privateKey must be an integer in [1, n-2]');
  blob = m.slice(ARENA_BASE + 64, ARENA_BASE + 64 + SIGNER_BYTES);
  m.fill(0, ARENA_BASE + 64, ARENA_BASE + 64 + SIGNER_BYTES);
  if (signers.size >= SIGNER_CACHE_MAX) {
    const oldest = signers.keys().next().value as string;
    signers.get(oldest)?.fill(0);
    signers.delete(oldest);
  }
  signers.set(key, blob);
  return blob;
}

function signInternal(
  msg: Uint8Array, privateKey: Uint8Array, opts: SignOptions | undefined, nonce?: Uint8Array,
): Uint8Array {
  assertBytes(msg, 'msg');
  checkPrivateKey(privateKey);
  const uid = checkId(opts?.id);
  const blob = signerBlob(privateKey);
  const idLen = uid ? uid.length : 0;
  // [blob | rand 32 | out 65 | id | msg]
  const B = ARENA_BASE;
  const rand = B + align(SIGNER_BYTES);
  const out = rand + 64;
  const idp = out + 128;
  const msgp = idp + align(idLen);
  reserve(msgp - B + msg.length);
  const m = mem();
  m.set(blob, B);
  if (uid) m.set(uid, idp);
  m.set(msg, msgp);
  try {
    for (let attempt = 0; ; attempt++) {
      if (nonce) {
        if (attempt > 0) throw new RangeError('injected nonce rejected');
        m.set(nonce, rand);
      } else {
        fillRandom(m, rand, 32);
      }
      if (core.sm2Sign(B, idp, uid ? idLen : DEFAULT_ID_MARKER, msgp, msg.length, rand, out) === 1) {
        return m.slice(out, out + 65);
      }
    }
  } finally {
    m.fill(0, B, B + align(SIGNER_BYTES) + 32);
  }
}

/** SM2 signature r‖s (64 bytes) of msg under Z_A(id); nonce from the host CSPRNG. */
export function sign(msg: Uint8Array, privateKey: Uint8Array, opts?: SignOptions): Uint8Array {
  return signInternal(msg, privateKey, opts).slice(0, 64);
}

/**
 * r‖s‖hint (65 bytes): the standard signature plus one byte (bit0 parity of y1, bit1
 * x1 ≥ n) that lets verifyBatch check it inside a batch equation. Verifiers that do not
 * know the hint use the first 64 bytes.
 */
export function signRecoverable(msg: Uint8Array, privateKey: Uint8Array, opts?: SignOptions): Uint8Array {
  return signInternal(msg, privateKey, opts);
}

/** @internal Test hook: signs with an injected nonce k (32 bytes) — never use in production. */
export function _signWithNonce(msg: Uint8Array, privateKey: Uint8Array, k: Uint8Array, opts?: SignOptions): Uint8Array {
  assertLength(k, 32, 'k');
  return signInternal(msg, privateKey, opts, k);
}

// ---- verification ----

function sigOk(signature: Uint8Array): boolean {
  return signature.length === 64 || signature.length === 65;
}
function pkOk(pk: Uint8Array): boolean {
  return (pk.length === 65 && pk[0] === 4) || (pk.length === 33 && (pk[0] === 2 || pk[0] === 3));
}

/** Verifies r‖s (or r‖s‖hint; the hint is ignored) on msg under Z_A(id). Never throws on bad values. */
export function verify(msg: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, opts?: SignOptions): boolean {
  assertBytes(msg, 'msg');
  assertBytes(signature, 'signature');
  assertBytes(publicKey, 'publicKey');
  const id = opts?.id;
  if (id !== undefined) assertBytes(id, 'id');
  if (!sigOk(signature) || !pkOk(publicKey) || (id && id.length > SM2_ID_MAX)) return false;
  const idLen = id ? id.length : 0;
  // [pk 128 | sig 128 | id | msg]
  const B = ARENA_BASE;
  const sig = B + 128;
  const idp = B + 256;
  const msgp = idp + align(idLen);
  reserve(msgp - B + msg.length);
  const m = mem();
  m.set(publicKey, B);
  m.set(signature, sig);
  if (id) m.set(id, idp);
  m.set(msg, msgp);
  return core.sm2Verify(B, publicKey.length, idp, id ? idLen : DEFAULT_ID_MARKER, msgp, msg.length,
    sig, signature.length) === 1;
}

/** Verifies a signature on a precomputed digest e = SM3(Z_A‖M) (32 bytes). */
export function verifyDigest(e: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  assertBytes(e, 'e');
  assertBytes(signature, 'signature');
  assertBytes(publicKey, 'publicKey');
  if (e.length !== 32 || !sigOk(signature) || !pkOk(publicKey)) return false;
  reserve(384);
  const m = mem();
  m.set(publicKey, ARENA_BASE);
  m.set(e, ARENA_BASE + 128);
  m.set(signature, ARENA_BASE + 192);
  return core.sm2VerifyDigest(ARENA_BASE, publicKey.length, ARENA_BASE + 128, ARENA_BASE + 192, signature.length) === 1;
}

/** e = SM3(Z_A‖M) for a public key, ID and message (what verifyDigest takes). */
export function digest(msg: Uint8Array, publicKey: Uint8Array, opts?: SignOptions): Uint8Array {
  assertBytes(msg, 'msg');
  const z = za(publicKey, opts?.id);
  const buf = new Uint8Array(32 + msg.length);
  buf.set(z, 0);
  buf.set(msg, 32);
  return sm3(buf);
}

// ---- batches ----

export interface VerifyBatchItem {
  msg: Uint8Array;
  signature: Uint8Array;
  publicKey: Uint8Array;
  id?: Uint8Array;
  /** Precomputed e = SM3(Z_A‖M); when given, msg and id are not hashed (msg may be empty). */
  digest?: Uint8Array;
}

const F_HINT = 1;
const F_DIGEST = 2;
const F_ID = 4;
const F_REJECT = 128;

function checkItems(items: unknown): asserts items is VerifyBatchItem[] {
  if (!Array.isArray(items)) throw new TypeError('items must be an array');
  if (items.length > SM2_BATCH_MAX) {
    throw new RangeError(`batch of ${items.length} items exceeds SM2_BATCH_MAX (${SM2_BATCH_MAX})`);
  }
}

/** Bytes packBatch produces for these items. */
function packedSize(items: VerifyBatchItem[]): number {
  let extra = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it === null || typeof it !== 'object') throw new TypeError(`items[${i}] must be an object`);
    assertBytes(it.signature, `items[${i}].signature`);
    assertBytes(it.publicKey, `items[${i}].publicKey`);
    if (it.digest !== undefined) assertBytes(it.digest, `items[${i}].digest`);
    else assertBytes(it.msg, `items[${i}].msg`);
    if (it.id !== undefined) assertBytes(it.id, `items[${i}].id`);
    if (it.digest === undefined) extra += it.msg.length + (it.id ? it.id.length : 0);
  }
  return items.length * SM2_ITEM_BYTES + extra;
}

/** Writes items in the packed layout into dst[0 .. packedSize). */
function packInto(items: VerifyBatchItem[], dst: Uint8Array, dstOff: number): void {
  const dv = new DataView(dst.buffer, dst.byteOffset + dstOff);
  let data = items.length * SM2_ITEM_BYTES;
  dst.fill(0, dstOff, dstOff + data);
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const rec = i * SM2_ITEM_BYTES;
    const at = dstOff + rec;
    let flags = 0;
    const sig = it.signature;
    const pk = it.publicKey;
    if (!sigOk(sig) || !pkOk(pk) || (it.id && it.id.length > SM2_ID_MAX) ||
        (it.digest !== undefined && it.digest.length !== 32)) {
      flags = F_REJECT;
    } else {
      dst.set(pk, at);
      dst.set(sig.subarray(0, 64), at + ITEM_R);
      if (sig.length === 65) { flags |= F_HINT; dst[at + ITEM_HINT] = sig[64]; }
      if (it.digest !== undefined) {
        flags |= F_DIGEST;
        dst.set(it.digest, at + ITEM_E);
      } else {
        if (it.id) {
          flags |= F_ID;
          dv.setUint32(rec + ITEM_ID_OFF, data, true);
          dv.setUint32(rec + ITEM_ID_LEN, it.id.length, true);
          dst.set(it.id, dstOff + data);
          data += it.id.length;
        }
        dv.setUint32(rec + ITEM_MSG_OFF, data, true);
        dv.setUint32(rec + ITEM_MSG_LEN, it.msg.length, true);
        dst.set(it.msg, dstOff + data);
        data += it.msg.length;
      }
    }
    dst[at + ITEM_FLAGS] = flags;
  }
}

/**
 * Packs items into one buffer in the layout sm2VerifyPacked / verifyBatchPacked read:
 * `count` records of SM2_ITEM_BYTES (192) followed by the IDs and messages they point to.
 * Record: [0,65) public key (04‖x‖y or 02/03‖x), [65] flags (bit0 hint, bit1 digest
 * present, bit2 custom ID, bit7 reject), [66] hint, [68,72) ID offset, [72,76) ID length,
 * [76,80) message offset, [80,84) message length (u32 LE, offsets from the buffer start),
 * [96,128) e, [128,160) r, [160,192) s. The buffer is self-contained, so it can be
 * transferred to a worker thread as is.
 */
export function packBatch(items: VerifyBatchItem[]): Uint8Array {
  checkItems(items);
  const buf = new Uint8Array(packedSize(items));
  packInto(items, buf, 0);
  return buf;
}

/**
 * Verifies a packed batch (see packBatch) in one WASM call; returns one byte per item
 * (1 valid, 0 invalid). The buffer is not modified.
 */
export function verifyBatchPacked(packed: Uint8Array, count: number): Uint8Array {
  assertBytes(packed, 'packed');
  if (!Number.isSafeInteger(count) || count < 0) throw new TypeError('count must be a non-negative integer');
  if (count > SM2_BATCH_MAX) throw new RangeError(`batch of ${count} items exceeds SM2_BATCH_MAX (${SM2_BATCH_MAX})`);
  if (packed.length < count * SM2_ITEM_BYTES) throw new RangeError('packed buffer is shorter than count records');
  const bad = badPackedItems(packed, count);
  const buf = ARENA_BASE;
  const out = buf + align(packed.length);
  const rand = out + align(count);
  const scratch = rand + align(16 * count);
  reserve(scratch - ARENA_BASE + BATCH_SCRATCH);
  const m = mem();
  m.set(packed, buf);
  for (const i of bad) m[buf + i * SM2_ITEM_BYTES + ITEM_FLAGS] |= F_REJECT;
  fillRandom(m, rand, 16 * count);
  core.sm2VerifyPacked(buf, count, out, rand, scratch);
  return m.slice(out, out + count);
}

// Offsets come from the caller's buffer: every item whose ID or message would be read
// outside it (or whose ID is too long) is rejected. The caller's buffer is not modified.
function badPackedItems(packed: Uint8Array, count: number): number[] {
  const dv = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const bad: number[] = [];
  for (let i = 0; i < count; i++) {
    const rec = i * SM2_ITEM_BYTES;
    const flags = packed[rec + ITEM_FLAGS];
    if (flags & (F_REJECT | F_DIGEST)) continue;
    // IDs and messages must lie after the records: the core rewrites records in place
    // (expanded keys, e), so a range inside them would be read after it changed.
    const dataStart = count * SM2_ITEM_BYTES;
    const msgOff = dv.getUint32(rec + ITEM_MSG_OFF, true);
    let ok = msgOff >= dataStart && msgOff + dv.getUint32(rec + ITEM_MSG_LEN, true) <= packed.length;
    if (flags & F_ID) {
      const idOff = dv.getUint32(rec + ITEM_ID_OFF, true), idLen = dv.getUint32(rec + ITEM_ID_LEN, true);
      ok &&= idLen <= SM2_ID_MAX && idOff >= dataStart && idOff + idLen <= packed.length;
    }
    if (!ok) bad.push(i);
  }
  return bad;
}

/**
 * Verifies many signatures at once: 65-byte (hinted) signatures are checked together by
 * one random linear combination; 64-byte ones one by one; if the combination fails, each
 * hinted signature is re-checked individually. Same answers as calling verify per item.
 */
export function verifyBatch(items: VerifyBatchItem[]): boolean[] {
  checkItems(items);
  const count = items.length;
  const size = packedSize(items);
  const buf = ARENA_BASE;
  const out = buf + align(size);
  const rand = out + align(count);
  const scratch = rand + align(16 * count);
  reserve(scratch - ARENA_BASE + BATCH_SCRATCH);
  const m = mem();
  packInto(items, m, buf);
  fillRandom(m, rand, 16 * count);
  core.sm2VerifyPacked(buf, count, out, rand, scratch);
  const res: boolean[] = new Array(count);
  for (let i = 0; i < count; i++) res[i] = m[out + i] === 1;
  return res;
}
