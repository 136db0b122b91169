// Record builders, encode and the SDK's public functions check every argument: each field
// of each kind, at and beyond each bound, and wrong types. Nothing is wrapped, truncated or
// converted: a value is encoded exactly (and decodes back equal) or refused with a
// TypeError / RangeError whose message names the field (docs/api.md, "Record fields").

import { describe, expect, it } from 'vitest';
import {
  Kind, RECORD_BYTES, ROLES_ALL, type KindName, checkStructure, concatRecords, decode, encode, setU128,
} from '../dist/src/codec/record.js';
import { buildRecord, generateSigner, keyIdOf, records, signRecord, signerFromKeyPair, type Signer } from '../dist/src/codec/builders.js';
import { sm2 } from '../dist/src/index.js';
import { Client, type WebSocketLike } from '../dist/src/client/index.js';
import { Frame, HEADER_BYTES, makeFrame } from '../dist/src/protocol/wire.js';

// ---------------------------------------------------------------------------------------
// The field table, written from docs/api.md / docs/protocol.md (not from the code).

type FieldType =
  | { t: 'uint'; max: number }                  // a number: safe integer in [0, max]
  | { t: 'bits'; mask: number; width: number }  // a number: integer in [0, width], only `mask` bits
  | { t: 'big'; bits: 64 | 128 }                // a bigint in [0, 2^bits − 1]
  | { t: 'bytes'; len: number };                // a Uint8Array of exactly len bytes
interface FieldSpec { name: string; type: FieldType; required: boolean }

