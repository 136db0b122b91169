// SM3 and SHA-256 over the WASM core: one-shot, streaming and batch.

import { assertBytes } from './bytes.js';
import { ARENA_BASE, CTX_SIZE, core, mem, readDigests, reserve } from './wasm.js';

export type HashAlgorithm = 'sm3' | 'sha256';
export const DIGEST_BYTES = 32;

/** Inputs larger than this are fed to the core in chunks, so memory stays flat. */
export const CHUNK_BYTES = 1 << 20;
/** Most messages one hashBatch call takes. */
export const HASH_BATCH_MAX = 1 << 20;

export function algorithmId(alg: unknown): number {
  if (alg === 'sm3') return 0;
  if (alg === 'sha256') return 1;
  throw new TypeError(`unknown hash algorithm ${JSON.stringify(alg)}; expected 'sm3' or 'sha256'`);
}

// Arena layout for streaming: [ctx | pad to 128 | chunk ...]
const CTX_PTR = ARENA_BASE;
const DATA_PTR = ARENA_BASE + 128;

function oneshot(alg: number, data: Uint8Array): Uint8Array {
  if (data.length <= CHUNK_BYTES) {
    reserve(128 + data.length + DIGEST_BYTES);
    const out = DATA_PTR + data.length;
    const m = mem();
    m.set(data, DATA_PTR);
    core.hashOneshot(alg, DATA_PTR, data.length, out);
    return m.slice(out, out + DIGEST_BYTES);
  }
  const ctx = new Uint8Array(CTX_SIZE);
  streamInit(ctx, alg);
  streamUpdate(ctx, data);
  return streamFinal(ctx);
}

function streamInit(ctx: Uint8Array, alg: number): void {
  reserve(128);
  core.hashInit(CTX_PTR, alg);
  ctx.set(mem().subarray(CTX_PTR, CTX_PTR + CTX_SIZE));
}

function streamUpdate(ctx: Uint8Array, data: Uint8Array): void {
  reserve(128 + Math.min(data.length, CHUNK_BYTES));
  mem().set(ctx, CTX_PTR);
  for (let off = 0; off < data.length; off += CHUNK_BYTES) {
    const chunk = data.subarray(off, Math.min(off + CHUNK_BYTES, data.length));
    mem().set(chunk, DATA_PTR);
    core.hashUpdate(CTX_PTR, DATA_PTR, chunk.length);
  }
  ctx.set(mem().subarray(CTX_PTR, CTX_PTR + CTX_SIZE));
}

function streamFinal(ctx: Uint8Array): Uint8Array {
  reserve(128 + DIGEST_BYTES);
  const m = mem();
  m.set(ctx, CTX_PTR);
  core.hashFinal(CTX_PTR, DATA_PTR);
  return m.slice(DATA_PTR, DATA_PTR + DIGEST_BYTES);
}

/** SM3 digest (GB/T 32905) of `data`: 32 bytes. */
export function sm3(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return oneshot(0, data);
}

/** SHA-256 digest (FIPS 180-4) of `data`: 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return oneshot(1, data);
}

/** Digest of `data` with the named algorithm. */
export function hash(data: Uint8Array, alg: HashAlgorithm = 'sm3'): Uint8Array {
  const id = algorithmId(alg);
  assertBytes(data, 'data');
  return oneshot(id, data);
}

export interface Hash {
  update(data: Uint8Array): this;
  digest(): Uint8Array;
}

class StreamingHash implements Hash {
  readonly #ctx = new Uint8Array(CTX_SIZE);
  #done = false;

