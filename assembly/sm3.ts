// SM3 (GB/T 32905-2016): the IV and the compression function. Padding and streaming,
// shared with SHA-256, are in md.ts.

// rotl(T_j, j mod 32) for j = 0..63, precomputed so the round does one load.
const T_ROT: usize = memory.data<u32>([
  0x79cc4519, 0xf3988a32, 0xe7311465, 0xce6228cb, 0x9cc45197, 0x3988a32f, 0x7311465e, 0xe6228cbc,
  0xcc451979, 0x988a32f3, 0x311465e7, 0x6228cbce, 0xc451979c, 0x88a32f39, 0x11465e73, 0x228cbce6,
  0x9d8a7a87, 0x3b14f50f, 0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3, 0x629ea1e7, 0xc53d43ce,
  0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec, 0xa7a879d8, 0x4f50f3b1, 0x9ea1e762, 0x3d43cec5,
  0x7a879d8a, 0xf50f3b14, 0xea1e7629, 0xd43cec53, 0xa879d8a7, 0x50f3b14f, 0xa1e7629e, 0x43cec53d,
  0x879d8a7a, 0x0f3b14f5, 0x1e7629ea, 0x3cec53d4, 0x79d8a7a8, 0xf3b14f50, 0xe7629ea1, 0xcec53d43,
  0x9d8a7a87, 0x3b14f50f, 0x7629ea1e, 0xec53d43c, 0xd8a7a879, 0xb14f50f3, 0x629ea1e7, 0xc53d43ce,
  0x8a7a879d, 0x14f50f3b, 0x29ea1e76, 0x53d43cec, 0xa7a879d8, 0x4f50f3b1, 0x9ea1e762, 0x3d43cec5,
]);

// Message expansion W[0..67], reused by every compression (no allocation).
const W: usize = memory.data(68 * 4);
// Padding scratch: at most two blocks are needed for the tail of a message.
// Context used by one-shot hashing.

// @ts-ignore: decorator
@inline function p0(x: u32): u32 { return x ^ rotl<u32>(x, 9) ^ rotl<u32>(x, 17); }
// @ts-ignore: decorator
@inline function p1(x: u32): u32 { return x ^ rotl<u32>(x, 15) ^ rotl<u32>(x, 23); }

/** Compresses one 64-byte block at `block` into the chaining value at `v`. */
export function sm3Compress(v: usize, block: usize): void {
  for (let j = 0; j < 16; j++) {
    store<u32>(W + (<usize>j << 2), bswap<u32>(load<u32>(block + (<usize>j << 2))));
  }
  for (let j = 16; j < 68; j++) {
    const p = W + (<usize>j << 2);
    const x = load<u32>(p - 64) ^ load<u32>(p - 36) ^ rotl<u32>(load<u32>(p - 12), 15);
    store<u32>(p, p1(x) ^ rotl<u32>(load<u32>(p - 52), 7) ^ load<u32>(p - 24));
  }
  let a = load<u32>(v), b = load<u32>(v, 4), c = load<u32>(v, 8), d = load<u32>(v, 12);
  let e = load<u32>(v, 16), f = load<u32>(v, 20), g = load<u32>(v, 24), h = load<u32>(v, 28);
  for (let j = 0; j < 16; j++) {
    const off = <usize>j << 2;
    const a12 = rotl<u32>(a, 12);
    const ss1 = rotl<u32>(a12 + e + load<u32>(T_ROT + off), 7);
    const ss2 = ss1 ^ a12;
    const w = load<u32>(W + off);
    const tt1 = (a ^ b ^ c) + d + ss2 + (w ^ load<u32>(W + off, 16));
    const tt2 = (e ^ f ^ g) + h + ss1 + w;
    d = c; c = rotl<u32>(b, 9); b = a; a = tt1;
    h = g; g = rotl<u32>(f, 19); f = e; e = p0(tt2);
  }
  for (let j = 16; j < 64; j++) {
    const off = <usize>j << 2;
    const a12 = rotl<u32>(a, 12);
    const ss1 = rotl<u32>(a12 + e + load<u32>(T_ROT + off), 7);
    const ss2 = ss1 ^ a12;
    const w = load<u32>(W + off);
    const tt1 = ((a & b) | (a & c) | (b & c)) + d + ss2 + (w ^ load<u32>(W + off, 16));
    const tt2 = ((e & f) | (~e & g)) + h + ss1 + w;
    d = c; c = rotl<u32>(b, 9); b = a; a = tt1;
    h = g; g = rotl<u32>(f, 19); f = e; e = p0(tt2);
  }
  store<u32>(v, a ^ load<u32>(v));
  store<u32>(v, b ^ load<u32>(v, 4), 4);
  store<u32>(v, c ^ load<u32>(v, 8), 8);
  store<u32>(v, d ^ load<u32>(v, 12), 12);
  store<u32>(v, e ^ load<u32>(v, 16), 16);
  store<u32>(v, f ^ load<u32>(v, 20), 20);
  store<u32>(v, g ^ load<u32>(v, 24), 24);
  store<u32>(v, h ^ load<u32>(v, 28), 28);
}

export function sm3Init(v: usize): void {
  store<u32>(v, 0x7380166f);
  store<u32>(v, 0x4914b2b9, 4);
  store<u32>(v, 0x172442d7, 8);
  store<u32>(v, 0xda8a0600, 12);
  store<u32>(v, 0xa96f30bc, 16);
  store<u32>(v, 0x163138aa, 20);
  store<u32>(v, 0xe38dee4d, 24);
  store<u32>(v, 0xb0fb0e4e, 28);
}