const U16 = 0xffff, U32 = 0xffffffff;
const FLAG_MASK: Record<KindName, number> = {
  register_key: 0x1, create_account: 0x7, transfer: 0x3f, anchor: 0x1,
  freeze_account: 0x1, unfreeze_account: 0x1, halt_ledger: 0x1, resume_ledger: 0x1,
  cycle_open: 0x1, cycle_member: 0x1, cycle_close: 0x1, cycle_regulate: 0x1, rule: 0x1,
  toll_rule: 0x1, trip: 0x1, blacklist: 0x1,
};
const header = (kind: KindName): FieldSpec[] => [
  { name: 'flags', type: { t: 'bits', mask: FLAG_MASK[kind], width: U16 }, required: false },
  { name: 'chainId', type: { t: 'uint', max: U32 }, required: true },
  { name: 'timestamp', type: { t: 'big', bits: 64 }, required: false },
  { name: 'id', type: { t: 'big', bits: 128 }, required: true },
];
const u128 = (name: string, required = false): FieldSpec => ({ name, type: { t: 'big', bits: 128 }, required });
const BODY: Record<KindName, FieldSpec[]> = {
  register_key: [
    { name: 'publicKey', type: { t: 'bytes', len: 65 }, required: true },
    { name: 'roles', type: { t: 'bits', mask: 0x1f, width: 0xff }, required: true },
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: false },
  ],
  create_account: [
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: true },
    { name: 'code', type: { t: 'uint', max: U16 }, required: true },
    u128('userData'),
    { name: 'controller', type: { t: 'bytes', len: 32 }, required: true },
  ],
  transfer: [
    u128('debitAccountId'), u128('creditAccountId'), u128('amount'), u128('pendingId'), u128('userData'),
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: false },
    { name: 'code', type: { t: 'uint', max: U16 }, required: false },
    { name: 'timeout', type: { t: 'uint', max: U32 }, required: false },
  ],
  anchor: [
    { name: 'digest', type: { t: 'bytes', len: 32 }, required: true },
    { name: 'metadata', type: { t: 'bytes', len: 32 }, required: false },
  ],
  freeze_account: [u128('accountId', true)],
  unfreeze_account: [u128('accountId', true)],
  halt_ledger: [{ name: 'ledger', type: { t: 'uint', max: U32 }, required: true }],
  resume_ledger: [{ name: 'ledger', type: { t: 'uint', max: U32 }, required: true }],
  cycle_open: [
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: true },
    { name: 'code', type: { t: 'uint', max: U16 }, required: true },
    u128('clearingAccountId', true),
  ],
  cycle_member: [u128('cycleId', true), u128('accountId', true)],
  cycle_close: [u128('cycleId', true)],
  cycle_regulate: [
    u128('cycleId', true),
    { name: 'action', type: { t: 'uint', max: 0xff }, required: true },
    { name: 'untilMs', type: { t: 'big', bits: 64 }, required: false },
    u128('accountId'), u128('amount'),
  ],
  rule: [
    { name: 'ruleId', type: { t: 'uint', max: U32 }, required: true },
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: true },
    { name: 'code', type: { t: 'uint', max: U16 }, required: false },
    { name: 'tier', type: { t: 'uint', max: 0xff }, required: true },
    u128('accountId'), u128('maxAmount'),
    { name: 'windowMs', type: { t: 'uint', max: U32 }, required: false },
    { name: 'maxCount', type: { t: 'uint', max: U32 }, required: false },
    u128('maxWindowAmount'),
  ],
  toll_rule: [
    { name: 'ruleVersion', type: { t: 'uint', max: U32 }, required: true },
    { name: 'action', type: { t: 'uint', max: 0xff }, required: true },
    { name: 'mode', type: { t: 'uint', max: 0xff }, required: false },
    { name: 'code', type: { t: 'uint', max: U16 }, required: false },
    { name: 'ledger', type: { t: 'uint', max: U32 }, required: true },
    { name: 'section', type: { t: 'uint', max: U32 }, required: false },
    { name: 'effectiveHeight', type: { t: 'big', bits: 64 }, required: false },
    u128('operatorAccountId'),
    { name: 'sectionCount', type: { t: 'uint', max: U32 }, required: false },
    { name: 'classValues', type: { t: 'bytes', len: 64 }, required: false },
  ],
  trip: [
    u128('issuerAccountId', true),
    { name: 'vehicleId', type: { t: 'big', bits: 64 }, required: false },
    { name: 'tripTimeMs', type: { t: 'big', bits: 64 }, required: false },
    { name: 'toll', type: { t: 'uint', max: U32 }, required: true },
    { name: 'ruleVersion', type: { t: 'uint', max: U32 }, required: true },
    { name: 'vehicleClass', type: { t: 'uint', max: 0xff }, required: true },
    { name: 'sectionCount', type: { t: 'uint', max: 0xff }, required: true },
    { name: 'sections', type: { t: 'bytes', len: 64 }, required: true },
  ],
  blacklist: [
    { name: 'action', type: { t: 'uint', max: 0xff }, required: true },
    { name: 'mode', type: { t: 'uint', max: 0xff }, required: false },
    { name: 'vehicleId', type: { t: 'big', bits: 64 }, required: false },
    u128('accountId'),
  ],
};
const BUILDER: Record<KindName, (f: never, s: Signer) => Uint8Array> = {
  register_key: records.registerKey, create_account: records.createAccount, transfer: records.transfer,
  anchor: records.anchor, freeze_account: records.freezeAccount, unfreeze_account: records.unfreezeAccount,
  halt_ledger: records.haltLedger, resume_ledger: records.resumeLedger,
  cycle_open: records.cycleOpen, cycle_member: records.cycleMember, cycle_close: records.cycleClose,
  cycle_regulate: records.cycleRegulate, rule: records.rule,
  toll_rule: records.tollRule, trip: records.trip, blacklist: records.blacklist,
};
const KINDS = Object.keys(Kind) as KindName[];

const me = generateSigner();
const pk = me.publicKey;
/** Valid fields of each kind: every required field, nothing else (builders add kind and signer). */
const base = (kind: KindName): Record<string, unknown> => {
  const f: Record<string, unknown> = { chainId: 7, id: 5n };
  for (const s of BODY[kind]) {
    if (!s.required) continue;
    f[s.name] = s.type.t === 'bytes' ? new Uint8Array(s.type.len).fill(3) : s.type.t === 'big' ? 1n : 1;
  }
  if (kind === 'register_key') f.publicKey = pk;
  return f;
};
/** The value of a field read back from the decoded record. */
const readBack = (rec: Uint8Array, name: string): unknown => {
  const d = decode(rec) as unknown as Record<string, unknown> & { body: Record<string, unknown> };
  return name in d && name !== 'body' ? d[name] : d.body[name];
};

