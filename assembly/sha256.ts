// SHA-256 (FIPS 180-4): the IV and the compression function. Padding and streaming,
// shared with SM3, are in md.ts.

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const W: usize = memory.data(64 * 4);

/** Compresses one 64-byte block at `block` into the state at `v`. */
export function sha256Compress(v: usize, block: usize): void {
  for (let j = 0; j < 16; j++) {
    store<u32>(W + (<usize>j << 2), bswap<u32>(load<u32>(block + (<usize>j << 2))));
  }
  for (let j = 16; j < 64; j++) {
    const p = W + (<usize>j << 2);
    const w15 = load<u32>(p - 60), w2 = load<u32>(p - 8);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(p, load<u32>(p - 64) + s0 + load<u32>(p - 28) + s1);
  }
  let a = load<u32>(v), b = load<u32>(v, 4), c = load<u32>(v, 8), d = load<u32>(v, 12);
  let e = load<u32>(v, 16), f = load<u32>(v, 20), g = load<u32>(v, 24), h = load<u32>(v, 28);
  for (let j = 0; j < 64; j++) {
    const off = <usize>j << 2;
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + off) + load<u32>(W + off);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(v, a + load<u32>(v));
  store<u32>(v, b + load<u32>(v, 4), 4);
  store<u32>(v, c + load<u32>(v, 8), 8);
  store<u32>(v, d + load<u32>(v, 12), 12);
  store<u32>(v, e + load<u32>(v, 16), 16);
  store<u32>(v, f + load<u32>(v, 20), 20);
  store<u32>(v, g + load<u32>(v, 24), 24);
  store<u32>(v, h + load<u32>(v, 28), 28);
}

/** Writes the initial chaining value to `v`. */
export function sha256Init(v: usize): void {
  store<u32>(v, 0x6a09e667);
  store<u32>(v, 0xbb67ae85, 4);
  store<u32>(v, 0x3c6ef372, 8);
  store<u32>(v, 0xa54ff53a, 12);
  store<u32>(v, 0x510e527f, 16);
  store<u32>(v, 0x9b05688c, 20);
  store<u32>(v, 0x1f83d9ab, 24);
  store<u32>(v, 0x5be0cd19, 28);
}
