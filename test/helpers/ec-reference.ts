// A plain BigInt reference for sm2p256v1 (affine, slow, obviously correct), written from
// GB/T 32918's definitions. It lets tests build inputs the WASM core can't be asked to make.

export const p = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn;
export const n = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n;
const a = p - 3n;
const b = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n;
export type Point = [bigint, bigint] | null;
export const G: Point = [
  0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
];

export const mod = (x: bigint, m = p): bigint => ((x % m) + m) % m;
function pow(base: bigint, e: bigint, m = p): bigint {
  let r = 1n, x = mod(base, m);
  for (; e > 0n; e >>= 1n) { if (e & 1n) r = (r * x) % m; x = (x * x) % m; }
  return r;
}
export const inv = (x: bigint, m = p): bigint => pow(x, m - 2n, m);

export function add(P: Point, Q: Point): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  let l: bigint;
  if (P[0] === Q[0]) {
    if (mod(P[1] + Q[1]) === 0n) return null;
    l = mod((3n * P[0] * P[0] + a) * inv(2n * P[1]));
  } else {
    l = mod((Q[1] - P[1]) * inv(Q[0] - P[0]));
  }
  const x = mod(l * l - P[0] - Q[0]);
  return [x, mod(l * (P[0] - x) - P[1])];
}

export function mul(k: bigint, P: Point): Point {
  let R: Point = null;
  for (let Q = P, e = mod(k, n); e > 0n; e >>= 1n, Q = add(Q, Q)) if (e & 1n) R = add(R, Q);
  return R;
}

export const neg = (P: Point): Point => (P === null ? null : [P[0], mod(-P[1])]);

/** The point with this x and y parity, or null if x is not on the curve. */
export function lift(x: bigint, parity: number): Point {
  const v = mod(x * x * x + a * x + b);
  const y = pow(v, (p + 1n) / 4n);
  if ((y * y) % p !== v) return null;
  return [x, Number(y & 1n) === parity ? y : p - y];
}

export const be32 = (v: bigint): Uint8Array => Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
export const pub65 = (P: [bigint, bigint]): Uint8Array => Uint8Array.from([4, ...be32(P[0]), ...be32(P[1])]);