/** Values accepted for a field, and expected back from decode. */
function accepted(t: FieldType): unknown[] {
  switch (t.t) {
    case 'uint': return [0, 1, t.max];
    case 'bits': return [0, t.mask, t.mask & -t.mask]; // none, every defined bit, the lowest one
    case 'big': return [0n, 1n, (1n << BigInt(t.bits)) - 1n];
    case 'bytes': return [new Uint8Array(t.len).fill(0xab), new Uint8Array(t.len)];
  }
}
/** Values refused, with the error class. */
function refused(t: FieldType): [string, unknown, typeof TypeError | typeof RangeError][] {
  const wrongTypes: [string, unknown, typeof TypeError][] = [
    ['a string', '1', TypeError], ['null', null, TypeError], ['an object', {}, TypeError], ['a boolean', true, TypeError],
  ];
  switch (t.t) {
    case 'uint': case 'bits': {
      const max = t.t === 'uint' ? t.max : t.width;
      const out: [string, unknown, typeof TypeError | typeof RangeError][] = [
        ...wrongTypes,
        ['max + 1', max + 1, RangeError], ['-1', -1, RangeError], ['2^32 + 1', 2 ** 32 + 1, RangeError],
        ['2^53', 2 ** 53, RangeError], ['-0.5', -0.5, TypeError],
        ['1.5', 1.5, TypeError], ['NaN', NaN, TypeError], ['Infinity', Infinity, TypeError], ['-Infinity', -Infinity, TypeError],
        ['a bigint', 1n, TypeError],
      ];
      if (t.t === 'bits') {
        for (let bit = 0; (1 << bit) <= t.width; bit++) {
          if ((t.mask & (1 << bit)) === 0) out.push([`reserved bit ${bit}`, 1 << bit, RangeError]);
        }
        out.push(['every bit', t.width, RangeError], ['defined bits + one beyond width', t.mask + t.width + 1, RangeError]);
      }
      return out;
    }
    case 'big': {
      const max = (1n << BigInt(t.bits)) - 1n;
      return [
        ...wrongTypes,
        ['max + 1', max + 1n, RangeError], ['-1n', -1n, RangeError], ['2^128', 1n << 128n, RangeError],
        ['a number', 1, TypeError], ['a number 0', 0, TypeError], ['1.5', 1.5, TypeError], ['NaN', NaN, TypeError],
      ];
    }
    case 'bytes':
      return [
        ...wrongTypes,
        ['one byte short', new Uint8Array(t.len - 1), RangeError], ['one byte long', new Uint8Array(t.len + 1), RangeError],
        ['empty', new Uint8Array(0), RangeError],
        ['a plain Array', Array.from({ length: t.len }, () => 1), TypeError],
        ['an ArrayBuffer', new ArrayBuffer(t.len), TypeError],
        ['a hex string', 'ab'.repeat(t.len), TypeError],
        ['a Uint16Array', new Uint16Array(t.len), TypeError],
      ];
  }
}

const nameRe = (name: string) => new RegExp(`\\b${name}\\b`);

// Through encode (every path: builders, the JSON submit path at the node) and through the builders.
const encodeVia = (kind: KindName, f: Record<string, unknown>) =>
  encode({ ...f, kind, signer: me.keyId } as never);
const buildVia = (kind: KindName, f: Record<string, unknown>) => BUILDER[kind](f as never, me);