  constructor(alg: number) {
    streamInit(this.#ctx, alg);
  }

  update(data: Uint8Array): this {
    assertBytes(data, 'data');
    if (this.#done) throw new Error('hash already finalized: digest() was called');
    streamUpdate(this.#ctx, data);
    return this;
  }

  digest(): Uint8Array {
    if (this.#done) throw new Error('hash already finalized: digest() was called');
    this.#done = true;
    return streamFinal(this.#ctx);
  }
}

/** Streaming hash: `createHash('sm3').update(a).update(b).digest()`. */
export function createHash(alg: HashAlgorithm): Hash {
  return new StreamingHash(algorithmId(alg));
}

/**
 * Hashes many messages in one WASM call (no JS↔WASM crossing per message).
 * Returns one 32-byte digest per message, in order.
 */
export function hashBatch(messages: Uint8Array[], alg: HashAlgorithm = 'sm3'): Uint8Array[] {
  const id = algorithmId(alg);
  if (!Array.isArray(messages)) throw new TypeError('messages must be an array of Uint8Array');
  if (messages.length > HASH_BATCH_MAX) {
    throw new RangeError(`batch of ${messages.length} messages exceeds HASH_BATCH_MAX (${HASH_BATCH_MAX})`);
  }
  const layout = layMessages(messages, 'messages', DIGEST_BYTES * messages.length);
  core.hashBatch(id, layout.table, messages.length, layout.extra);
  return readDigests(layout.extra, messages.length);
}

/**
 * hashBatch for `count` messages of `size` bytes each, end to end in `data` (fixed-size
 * records): one copy in, no view per message, and the digests come back end to end
 * (count × 32 bytes) in one buffer.
 */
export function hashPacked(data: Uint8Array, count: number, size: number, alg: HashAlgorithm = 'sm3'): Uint8Array {
  const id = algorithmId(alg);
  if (count > HASH_BATCH_MAX) {
    throw new RangeError(`batch of ${count} messages exceeds HASH_BATCH_MAX (${HASH_BATCH_MAX})`);
  }
  const { table, extra } = layPacked(data, count, size, DIGEST_BYTES * count);
  core.hashBatch(id, table, count, extra);
  return mem().slice(extra, extra + count * DIGEST_BYTES);
}

export interface MessageLayout {
  /** Address of the (offset u32, length u32) table. */
  table: number;
  /** Address of `extraBytes` free bytes after the messages, 64-byte aligned. */
  extra: number;
}

/**
 * Lays `messages` into the arena as the core's message table followed by their bytes,
 * reserving `extraBytes` after them for outputs and scratch.
 */
export function layMessages(messages: Uint8Array[], name: string, extraBytes: number): MessageLayout {
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    assertBytes(messages[i], `${name}[${i}]`);
    total += messages[i].length;
  }
  const table = ARENA_BASE;
  const data = table + align64(messages.length * 8);
  const extra = data + align64(total);
  reserve(extra - ARENA_BASE + extraBytes);
  const m = mem();
  const entries = new Uint32Array(m.buffer, table, messages.length * 2);
  let at = data;
  for (let i = 0; i < messages.length; i++) {
    const msg = messages[i];
    m.set(msg, at);
    entries[2 * i] = at;
    entries[2 * i + 1] = msg.length;
    at += msg.length;
  }
  return { table, extra };
}

/** layMessages for `count` messages of `size` bytes end to end in `data`: one copy, a table of offsets. */
export function layPacked(data: Uint8Array, count: number, size: number, extraBytes: number): MessageLayout {
  assertBytes(data, 'data');
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(size) || count < 0 || size < 0 ||
      data.length !== count * size) {
    throw new RangeError(`${data.length} bytes are not ${count} messages of ${size} bytes`);
  }
  const table = ARENA_BASE;
  const start = table + align64(count * 8);
  const extra = start + align64(data.length);
  reserve(extra - ARENA_BASE + extraBytes);
  const m = mem();
  m.set(data, start);
  const entries = new Uint32Array(m.buffer, table, count * 2);
  for (let i = 0; i < count; i++) {
    entries[2 * i] = start + i * size;
    entries[2 * i + 1] = size;
  }
  return { table, extra };
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}
