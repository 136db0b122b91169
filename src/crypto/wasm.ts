// Loads the WASM core once per thread and owns its linear-memory layout: static data,
// then an arena from arenaBase() that calls lay their inputs and outputs in. Calls are
// synchronous and never nest, so one arena serves every call on this thread.
//
// Loading uses top-level await, so it works in Node (main thread and worker threads) and
// in browsers, which refuse to compile a module this size synchronously on the main
// thread: Node reads build/gmledger.wasm from disk; elsewhere it is fetched from the same
// relative URL (a page must serve build/ next to dist/; see docs/protocol.md, SDK).

export interface CoreExports {
  // SM2 (src/crypto/sm2.ts)
  SIGNER_BYTES: WebAssembly.Global;
  SM2_INIT_SCRATCH: WebAssembly.Global;
  SM2_BATCH_SCRATCH: WebAssembly.Global;
  SM2_ITEM_BYTES: WebAssembly.Global;
  sm2Init(scratch: number): void;
  sm2PublicKey(priv: number, out65: number): number;
  sm2SignerInit(priv: number, blob: number): number;
  sm2SignDigest(blob: number, e: number, rand: number, out: number): number;
  sm2Sign(blob: number, id: number, idLen: number, msg: number, msgLen: number, rand: number, out: number): number;
  sm2Digest(pk: number, id: number, idLen: number, msg: number, msgLen: number, out: number): void;
  sm2Verify(
    pk: number, pkLen: number, id: number, idLen: number, msg: number, msgLen: number, sig: number, sigLen: number,
  ): number;
  sm2VerifyDigest(pk: number, pkLen: number, e: number, sig: number, sigLen: number): number;
  sm2ValidatePublicKey(pk: number, len: number, out64: number): number;
  sm2ZaEncoded(pk: number, pkLen: number, id: number, idLen: number, out: number): number;
  sm2VerifyPacked(buf: number, count: number, out: number, rand: number, scratch: number): number;
  sm2BatchFallbacks(): number;
  memory: WebAssembly.Memory;
  arenaBase(): number;
  CTX_SIZE: WebAssembly.Global;
  hashInit(ctx: number, alg: number): void;
  hashUpdate(ctx: number, data: number, len: number): void;
  hashFinal(ctx: number, out: number): void;
  hashOneshot(alg: number, data: number, len: number, out: number): void;
  hashBatch(alg: number, table: number, count: number, out: number): void;
  merkleRoot(alg: number, table: number, count: number, scratch: number, out: number): void;
  merkleProof(alg: number, table: number, count: number, index: number, scratch: number, out: number): number;
  merkleVerify(
    alg: number, leaf: number, leafLen: number, index: number, treeSize: number,
    proof: number, proofCount: number, root: number,
  ): number;
  merkleConsistencyProof(alg: number, table: number, count: number, m: number, scratch: number, out: number): number;
  merkleVerifyConsistency(
    alg: number, m: number, n: number, proof: number, proofCount: number, oldRoot: number, newRoot: number,
  ): number;
  stateLeafBatch(alg: number, data: number, leafBytes: number, count: number, out: number): void;
  stateNodeBatch(alg: number, pairs: number, count: number, out: number): void;
  txCheckBatch(records: number, count: number, chainId: number, out: number): void;
}

/** Linear memory may not grow past this; wasm32 allows 4 GiB, we keep headroom. */
export const ARENA_MAX_BYTES = 2 * 1024 * 1024 * 1024;
const PAGE_BYTES = 65536;

// The literal `new URL('…', import.meta.url)` form is the one bundlers recognise as an asset.
const WASM_URL = new URL('../../../build/gmledger.wasm', import.meta.url);

const IS_NODE = typeof process === 'object' && typeof process.versions?.node === 'string';

async function wasmBytes(): Promise<BufferSource> {
  if (IS_NODE) {
    // Dynamic, so browsers and bundlers never need node:fs.
    const { readFileSync } = await import(/* webpackIgnore: true */ 'node:fs');
    return readFileSync(WASM_URL);
  }
  const res = await fetch(WASM_URL);
  if (!res.ok) throw new Error(`gmledger: cannot load the WASM core from ${WASM_URL.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

async function instantiate(): Promise<CoreExports> {
  const { instance } = await WebAssembly.instantiate(await wasmBytes(), {
    env: {
      abort(_msg: number, _file: number, line: number, column: number): never {
        throw new Error(`gmledger WASM assertion failed at ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}

export const core: CoreExports = await instantiate();
export const ARENA_BASE: number = core.arenaBase();
export const CTX_SIZE: number = core.CTX_SIZE.value as number;

let view = new Uint8Array(core.memory.buffer);

/** Current byte view of linear memory (re-created after the memory grows). */
export function mem(): Uint8Array {
  if (view.buffer !== core.memory.buffer) view = new Uint8Array(core.memory.buffer);
  return view;
}

/** Ensures the arena holds `bytes` bytes from ARENA_BASE; returns ARENA_BASE. */
export function reserve(bytes: number): number {
  const end = ARENA_BASE + bytes;
  if (end > ARENA_MAX_BYTES) {
    throw new RangeError(`input needs ${bytes} bytes of WASM memory; the limit is ${ARENA_MAX_BYTES - ARENA_BASE}`);
  }
  const have = core.memory.buffer.byteLength;
  if (end > have) core.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
  return ARENA_BASE;
}

/**
 * Copies `count` 32-byte digests starting at `ptr` out of linear memory: one copy into one
 * new buffer, handed out as a view per digest (a block's worth of record hashes would
 * otherwise cost one ArrayBuffer allocation each).
 */
export function readDigests(ptr: number, count: number): Uint8Array[] {
  return digestViews(mem().slice(ptr, ptr + count * 32));
}

/** A view per 32-byte digest of `packed` (digests end to end), sharing its buffer. */
export function digestViews(packed: Uint8Array): Uint8Array[] {
  const count = packed.length >>> 5;
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = packed.subarray(i * 32, i * 32 + 32);
  return out;
}