describe.each(KINDS)('%s: every field at and beyond its bounds', (kind) => {
  const fields = [...header(kind), ...BODY[kind]];

  it('the minimal fields encode, sign and pass the structure check', () => {
    const rec = buildVia(kind, base(kind));
    expect(decode(rec).kind).toBe(kind);
    expect(checkStructure(rec, 0, 7)).toBe(0);
    expect(sm2.verify(rec.subarray(0, 191), rec.subarray(191, 255), pk)).toBe(true);
  });

  for (const spec of fields) {
    describe(spec.name, () => {
      it.each(accepted(spec.type).map((v) => [String(v instanceof Uint8Array ? `${v.length} bytes` : v), v]))(
        'accepts %s and decodes it back equal', (_n, v) => {
          const f = { ...base(kind), [spec.name]: v };
          expect(readBack(encodeVia(kind, f), spec.name)).toEqual(v);
          if (spec.name === 'id' || spec.name === 'chainId' || _n === '0') {
            expect(readBack(buildVia(kind, f), spec.name)).toEqual(v); // and signed (a sample: SM2 is slow)
          }
        });

      it.each(refused(spec.type))('refuses %s', (_n, v, cls) => {
        const f = { ...base(kind), [spec.name]: v };
        for (const via of [encodeVia, buildVia]) {
          let err: unknown;
          try { via(kind, f); } catch (e) { err = e; }
          expect(err, `${kind}.${spec.name} = ${_n}`).toBeInstanceOf(cls);
          expect((err as Error).message).toMatch(nameRe(spec.name));
        }
      });

      if (spec.required) {
        it('is required', () => {
          const f = base(kind);
          delete f[spec.name];
          expect(() => encodeVia(kind, f)).toThrow(TypeError);
          expect(() => buildVia(kind, f)).toThrow(nameRe(spec.name));
          // undefined is the same as absent
          expect(() => buildVia(kind, { ...f, [spec.name]: undefined })).toThrow(new RegExp(`${spec.name} is required`));
        });
      } else {
        it('is optional: absent or undefined encodes its zero', () => {
          const zero = spec.type.t === 'bytes' ? new Uint8Array(spec.type.len) : spec.type.t === 'big' ? 0n : 0;
          if (spec.name === 'timestamp') return; // defaults to the current time, below
          expect(readBack(encodeVia(kind, base(kind)), spec.name)).toEqual(zero);
          expect(readBack(encodeVia(kind, { ...base(kind), [spec.name]: undefined }), spec.name)).toEqual(zero);
        });
      }
    });
  }

  it('refuses a field the kind does not have, naming it and the kind', () => {
    const others = new Set(KINDS.flatMap((k) => BODY[k].map((s) => s.name)));
    for (const s of BODY[kind]) others.delete(s.name);
    for (const name of [...others, 'bogus', 'ledgerId', 'amout', 'hint', 'signature', 'version']) {
      for (const via of [encodeVia, buildVia]) {
        let err: unknown;
        try { via(kind, { ...base(kind), [name]: 1 }); } catch (e) { err = e; }
        expect(err, `${kind} + ${name}`).toBeInstanceOf(TypeError);
        expect((err as Error).message).toContain(`unknown field "${name}" for kind ${kind}`);
      }
    }
  });

  it('the builder refuses kind and signer inside fields', () => {
    expect(() => buildVia(kind, { ...base(kind), kind: 'anchor' })).toThrow(/kind/);
    expect(() => buildVia(kind, { ...base(kind), signer: me.keyId })).toThrow(/signer/);
  });
});

describe('the cases of the defect report', () => {
  const T = { chainId: 7, id: 5n, debitAccountId: 1n, creditAccountId: 2n, amount: 1n, ledger: 1, code: 1 };
  it.each([
    ['ledger', 2 ** 32 + 1, RangeError], ['ledger', -1, RangeError], ['ledger', 1.5, TypeError], ['ledger', '1', TypeError],
    ['ledger', NaN, TypeError], ['code', 65537, RangeError], ['timeout', 2 ** 32 + 3, RangeError],
    ['flags', 65538, RangeError], ['flags', 0x40, RangeError], ['chainId', 2 ** 32 + 7, RangeError],
    ['amount', 5, TypeError], ['id', 5, TypeError], ['timestamp', Date.now(), TypeError],
  ] as const)('transfer %s = %s → %s', (name, v, cls) => {
    expect(() => records.transfer({ ...T, [name]: v } as never, me)).toThrow(cls);
    expect(() => records.transfer({ ...T, [name]: v } as never, me)).toThrow(nameRe(name));
  });
  it('the messages say what was expected and what was given', () => {
    expect(() => records.transfer({ ...T, ledger: 2 ** 32 + 1 }, me)).toThrow('ledger must be an integer in [0, 4294967295], got 4294967297');
    expect(() => records.transfer({ ...T, amount: 5 as never }, me)).toThrow(/amount must be a bigint .* got 5 .*5n/);
  });
  it('roles: 257 and undefined role bits are refused, not wrapped to admin', () => {
    const R = { chainId: 7, id: 5n, publicKey: pk };
    expect(() => records.registerKey({ ...R, roles: 257 }, me)).toThrow(RangeError);
    expect(() => records.registerKey({ ...R, roles: 257 }, me)).toThrow(/roles/);
    expect(() => records.registerKey({ ...R, roles: 0x21 }, me)).toThrow(/roles .*0x20/);
    expect(decode(records.registerKey({ ...R, roles: ROLES_ALL }, me)).body.roles).toBe(ROLES_ALL);
  });
  it('create_account flags: only the kind\'s bits (ACCOUNT_FROZEN is state-only)', () => {
    const A = { chainId: 7, id: 5n, ledger: 1, code: 1, controller: me.keyId };
    expect(decode(records.createAccount({ ...A, flags: 7 }, me)).flags).toBe(7);
    expect(() => records.createAccount({ ...A, flags: 1 << 8 }, me)).toThrow(/flags .*create_account/);
    expect(() => records.createAccount({ ...A, flags: 8 }, me)).toThrow(RangeError);
  });
  it('timestamp defaults to the current time', () => {
    const before = BigInt(Date.now());
    const t = decode(records.anchor({ chainId: 7, id: 5n, digest: new Uint8Array(32).fill(1) }, me)).timestamp;
    expect(t >= before && t <= BigInt(Date.now())).toBe(true);
  });
});

