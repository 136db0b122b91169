// Input checks shared by the crypto API: every public function validates its arguments
// here, so bad input becomes a specific TypeError/RangeError before any WASM call.

export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
}

export function assertLength(value: unknown, length: number, name: string): asserts value is Uint8Array {
  assertBytes(value, name);
  if (value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

export function assertIndex(value: unknown, limit: number, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < 0 || value >= limit) {
    throw new RangeError(`${name} ${value} is out of range [0, ${limit})`);
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// Node's Buffer where there is one (fast, native); a plain loop in browsers.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('expected an even-length hex string');
  }
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(hex, 'hex'));
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** A short description of a value for error messages (never the whole of a large value). */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string': return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case 'bigint': return `bigint ${v}n`;
    case 'number': return String(v);
    case 'undefined': return 'undefined';
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return `a Uint8Array of ${v.length} bytes`;
      if (Array.isArray(v)) return `an Array of ${v.length}`;
      return `an object (${(v as { constructor?: { name?: string } }).constructor?.name ?? 'null prototype'})`;
    default: return typeof v;
  }
}