describe('encode: kind and the fields object', () => {
  it.each([
    ['missing', undefined], ['a number', 3], ['vouch (only inside a trusted batch)', 'vouch'], ['toString', 'toString'],
    ['Transfer', 'Transfer'], ['__proto__', '__proto__'],
  ])('kind %s → TypeError naming kind', (_n, kind) => {
    expect(() => encode({ chainId: 7, id: 5n, signer: me.keyId, kind } as never)).toThrow(TypeError);
    expect(() => encode({ chainId: 7, id: 5n, signer: me.keyId, kind } as never)).toThrow(/kind/);
  });
  it('fields must be an object', () => {
    for (const f of [undefined, null, 'transfer', 5]) expect(() => encode(f as never)).toThrow(TypeError);
  });
  it('signer (the key id) is a 32-byte Uint8Array', () => {
    const f = { kind: 'anchor', chainId: 7, id: 5n, digest: new Uint8Array(32).fill(1) };
    expect(() => encode({ ...f, signer: new Uint8Array(31) } as never)).toThrow(RangeError);
    expect(() => encode({ ...f, signer: 'ab'.repeat(32) } as never)).toThrow(/signer/);
    expect(() => encode(f as never)).toThrow(/signer is required/);
    expect(decode(encode({ ...f, signer: me.keyId } as never)).signer).toEqual(me.keyId);
  });
});

describe('builders: the fields object and the signer argument', () => {
  const A = { chainId: 7, id: 5n, digest: new Uint8Array(32).fill(1) };
  it.each([
    ['null', null], ['undefined', undefined], ['an Array', []], ['a string', 'x'], ['a Map', new Map()],
    ['a class instance', new (class F { chainId = 7; id = 5n; digest = new Uint8Array(32).fill(1) })()],
  ])('fields = %s → TypeError', (_n, f) => {
    expect(() => records.anchor(f as never, me)).toThrow(TypeError);
    expect(() => records.anchor(f as never, me)).toThrow(/fields must be a plain object/);
    expect(() => buildRecord(f as never, me)).toThrow(TypeError);
  });
  it('a null-prototype object is accepted', () => {
    const f = Object.assign(Object.create(null), A);
    expect(decode(records.anchor(f, me)).kind).toBe('anchor');
  });
  it.each([
    ['undefined', undefined, TypeError, /signer must be a Signer/],
    ['a key id', me.keyId, TypeError, /signer\.keyId/],
    ['without keyId', { privateKey: me.privateKey, publicKey: me.publicKey }, TypeError, /signer\.keyId/],
    ['keyId of 31 bytes', { ...me, keyId: me.keyId.subarray(1) }, RangeError, /signer\.keyId must be 32 bytes/],
    ['keyId as hex', { ...me, keyId: 'ab'.repeat(32) }, TypeError, /signer\.keyId/],
    ['without privateKey', { keyId: me.keyId, publicKey: me.publicKey }, TypeError, /signer\.privateKey/],
    ['privateKey of 33 bytes', { ...me, privateKey: new Uint8Array(33) }, RangeError, /signer\.privateKey/],
    ['publicKey compressed', { ...me, publicKey: new Uint8Array(33) }, RangeError, /signer\.publicKey/],
  ] as const)('signer %s → %s', (_n, s, cls, re) => {
    for (const call of [() => records.anchor(A, s as never), () => buildRecord({ ...A, kind: 'anchor' }, s as never),
      () => signRecord(encode({ ...A, kind: 'anchor', signer: me.keyId }), s as never)]) {
      expect(call).toThrow(cls);
      expect(call).toThrow(re);
    }
  });
  it('buildRecord takes kind in fields and checks it', () => {
    expect(decode(buildRecord({ ...A, kind: 'anchor' }, me)).kind).toBe('anchor');
    expect(() => buildRecord({ ...A, kind: 'nope' as never }, me)).toThrow(/kind/);
    expect(() => buildRecord({ ...A, kind: 'anchor', signer: me.keyId } as never, me)).toThrow(/signer/);
  });
  it('signRecord: the record is a 256-byte Uint8Array', () => {
    expect(() => signRecord(Array(256).fill(0) as never, me)).toThrow(TypeError);
    expect(() => signRecord(new Uint8Array(255), me)).toThrow(RangeError);
    expect(() => signRecord(new Uint8Array(255), me)).toThrow(/record/);
  });
  it('keyIdOf and signerFromKeyPair', () => {
    expect(() => keyIdOf('04'.repeat(65) as never)).toThrow(TypeError);
    expect(() => keyIdOf(new Uint8Array(65))).toThrow(RangeError);
    expect(() => signerFromKeyPair(null as never)).toThrow(TypeError);
    expect(() => signerFromKeyPair({ privateKey: 'x', publicKey: pk } as never)).toThrow(/privateKey/);
    expect(() => signerFromKeyPair({ privateKey: me.privateKey, publicKey: pk.subarray(1) })).toThrow(/publicKey/);
    expect(signerFromKeyPair({ privateKey: me.privateKey, publicKey: pk }).keyId).toEqual(me.keyId);
  });
});

describe('record utilities', () => {
  const rec = encode({ kind: 'anchor', chainId: 7, id: 5n, signer: me.keyId, digest: new Uint8Array(32).fill(1) });
  it('decode', () => {
    expect(() => decode(Array.from(rec) as never)).toThrow(TypeError);
    expect(() => decode(rec, 1.5)).toThrow(TypeError);
    expect(() => decode(rec, 1)).toThrow(RangeError);
    expect(() => decode(rec, -1)).toThrow(RangeError);
    expect(decode(concatRecords([rec, rec]), 256).id).toBe(5n);
  });
  it('concatRecords (what Ledger.submit does with an Array)', () => {
    expect(() => concatRecords(Array(256).fill(0) as never)).toThrow(TypeError);
    expect(() => concatRecords(Array(256).fill(0) as never)).toThrow(/records\[0\]/);
    expect(() => concatRecords([Array.from(rec)] as never)).toThrow(/records\[0\] must be a Uint8Array/);
    expect(() => concatRecords([rec, rec.subarray(1)])).toThrow(RangeError);
    expect(() => concatRecords(rec as never)).toThrow(TypeError);
  });
  it('checkStructure', () => {
    expect(() => checkStructure(Array.from(rec) as never, 0, 7)).toThrow(TypeError);
    expect(() => checkStructure(rec, 0.5, 7)).toThrow(TypeError);
    expect(() => checkStructure(rec, 1, 7)).toThrow(RangeError);
    expect(() => checkStructure(rec, 0, 2 ** 32 + 7)).toThrow(/chainId/);
  });
  it('setU128 (u128 keys of queries such as getAccount) refuses a string or a number', () => {
    const b = new Uint8Array(16);
    expect(() => setU128(b, 0, '1' as never, 'id')).toThrow(TypeError);
    expect(() => setU128(b, 0, '1' as never, 'id')).toThrow(/^id must be a bigint/);
    expect(() => setU128(b, 0, 1 as never, 'id')).toThrow(/1n/);
    expect(() => setU128(b, 0, 1n << 128n, 'id')).toThrow(RangeError);
    setU128(b, 0, (1n << 128n) - 1n, 'id');
    expect(b.every((x) => x === 0xff)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// The SDK's public methods, over a fake WebSocket (no node needed: every check is made
// before anything is sent).

class FakeWebSocket implements WebSocketLike {
  static last: FakeWebSocket | undefined;
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  sent: unknown[] = [];
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
    const f = makeFrame(Frame.challenge, 0, 0, 36);
    new DataView(f.buffer).setUint32(HEADER_BYTES, 7, true);
    f.fill(9, HEADER_BYTES + 4);
    setTimeout(() => { this.readyState = 1; this.onmessage?.({ data: f.buffer }); }, 0);
  }
  send(data: unknown): void { this.sent.push(data); }
  close(code = 1000, reason = ''): void {
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
}
const connect = (options: Record<string, unknown> = {}) => Client.connect('ws://fake/ws', { WebSocket: FakeWebSocket, ...options } as never);

describe('Client SDK: argument checks', () => {
  it.each([
    ['url', 42, {}, TypeError, /url/],
    ['options', 'ws', null, TypeError, /options must be an object/],
    ['unknown option', 'ws', { maxInFligt: 4 }, TypeError, /unknown option "maxInFligt"/],
    ['maxInFlight 0', 'ws', { maxInFlight: 0 }, RangeError, /maxInFlight/],
    ['maxInFlight 1.5', 'ws', { maxInFlight: 1.5 }, TypeError, /maxInFlight/],
    ['maxInFlight "4"', 'ws', { maxInFlight: '4' }, TypeError, /maxInFlight/],
    ['batchRecords NaN', 'ws', { batchRecords: NaN }, TypeError, /batchRecords/],
    ['batchRecords -1', 'ws', { batchRecords: -1 }, RangeError, /batchRecords/],
    ['overloadRetries -1', 'ws', { overloadRetries: -1 }, RangeError, /overloadRetries/],
    ['connectTimeoutMs 0', 'ws', { connectTimeoutMs: 0 }, RangeError, /connectTimeoutMs/],
    ['connectTimeoutMs "5"', 'ws', { connectTimeoutMs: '5' }, TypeError, /connectTimeoutMs/],
    ['WebSocket', 'ws', { WebSocket: 'ws' }, TypeError, /WebSocket/],
    ['signer', 'ws', { signer: { keyId: new Uint8Array(32) } }, TypeError, /options\.signer\.sign/],
  ] as const)('connect: %s', async (_n, url, options, cls, re) => {
    FakeWebSocket.last = undefined;
    const p = url === 'ws'
      ? Client.connect('ws://fake/ws', options === null ? null as never : { WebSocket: FakeWebSocket, ...options } as never)
      : Client.connect(url as never, { WebSocket: FakeWebSocket });
    await expect(p).rejects.toThrow(cls);
    await expect(p).rejects.toThrow(re);
    expect(FakeWebSocket.last).toBeUndefined(); // refused before connecting
  });

  it('connect: values above the server limits are lowered to them (documented), valid options pass', async () => {
    const c = await connect({ maxInFlight: 10_000, batchRecords: 1_000_000, overloadRetries: 0, connectTimeoutMs: 500 });
    expect(c.chainId).toBe(7);
    await c.close();
  });

  it('submitBatch, submit, submitTrusted: records are Uint8Arrays', async () => {
    const c = await connect();
    const ws = FakeWebSocket.last!;
    const rec = new Uint8Array(RECORD_BYTES);
    const cases: [Promise<unknown>, typeof TypeError | typeof RangeError, RegExp][] = [
      [c.submitBatch(Array(256).fill(0) as never), TypeError, /records\[0\] must be a Uint8Array/],
      [c.submitBatch([Array.from(rec)] as never), TypeError, /records\[0\]/],
      [c.submitBatch('00'.repeat(256) as never), TypeError, /records must be/],
      [c.submitBatch(undefined as never), TypeError, /records must be/],
      [c.submitBatch(new Uint8Array(300)), RangeError, /records: batch length 300/],
      [c.submitBatch([rec, new Uint8Array(255)]), RangeError, /records\[1\] must be 256 bytes/],
      [c.submitBatch([rec], { trusted: 'yes' } as never), TypeError, /options\.trusted/],
      [c.submitBatch([rec], null as never), TypeError, /options/],
      [c.submit(Array(256).fill(0) as never), TypeError, /record must be a Uint8Array/],
      [c.submit(new Uint8Array(255)), RangeError, /record must be 256 bytes/],
      [c.submit([rec] as never), TypeError, /record/],
      [c.submitTrusted([rec], {} as never), TypeError, /gateway\.keyId/],
      [c.submitTrusted([rec], { ...me, privateKey: new Uint8Array(31) }), RangeError, /gateway\.privateKey/],
      [c.submitTrusted([rec], me, { alg: 'md5' as never }), TypeError, /options\.alg/],
      [c.submitTrusted([1, 2] as never, me), TypeError, /records\[0\]/],
    ];
    for (const [p, cls, re] of cases) {
      await expect(p).rejects.toThrow(cls);
      await expect(p).rejects.toThrow(re);
    }
    expect(ws.sent).toEqual([]); // nothing reached the wire
    await c.close();
  });

  it('authenticate, subscribe, onClose, sendRaw', async () => {
    const c = await connect();
    const ws = FakeWebSocket.last!;
    await expect(c.authenticate(undefined as never)).rejects.toThrow(/signer must be an AuthSigner/);
    await expect(c.authenticate({ keyId: 'ab'.repeat(32), sign: () => new Uint8Array(64) } as never)).rejects.toThrow(TypeError);
    await expect(c.authenticate({ keyId: new Uint8Array(31), sign: () => new Uint8Array(64) })).rejects.toThrow(/signer\.keyId must be 32 bytes/);
    await expect(c.authenticate({ keyId: me.keyId } as never)).rejects.toThrow(/signer\.sign must be a function/);
    await expect(c.authenticate({ keyId: me.keyId, sign: () => 'sig' as never })).rejects.toThrow(/signer\.sign must return a Uint8Array/);
    await expect(c.authenticate({ keyId: me.keyId, sign: async () => new Uint8Array(10) })).rejects.toThrow(RangeError);
    await expect(c.subscribe(1 as never, () => undefined)).rejects.toThrow(/topic must be a string/);
    await expect(c.subscribe('blocks', undefined as never)).rejects.toThrow(/handler must be a function/);
    expect(() => c.onClose('x' as never)).toThrow(/listener must be a function/);
    expect(() => c.sendRaw(123 as never)).toThrow(/data must be a Uint8Array or a string/);
    expect(ws.sent).toEqual([]);
    await c.close();
  });
});

describe('vouch helpers and authSigner check their arguments', () => {
  it('refuse out-of-range and mistyped arguments by name, before building anything', async () => {
    const { vouchBatch, markVouched, vouchDigest } = await import('../dist/src/codec/vouch.js');
    const { authSigner } = await import('../dist/src/client/index.js');
    const gw = generateSigner();
    const recs = new Uint8Array(2 * 256);
    expect(() => vouchBatch(recs, 2, gw, { chainId: 2 ** 32, id: 1n })).toThrow(/chainId must be an integer in \[0, 4294967295\]/);
    expect(() => vouchBatch(recs, 2, gw, { chainId: 7, id: 1n, timestamp: 2n ** 64n })).toThrow(RangeError);
    expect(() => vouchBatch(recs, 2, gw, { chainId: 7, id: 1 as never })).toThrow(/id must be a bigint/);
    expect(() => vouchBatch([] as never, 2, gw, { chainId: 7, id: 1n })).toThrow(TypeError);
    expect(() => vouchBatch(recs, 2, { keyId: new Uint8Array(3) } as never, { chainId: 7, id: 1n })).toThrow(/gateway\.keyId/);
    expect(() => markVouched(recs, 2, new Uint8Array(31))).toThrow(/gatewayKeyId must be a Uint8Array of 32 bytes/);
    expect(() => markVouched(recs, 3, new Uint8Array(32))).toThrow(/count must be an integer in \[0, 2\]/);
    expect(() => vouchDigest([new Uint8Array(32)], 0, 2, 7, 'sm3')).toThrow(/hashes holds 1/);
    expect(() => authSigner({ keyId: new Uint8Array(32) } as never)).toThrow(/signer\.privateKey/);
    expect(vouchBatch(recs, 2, gw, { chainId: 7, id: 1n, timestamp: 5n }).length).toBe(3 * 256);
  });
});
