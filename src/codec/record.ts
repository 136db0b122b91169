// The 256-byte transaction record (docs/protocol.md fixes every byte). Records are handled
// as bytes end to end: a batch is one Uint8Array of count × 256 bytes, and every field is
// read in place at a fixed offset. Objects exist only at the edges (builders, decode()).
//
// Integers are little-endian; the SM2 signature r‖s is big-endian, as in GM/T 0009.

import { describeValue } from '../crypto/bytes.js';

export { describeValue };

export const RECORD_BYTES = 256;
export const RECORD_VERSION = 1;

// Header.
export const OFF_VERSION = 0;          // u8
export const OFF_KIND = 1;             // u8
export const OFF_FLAGS = 2;            // u16
export const OFF_CHAIN_ID = 4;         // u32
export const OFF_TIMESTAMP = 8;        // u64, client time in ms since the Unix epoch
export const OFF_ID = 16;              // u128
export const OFF_SIGNER = 32;          // 32 bytes: key id = SM3(65-byte public key)
export const OFF_BODY = 64;            // 127 bytes, kind-specific
export const BODY_BYTES = 127;
export const OFF_SIGNATURE = 191;      // r (32, BE) ‖ s (32, BE)
export const OFF_HINT = 255;           // u8 recovery hint (0..3), or HINT_NONE
export const HINT_NONE = 0xff;
/**
 * Hint of a *vouched* record (trusted-gateway mode): r‖s all zero and hint 0xFE means "no
 * signature of its own; a vouch record (KIND_VOUCH) just before it in the same batch signs
 * for it". Valid only inside a vouch group of a trusted batch (docs/protocol.md §8).
 */
export const HINT_VOUCHED = 0xfe;
/** The signed message M is bytes [0, MESSAGE_BYTES). */
export const MESSAGE_BYTES = OFF_SIGNATURE;
export const SIGNATURE_BYTES = 64;
export const KEY_ID_BYTES = 32;
export const PUBLIC_KEY_BYTES = 65;

export const Kind = {
  register_key: 1,
  create_account: 2,
  transfer: 3,
  anchor: 4,
  freeze_account: 5,
  unfreeze_account: 6,
  halt_ledger: 7,
  resume_ledger: 8,
  // 9 is KIND_VOUCH (below), kept out of this map on purpose.
  // Clearing (src/apps/clearing, docs/clearing.md).
  cycle_open: 10,
  cycle_member: 11,
  cycle_close: 12,
  cycle_regulate: 13,
  rule: 14,
  // Toll / ETC settlement (src/apps/toll, docs/toll.md).
  toll_rule: 15,
  trip: 16,
  blacklist: 17,
} as const;
export type KindName = keyof typeof Kind;
export const KIND_MAX = 17;
/**
 * The vouch record (trusted-gateway mode): one gateway signature for the `count` vouched
 * records that follow it. Kept out of `Kind`/KIND_MAX on purpose: the generic structure
 * check (here and in assembly/tx.ts) refuses it with bad_kind, so a vouch can only ever
 * be admitted by the vouch-group path (src/ledger/vouch.ts), never as a plain record.
 */
export const KIND_VOUCH = 9;
export const KIND_NAMES: readonly string[] = (() => {
  const names: string[] = [''];
  for (const [name, k] of Object.entries(Kind)) names[k] = name;
  names[KIND_VOUCH] = 'vouch';
  return names;
})();

// Flags: bit 0 is common to every kind, the rest are kind-specific.
export const FLAG_LINKED = 1 << 0;
export const TRANSFER_PENDING = 1 << 1;
export const TRANSFER_POST_PENDING = 1 << 2;
export const TRANSFER_VOID_PENDING = 1 << 3;
/** A payment into the open clearing cycle named by pending_id: an obligation, settled at the cycle's close. */
export const TRANSFER_DEFERRED = 1 << 4;
/** Real-time gross with a queue: when the debit account is short, wait in its FIFO queue instead of failing. */
export const TRANSFER_QUEUE = 1 << 5;
export const ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1;
export const ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2;
/** State-only account flag (set by freeze_account); never valid in a create_account record. */
export const ACCOUNT_FROZEN = 1 << 8;

export const ROLE_ADMIN = 1 << 0;
export const ROLE_REGULATOR = 1 << 1;
export const ROLE_OPERATOR = 1 << 2;
export const ROLE_PARTICIPANT = 1 << 3;
/** Block-signing node key (an extension of the four roles: only node keys sign headers). */
export const ROLE_NODE = 1 << 4;
export const ROLES_ALL = 0x1f;

// Body offsets (absolute, within the record).
// register_key
export const RK_PUBLIC_KEY = 64;       // 65 bytes, 0x04 ‖ x ‖ y
export const RK_ROLES = 129;           // u8
export const RK_LEDGER = 132;          // u32, operator scope (bytes 130..131 reserved)
// create_account
export const CA_LEDGER = 64;           // u32
export const CA_CODE = 68;             // u16 (70..71 reserved)
export const CA_USER_DATA = 72;        // u128
export const CA_CONTROLLER = 88;       // 32-byte key id
// transfer
export const TR_DEBIT = 64;            // u128
export const TR_CREDIT = 80;           // u128
export const TR_AMOUNT = 96;           // u128
export const TR_PENDING_ID = 112;      // u128
export const TR_USER_DATA = 128;       // u128
export const TR_LEDGER = 144;          // u32
export const TR_CODE = 148;            // u16 (150..151 reserved)
export const TR_TIMEOUT = 152;         // u32 seconds
// vouch (KIND_VOUCH)
export const VO_COUNT = 64;            // u32: records covered (they follow the vouch)
export const VO_DIGEST = 68;           // 32 bytes: H(VOUCH_DOMAIN ‖ chain id ‖ count ‖ covered records)
export const VO_RESERVED = 100;        // [100, 191) reserved
// anchor
export const AN_DIGEST = 64;           // 32 bytes
export const AN_METADATA = 96;         // 32 bytes
// freeze_account / unfreeze_account
export const FR_ACCOUNT = 64;          // u128
// halt_ledger / resume_ledger
export const HL_LEDGER = 64;           // u32
// cycle_open (id = the cycle id)
export const CO_LEDGER = 64;           // u32
export const CO_CODE = 68;             // u16, code of the settlement transfers (70..71 reserved)
export const CO_CLEARING = 72;         // u128, the clearing account the net positions move through
// cycle_member / cycle_close / cycle_regulate
export const CY_CYCLE = 64;            // u128, the cycle id
export const CM_ACCOUNT = 80;          // u128, the member's settlement account
export const CR_ACTION = 80;           // u8: 1 delay, 2 refuse, 3 cap (81..87 reserved)
export const CR_UNTIL = 88;            // u64 ms of block time (delay)
export const CR_ACCOUNT = 96;          // u128 (cap)
export const CR_AMOUNT = 112;          // u128 (cap)
export const CYCLE_DELAY = 1;
export const CYCLE_REFUSE = 2;
export const CYCLE_CAP = 3;
// rule (regulator)
export const RU_RULE = 64;             // u32 rule number (a later rule with the same number replaces it)
export const RU_LEDGER = 68;           // u32
export const RU_CODE = 72;             // u16 transfer code, 0 = any
export const RU_TIER = 74;             // u8: 0 remove, 1 alert, 2 refuse (75..79 reserved)
export const RU_ACCOUNT = 80;          // u128 debit account, 0 = every account of the ledger
export const RU_MAX_AMOUNT = 96;       // u128 per transfer, 0 = no limit
export const RU_WINDOW = 112;          // u32 ms of block time
export const RU_MAX_COUNT = 116;       // u32 per window, 0 = no limit
export const RU_MAX_WINDOW_AMOUNT = 120; // u128 per window, 0 = no limit
export const RULE_REMOVE = 0;
export const RULE_ALERT = 1;
export const RULE_REFUSE = 2;
// toll_rule (docs/toll.md): a section of a rule version, or the version's activation
export const TRU_VERSION = 64;         // u32 rule version (not 0)
export const TRU_ACTION = 68;          // u8: 1 section, 2 activate
export const TRU_MODE = 69;            // u8 (activate): 1 fee per section, 2 shares in basis points
export const TRU_CODE = 70;            // u16 (activate): transfer code of the trip legs
export const TRU_LEDGER = 72;          // u32 ledger of the version (every record of a version names it)
export const TRU_SECTION = 76;         // u32 road section id (section)
export const TRU_EFFECTIVE = 80;       // u64 block height the version takes effect at (activate)
export const TRU_OPERATOR = 88;        // u128 operator account of the section (section)
export const TRU_SECTION_COUNT = 104;  // u32 sections the version defines (activate)
export const TRU_VALUES = 108;         // 16 × u32: per vehicle class 1..16, fee (fen) or share (bp) (section)
// trip
export const TP_ISSUER = 64;           // u128 issuer (card-issuing bank) account, debited the toll
export const TP_VEHICLE = 80;          // u64 vehicle id (OBU / plate digest)
export const TP_TIME = 88;             // u64 ms: when the trip ended (gateway time)
export const TP_TOLL = 96;             // u32 toll in the ledger's minor unit (fen)
export const TP_VERSION = 100;         // u32 rule version the toll was priced by
export const TP_CLASS = 104;           // u8 vehicle class 1..16
export const TP_SECTION_COUNT = 105;   // u8 sections traversed, 1..16 (106..107 reserved)
export const TP_SECTIONS = 108;        // 16 × u32 section ids, in the order traversed; unused ones zero
// blacklist
export const BL_ACTION = 64;           // u8: 1 add vehicle, 2 remove vehicle, 3 add account, 4 remove account
export const BL_MODE = 65;             // u8 (adds): 1 refuse, 2 flag (66..71 reserved)
export const BL_VEHICLE = 72;          // u64 vehicle id
export const BL_ACCOUNT = 80;          // u128 account id

/** Bytes of the body each kind uses; the rest of the body must be zero. */
const BODY_USED: readonly (readonly [number, number][])[] = [
  [],
  [[64, 130], [132, 136]],                     // register_key (130..131 reserved)
  [[64, 70], [72, 120]],                       // create_account (70..71 reserved)
  [[64, 150], [152, 156]],                     // transfer (150..151 reserved)
  [[64, 128]],                                 // anchor
  [[64, 80]],                                  // freeze
  [[64, 80]],                                  // unfreeze
  [[64, 68]],                                  // halt
  [[64, 68]],                                  // resume
  [],                                          // 9: vouch (never through this check)
  [[64, 70], [72, 88]],                        // cycle_open
  [[64, 96]],                                  // cycle_member
  [[64, 80]],                                  // cycle_close
  [[64, 81], [88, 128]],                       // cycle_regulate
  [[64, 75], [80, 136]],                       // rule
  [[64, 172]],                                 // toll_rule
  [[64, 106], [108, 172]],                     // trip (106..107 reserved)
  [[64, 66], [72, 96]],                        // blacklist (66..71 reserved)
];

const ALLOWED_FLAGS: readonly number[] = [
  0,
  FLAG_LINKED,
  FLAG_LINKED | ACCOUNT_DEBITS_MUST_NOT_EXCEED_CREDITS | ACCOUNT_CREDITS_MUST_NOT_EXCEED_DEBITS,
  FLAG_LINKED | TRANSFER_PENDING | TRANSFER_POST_PENDING | TRANSFER_VOID_PENDING | TRANSFER_DEFERRED | TRANSFER_QUEUE,
  FLAG_LINKED, FLAG_LINKED, FLAG_LINKED, FLAG_LINKED, FLAG_LINKED,
  0,                                                             // 9: vouch
  FLAG_LINKED, FLAG_LINKED, FLAG_LINKED, FLAG_LINKED, FLAG_LINKED, // clearing
  FLAG_LINKED, FLAG_LINKED, FLAG_LINKED,                           // toll
];

// ---------------------------------------------------------------------------------------
// Little-endian field access on plain Uint8Arrays (no DataView allocation on hot paths).

export function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function u64(b: Uint8Array, o: number): bigint {
  return BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
}
export function u128(b: Uint8Array, o: number): bigint {
  return u64(b, o) | (u64(b, o + 8) << 64n);
}
export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff;
}
export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = (v >>> 24) & 0xff;
}
/** Writes the low 64 bits of `v` (unchecked: callers pass a u64; see encode for checked input). */
export function setU64(b: Uint8Array, o: number, v: bigint): void {
  setU32(b, o, Number(v & 0xffffffffn));
  setU32(b, o + 4, Number((v >> 32n) & 0xffffffffn));
}
const U64_MAX = (1n << 64n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;
/**
 * Writes a u128. `v` must be a bigint in [0, 2^128−1]: anything else throws (TypeError for
 * another type, RangeError out of range) with a message naming `name`.
 */
export function setU128(b: Uint8Array, o: number, v: bigint, name = 'u128 value'): void {
  if (typeof v !== 'bigint' || v < 0n || v > U128_MAX) throw bigintError(v, name, 128);
  putU128(b, o, v);
}
function putU128(b: Uint8Array, o: number, v: bigint): void {
  setU64(b, o, v & 0xffffffffffffffffn);
  setU64(b, o + 8, v >> 64n);
}
export function isZero(b: Uint8Array, from: number, to: number): boolean {
  let acc = 0;
  for (let i = from; i < to; i++) acc |= b[i];
  return acc === 0;
}

// ---------------------------------------------------------------------------------------
// Structural validation: everything that can be decided from the record alone.

/** Structural result codes (a subset of ResultCode; see src/ledger/results.ts). */
export const STRUCT_OK = 0;
export const STRUCT_BAD_VERSION = 1;
export const STRUCT_BAD_KIND = 2;
export const STRUCT_BAD_CHAIN = 3;
export const STRUCT_RESERVED_FLAG = 4;
export const STRUCT_RESERVED_FIELD = 5;
export const STRUCT_BAD_SIGNATURE_ENCODING = 6;

/**
 * Checks one record at `off` in `batch`: version, kind, chain id, flags allowed for the
 * kind, reserved body bytes zero, signature scalars non-zero. Returns a STRUCT_* code.
 */
export function checkStructure(batch: Uint8Array, off: number, chainId: number): number {
  if (!(batch instanceof Uint8Array)) throw new TypeError(`batch must be a Uint8Array, got ${describeValue(batch)}`);
  if (typeof off !== 'number' || !Number.isInteger(off)) {
    throw new TypeError(`offset must be an integer, got ${describeValue(off)}`);
  }
  if (off < 0 || off + RECORD_BYTES > batch.length) {
    throw new RangeError(`offset ${off}: a record at it does not fit in the batch's ${batch.length} bytes`);
  }
  uintField(chainId, 0xffffffff, 'chainId');
  if (batch[off + OFF_VERSION] !== RECORD_VERSION) return STRUCT_BAD_VERSION;
  const kind = batch[off + OFF_KIND];
  if (kind === 0 || kind > KIND_MAX || kind === KIND_VOUCH) return STRUCT_BAD_KIND;
  if (u32(batch, off + OFF_CHAIN_ID) !== chainId) return STRUCT_BAD_CHAIN;
  const flags = u16(batch, off + OFF_FLAGS);
  if ((flags & ~ALLOWED_FLAGS[kind]) !== 0) return STRUCT_RESERVED_FLAG;
  const used = BODY_USED[kind];
  let at = OFF_BODY;
  for (let i = 0; i < used.length; i++) {
    if (!isZero(batch, off + at, off + used[i][0])) return STRUCT_RESERVED_FIELD;
    at = used[i][1];
  }
  if (!isZero(batch, off + at, off + OFF_BODY + BODY_BYTES)) return STRUCT_RESERVED_FIELD;
  return signatureEncodingOk(batch, off) ? STRUCT_OK : STRUCT_BAD_SIGNATURE_ENCODING;
}

/** The signature of the record at `off` is well-formed: r and s non-zero, hint 0..3 or HINT_NONE. */
export function signatureEncodingOk(b: Uint8Array, off: number): boolean {
  if (isZero(b, off + OFF_SIGNATURE, off + OFF_SIGNATURE + 32)) return false;
  if (isZero(b, off + OFF_SIGNATURE + 32, off + OFF_SIGNATURE + 64)) return false;
  const hint = b[off + OFF_HINT];
  return !(hint > 3 && hint !== HINT_NONE);
}

// ---------------------------------------------------------------------------------------
// Objects at the edge.

export interface RecordHeader {
  kind: KindName;
  flags?: number;
  chainId: number;
  timestamp?: bigint;
  id: bigint;
  /** 32-byte key id of the signer (SM3 of its public key). */
  signer: Uint8Array;
}
export interface RegisterKeyBody { publicKey: Uint8Array; roles: number; ledger?: number }
export interface CreateAccountBody { ledger: number; code: number; userData?: bigint; controller: Uint8Array }
export interface TransferBody {
  debitAccountId?: bigint; creditAccountId?: bigint; amount?: bigint; pendingId?: bigint;
  userData?: bigint; ledger?: number; code?: number; timeout?: number;
}
export interface AnchorBody { digest: Uint8Array; metadata?: Uint8Array }
export interface AccountRefBody { accountId: bigint }
export interface LedgerRefBody { ledger: number }
export interface CycleOpenBody { ledger: number; code: number; clearingAccountId: bigint }
export interface CycleRefBody { cycleId: bigint }
export interface CycleRegulateBody {
  cycleId: bigint; action: number; untilMs?: bigint; accountId?: bigint; amount?: bigint;
}
export interface RuleBody {
  ruleId: number; ledger: number; code?: number; tier: number; accountId?: bigint; maxAmount?: bigint;
  windowMs?: number; maxCount?: number; maxWindowAmount?: bigint;
}

export interface TollRuleBody {
  ruleVersion: number; action: number; mode?: number; code?: number; ledger: number; section?: number;
  effectiveHeight?: bigint; operatorAccountId?: bigint; sectionCount?: number; classValues?: Uint8Array;
}
export interface TripBody {
  issuerAccountId: bigint; vehicleId?: bigint; tripTimeMs?: bigint; toll: number; ruleVersion: number;
  vehicleClass: number; sectionCount: number; sections: Uint8Array;
}
export interface BlacklistBody { action: number; mode?: number; vehicleId?: bigint; accountId?: bigint }

export type RecordFields = RecordHeader &
  Partial<RegisterKeyBody & CreateAccountBody & TransferBody & AnchorBody & AccountRefBody & CycleOpenBody &
    CycleRegulateBody & RuleBody & TollRuleBody & TripBody & BlacklistBody> & {
    ledger?: number;
  };

/** Header fields every kind takes (`flags` and `timestamp` optional). */
const HEADER_FIELDS: readonly string[] = ['kind', 'flags', 'chainId', 'timestamp', 'id', 'signer'];
/** Body fields of each kind, by kind name (docs/api.md lists their types and ranges). */
const BODY_FIELDS: Readonly<Record<KindName, readonly string[]>> = {
  register_key: ['publicKey', 'roles', 'ledger'],
  create_account: ['ledger', 'code', 'userData', 'controller'],
  transfer: ['debitAccountId', 'creditAccountId', 'amount', 'pendingId', 'userData', 'ledger', 'code', 'timeout'],
  anchor: ['digest', 'metadata'],
  freeze_account: ['accountId'],
  unfreeze_account: ['accountId'],
  halt_ledger: ['ledger'],
  resume_ledger: ['ledger'],
  cycle_open: ['ledger', 'code', 'clearingAccountId'],
  cycle_member: ['cycleId', 'accountId'],
  cycle_close: ['cycleId'],
  cycle_regulate: ['cycleId', 'action', 'untilMs', 'accountId', 'amount'],
  rule: ['ruleId', 'ledger', 'code', 'tier', 'accountId', 'maxAmount', 'windowMs', 'maxCount', 'maxWindowAmount'],
  toll_rule: ['ruleVersion', 'action', 'mode', 'code', 'ledger', 'section', 'effectiveHeight', 'operatorAccountId',
    'sectionCount', 'classValues'],
  trip: [
    'issuerAccountId', 'vehicleId', 'tripTimeMs', 'toll', 'ruleVersion', 'vehicleClass', 'sectionCount', 'sections',
  ],
  blacklist: ['action', 'mode', 'vehicleId', 'accountId'],
};
/** Per kind number: the field names encode accepts (null-prototype lookup, no allocation per record). */
const ALLOWED_FIELDS: readonly Readonly<Record<string, true>>[] = (() => {
  const out: Readonly<Record<string, true>>[] = [Object.create(null)];
  for (const [name, body] of Object.entries(BODY_FIELDS)) {
    const o = Object.create(null) as Record<string, true>;
    for (const k of [...HEADER_FIELDS, ...body]) o[k] = true;
    out[Kind[name as KindName]] = Object.freeze(o);
  }
  return out;
})();


/**
 * Checks an integer field given as a number: a safe integer in [0, max]. Not a number, or
 * not an integer (1.5, NaN, Infinity) → TypeError; out of range → RangeError. The message
 * names the field.
 */
export function uintField(v: unknown, max: number, name: string): number {
  if (typeof v === 'number' && v >= 0 && v <= max && Number.isInteger(v)) return v;
  const msg = `${name} must be an integer in [0, ${max}], got ${describeValue(v)}`;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(v === undefined ? `${name} is required: an integer in [0, ${max}]`
      : typeof v === 'bigint' ? `${msg} (a number, not a bigint)` : msg);
  }
  throw new RangeError(msg);
}

function bigintError(v: unknown, name: string, bits: number): Error {
  const msg = `${name} must be a bigint in [0, 2^${bits}-1], got ${describeValue(v)}`;
  if (typeof v === 'bigint') return new RangeError(msg);
  if (v === undefined) return new TypeError(`${name} is required: a bigint in [0, 2^${bits}-1]`);
  if (typeof v !== 'number') return new TypeError(msg);
  return new TypeError(`${msg} (a bigint, not a number: write ${Number.isInteger(v) ? `${v}n` : 'BigInt(…)'})`);
}
/** Checks a u64/u128 field: a bigint in [0, max] (a number is a TypeError, never converted). */
export function bigField(v: unknown, max: bigint, bits: number, name: string): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= max) return v;
  throw bigintError(v, name, bits);
}
/** Checks a byte field: a Uint8Array of exactly `len` bytes. */
export function bytesField(v: unknown, len: number, name: string): Uint8Array {
  if (v instanceof Uint8Array && v.length === len) return v;
  const msg = `${name} must be a Uint8Array of ${len} bytes, got ${describeValue(v)}`;
  if (v instanceof Uint8Array) throw new RangeError(msg);
  throw new TypeError(v === undefined ? `${name} is required: a Uint8Array of ${len} bytes` : msg);
}
/** Checks a bit-set field: an integer in [0, 2^16) whose bits all lie in `mask`. */
function bitsField(v: unknown, mask: number, width: number, name: string, what: string): number {
  const x = uintField(v, width, name);
  if ((x & ~mask) !== 0) {
    throw new RangeError(
      `${name} must only set ${what} (mask 0x${mask.toString(16)}), got ${x} (0x${x.toString(16)}: ` +
      `bits 0x${(x & ~mask).toString(16)} are reserved)`,
    );
  }
  return x;
}

/**
 * Encodes an unsigned record (signature bytes zero). Every field is checked against its
 * kind's field set, type and range (docs/api.md, "Record fields"): nothing is wrapped,
 * truncated or converted. Wrong type (or a required field missing, or a field the kind
 * does not have) → TypeError; a value out of range, a byte field of the wrong length, or a
 * flag/role bit the kind does not define → RangeError. Messages name the field. Semantic
 * rules (ids not 0, ledger/code not 0, …) are the ledger's, reported as result codes.
 */
export function encode(f: RecordFields): Uint8Array {
  if (typeof f !== 'object' || f === null) {
    throw new TypeError(`record fields must be an object, got ${describeValue(f)}`);
  }
  const name = f.kind;
  if (typeof name !== 'string' || !Object.hasOwn(Kind, name)) {
    throw new TypeError(
      `kind must be one of ${Object.keys(Kind).join(', ')}; got ${name === undefined ? 'none' : describeValue(name)}`,
    );
  }
  const kind = Kind[name];
  const allowed = ALLOWED_FIELDS[kind];
  for (const k in f) {
    if (allowed[k] !== true && (f as unknown as Record<string, unknown>)[k] !== undefined) {
      throw new TypeError(
        `unknown field ${JSON.stringify(k)} for kind ${name} ` +
        `(its fields: ${[...HEADER_FIELDS, ...BODY_FIELDS[name]].join(', ')})`,
      );
    }
  }
  const b = new Uint8Array(RECORD_BYTES);
  b[OFF_VERSION] = RECORD_VERSION;
  b[OFF_KIND] = kind;
  if (f.flags !== undefined) {
    setU16(b, OFF_FLAGS, bitsField(f.flags, ALLOWED_FLAGS[kind], 0xffff, 'flags', `the flag bits ${name} defines`));
  }
  setU32(b, OFF_CHAIN_ID, uintField(f.chainId, 0xffffffff, 'chainId'));
  const timestamp = f.timestamp === undefined ? BigInt(Date.now()) : bigField(f.timestamp, U64_MAX, 64, 'timestamp');
  setU64(b, OFF_TIMESTAMP, timestamp);
  putU128(b, OFF_ID, bigField(f.id, U128_MAX, 128, 'id'));
  b.set(bytesField(f.signer, KEY_ID_BYTES, 'signer'), OFF_SIGNER);
  encodeBody(b, kind, f);
  return b;
}

/** encode's body fields of `kind`, checked and written into `b` (the header is already in). */
function encodeBody(b: Uint8Array, kind: number, f: RecordFields): void {
  switch (kind) {
    case Kind.register_key:
      b.set(bytesField(f.publicKey, PUBLIC_KEY_BYTES, 'publicKey'), RK_PUBLIC_KEY);
      b[RK_ROLES] = bitsField(f.roles, ROLES_ALL, 0xff, 'roles', 'ROLE_* bits');
      if (f.ledger !== undefined) setU32(b, RK_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      break;
    case Kind.create_account:
      setU32(b, CA_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      setU16(b, CA_CODE, uintField(f.code, 0xffff, 'code'));
      if (f.userData !== undefined) putU128(b, CA_USER_DATA, bigField(f.userData, U128_MAX, 128, 'userData'));
      b.set(bytesField(f.controller, KEY_ID_BYTES, 'controller'), CA_CONTROLLER);
      break;
    case Kind.transfer:
      if (f.debitAccountId !== undefined) {
        putU128(b, TR_DEBIT, bigField(f.debitAccountId, U128_MAX, 128, 'debitAccountId'));
      }
      if (f.creditAccountId !== undefined) {
        putU128(b, TR_CREDIT, bigField(f.creditAccountId, U128_MAX, 128, 'creditAccountId'));
      }
      if (f.amount !== undefined) putU128(b, TR_AMOUNT, bigField(f.amount, U128_MAX, 128, 'amount'));
      if (f.pendingId !== undefined) putU128(b, TR_PENDING_ID, bigField(f.pendingId, U128_MAX, 128, 'pendingId'));
      if (f.userData !== undefined) putU128(b, TR_USER_DATA, bigField(f.userData, U128_MAX, 128, 'userData'));
      if (f.ledger !== undefined) setU32(b, TR_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      if (f.code !== undefined) setU16(b, TR_CODE, uintField(f.code, 0xffff, 'code'));
      if (f.timeout !== undefined) setU32(b, TR_TIMEOUT, uintField(f.timeout, 0xffffffff, 'timeout'));
      break;
    case Kind.anchor:
      b.set(bytesField(f.digest, 32, 'digest'), AN_DIGEST);
      if (f.metadata !== undefined) b.set(bytesField(f.metadata, 32, 'metadata'), AN_METADATA);
      break;
    case Kind.freeze_account:
    case Kind.unfreeze_account:
      putU128(b, FR_ACCOUNT, bigField(f.accountId, U128_MAX, 128, 'accountId'));
      break;
    case Kind.halt_ledger:
    case Kind.resume_ledger:
      setU32(b, HL_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      break;
    case Kind.cycle_open: case Kind.cycle_member: case Kind.cycle_close: case Kind.cycle_regulate: case Kind.rule:
      encodeClearingBody(b, kind, f);
      break;
    case Kind.toll_rule: case Kind.trip: case Kind.blacklist:
      encodeTollBody(b, kind, f);
      break;
  }
}

/** The toll kinds' body fields (docs/toll.md, docs/protocol.md). */
function encodeTollBody(b: Uint8Array, kind: number, f: RecordFields): void {
  const opt32 = (v: number | undefined, at: number, max: number, name: string): void => {
    if (v === undefined) return;
    const x = uintField(v, max, name);
    if (max > 0xffff) setU32(b, at, x);
    else if (max > 0xff) setU16(b, at, x);
    else b[at] = x;
  };
  if (kind === Kind.toll_rule) {
    setU32(b, TRU_VERSION, uintField(f.ruleVersion, 0xffffffff, 'ruleVersion'));
    b[TRU_ACTION] = uintField(f.action, 0xff, 'action');
    opt32(f.mode, TRU_MODE, 0xff, 'mode');
    opt32(f.code, TRU_CODE, 0xffff, 'code');
    setU32(b, TRU_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
    opt32(f.section, TRU_SECTION, 0xffffffff, 'section');
    if (f.effectiveHeight !== undefined) {
      setU64(b, TRU_EFFECTIVE, bigField(f.effectiveHeight, U64_MAX, 64, 'effectiveHeight'));
    }
    if (f.operatorAccountId !== undefined) {
      putU128(b, TRU_OPERATOR, bigField(f.operatorAccountId, U128_MAX, 128, 'operatorAccountId'));
    }
    opt32(f.sectionCount, TRU_SECTION_COUNT, 0xffffffff, 'sectionCount');
    if (f.classValues !== undefined) b.set(bytesField(f.classValues, 64, 'classValues'), TRU_VALUES);
  } else if (kind === Kind.trip) {
    putU128(b, TP_ISSUER, bigField(f.issuerAccountId, U128_MAX, 128, 'issuerAccountId'));
    if (f.vehicleId !== undefined) setU64(b, TP_VEHICLE, bigField(f.vehicleId, U64_MAX, 64, 'vehicleId'));
    if (f.tripTimeMs !== undefined) setU64(b, TP_TIME, bigField(f.tripTimeMs, U64_MAX, 64, 'tripTimeMs'));
    setU32(b, TP_TOLL, uintField(f.toll, 0xffffffff, 'toll'));
    setU32(b, TP_VERSION, uintField(f.ruleVersion, 0xffffffff, 'ruleVersion'));
    b[TP_CLASS] = uintField(f.vehicleClass, 0xff, 'vehicleClass');
    b[TP_SECTION_COUNT] = uintField(f.sectionCount, 0xff, 'sectionCount');
    b.set(bytesField(f.sections, 64, 'sections'), TP_SECTIONS);
  } else {
    b[BL_ACTION] = uintField(f.action, 0xff, 'action');
    opt32(f.mode, BL_MODE, 0xff, 'mode');
    if (f.vehicleId !== undefined) setU64(b, BL_VEHICLE, bigField(f.vehicleId, U64_MAX, 64, 'vehicleId'));
    if (f.accountId !== undefined) putU128(b, BL_ACCOUNT, bigField(f.accountId, U128_MAX, 128, 'accountId'));
  }
}

/** The toll kinds' body fields as decode returns them. */
function decodeTollBody(b: Uint8Array, kind: number, body: Record<string, unknown>): void {
  if (kind === Kind.toll_rule) {
    body.ruleVersion = u32(b, TRU_VERSION); body.action = b[TRU_ACTION]; body.mode = b[TRU_MODE];
    body.code = u16(b, TRU_CODE); body.ledger = u32(b, TRU_LEDGER); body.section = u32(b, TRU_SECTION);
    body.effectiveHeight = u64(b, TRU_EFFECTIVE); body.operatorAccountId = u128(b, TRU_OPERATOR);
    body.sectionCount = u32(b, TRU_SECTION_COUNT); body.classValues = b.slice(TRU_VALUES, TRU_VALUES + 64);
  } else if (kind === Kind.trip) {
    body.issuerAccountId = u128(b, TP_ISSUER); body.vehicleId = u64(b, TP_VEHICLE); body.tripTimeMs = u64(b, TP_TIME);
    body.toll = u32(b, TP_TOLL); body.ruleVersion = u32(b, TP_VERSION); body.vehicleClass = b[TP_CLASS];
    body.sectionCount = b[TP_SECTION_COUNT]; body.sections = b.slice(TP_SECTIONS, TP_SECTIONS + 64);
  } else {
    body.action = b[BL_ACTION]; body.mode = b[BL_MODE]; body.vehicleId = u64(b, BL_VEHICLE);
    body.accountId = u128(b, BL_ACCOUNT);
  }
}

/** encodeBody for the clearing kinds (docs/clearing.md). */
function encodeClearingBody(b: Uint8Array, kind: number, f: RecordFields): void {
  switch (kind) {
    case Kind.cycle_open:
      setU32(b, CO_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      setU16(b, CO_CODE, uintField(f.code, 0xffff, 'code'));
      putU128(b, CO_CLEARING, bigField(f.clearingAccountId, U128_MAX, 128, 'clearingAccountId'));
      break;
    case Kind.cycle_member:
      putU128(b, CY_CYCLE, bigField(f.cycleId, U128_MAX, 128, 'cycleId'));
      putU128(b, CM_ACCOUNT, bigField(f.accountId, U128_MAX, 128, 'accountId'));
      break;
    case Kind.cycle_close:
      putU128(b, CY_CYCLE, bigField(f.cycleId, U128_MAX, 128, 'cycleId'));
      break;
    case Kind.cycle_regulate:
      putU128(b, CY_CYCLE, bigField(f.cycleId, U128_MAX, 128, 'cycleId'));
      b[CR_ACTION] = uintField(f.action, 0xff, 'action');
      if (f.untilMs !== undefined) setU64(b, CR_UNTIL, bigField(f.untilMs, U64_MAX, 64, 'untilMs'));
      if (f.accountId !== undefined) putU128(b, CR_ACCOUNT, bigField(f.accountId, U128_MAX, 128, 'accountId'));
      if (f.amount !== undefined) putU128(b, CR_AMOUNT, bigField(f.amount, U128_MAX, 128, 'amount'));
      break;
    case Kind.rule:
      setU32(b, RU_RULE, uintField(f.ruleId, 0xffffffff, 'ruleId'));
      setU32(b, RU_LEDGER, uintField(f.ledger, 0xffffffff, 'ledger'));
      if (f.code !== undefined) setU16(b, RU_CODE, uintField(f.code, 0xffff, 'code'));
      b[RU_TIER] = uintField(f.tier, 0xff, 'tier');
      if (f.accountId !== undefined) putU128(b, RU_ACCOUNT, bigField(f.accountId, U128_MAX, 128, 'accountId'));
      if (f.maxAmount !== undefined) putU128(b, RU_MAX_AMOUNT, bigField(f.maxAmount, U128_MAX, 128, 'maxAmount'));
      if (f.windowMs !== undefined) setU32(b, RU_WINDOW, uintField(f.windowMs, 0xffffffff, 'windowMs'));
      if (f.maxCount !== undefined) setU32(b, RU_MAX_COUNT, uintField(f.maxCount, 0xffffffff, 'maxCount'));
      if (f.maxWindowAmount !== undefined) {
        putU128(b, RU_MAX_WINDOW_AMOUNT, bigField(f.maxWindowAmount, U128_MAX, 128, 'maxWindowAmount'));
      }
      break;
  }
}

export interface DecodedRecord {
  version: number;
  kind: string;
  flags: number;
  chainId: number;
  timestamp: bigint;
  id: bigint;
  signer: Uint8Array;
  body: Record<string, unknown>;
  signature: Uint8Array;
  hint: number;
}

/** Decodes one record into an object (for display, queries and tests). */
export function decode(rec: Uint8Array, off = 0): DecodedRecord {
  if (!(rec instanceof Uint8Array)) throw new TypeError(`record must be a Uint8Array, got ${describeValue(rec)}`);
  if (typeof off !== 'number' || !Number.isInteger(off)) {
    throw new TypeError(`offset must be an integer, got ${describeValue(off)}`);
  }
  if (off < 0 || off + RECORD_BYTES > rec.length) {
    throw new RangeError(`record must be ${RECORD_BYTES} bytes (offset ${off} in ${rec.length} bytes)`);
  }
  const b = rec.subarray(off, off + RECORD_BYTES);
  const kind = b[OFF_KIND];
  const body: Record<string, unknown> = {};
  switch (kind) {
    case Kind.register_key:
      body.publicKey = b.slice(RK_PUBLIC_KEY, RK_PUBLIC_KEY + 65);
      body.roles = b[RK_ROLES]; body.ledger = u32(b, RK_LEDGER);
      break;
    case Kind.create_account:
      body.ledger = u32(b, CA_LEDGER); body.code = u16(b, CA_CODE); body.userData = u128(b, CA_USER_DATA);
      body.controller = b.slice(CA_CONTROLLER, CA_CONTROLLER + 32);
      break;
    case Kind.transfer:
      body.debitAccountId = u128(b, TR_DEBIT); body.creditAccountId = u128(b, TR_CREDIT);
      body.amount = u128(b, TR_AMOUNT); body.pendingId = u128(b, TR_PENDING_ID);
      body.userData = u128(b, TR_USER_DATA); body.ledger = u32(b, TR_LEDGER); body.code = u16(b, TR_CODE);
      body.timeout = u32(b, TR_TIMEOUT);
      break;
    case Kind.anchor:
      body.digest = b.slice(AN_DIGEST, AN_DIGEST + 32); body.metadata = b.slice(AN_METADATA, AN_METADATA + 32);
      break;
    case Kind.freeze_account: case Kind.unfreeze_account:
      body.accountId = u128(b, FR_ACCOUNT);
      break;
    case Kind.halt_ledger: case Kind.resume_ledger:
      body.ledger = u32(b, HL_LEDGER);
      break;
    case KIND_VOUCH:
      body.count = u32(b, VO_COUNT); body.digest = b.slice(VO_DIGEST, VO_DIGEST + 32);
      break;
    case Kind.cycle_open:
      body.ledger = u32(b, CO_LEDGER); body.code = u16(b, CO_CODE); body.clearingAccountId = u128(b, CO_CLEARING);
      break;
    case Kind.cycle_member:
      body.cycleId = u128(b, CY_CYCLE); body.accountId = u128(b, CM_ACCOUNT);
      break;
    case Kind.cycle_close:
      body.cycleId = u128(b, CY_CYCLE);
      break;
    case Kind.cycle_regulate:
      body.cycleId = u128(b, CY_CYCLE); body.action = b[CR_ACTION]; body.untilMs = u64(b, CR_UNTIL);
      body.accountId = u128(b, CR_ACCOUNT); body.amount = u128(b, CR_AMOUNT);
      break;
    case Kind.rule:
      body.ruleId = u32(b, RU_RULE); body.ledger = u32(b, RU_LEDGER); body.code = u16(b, RU_CODE);
      body.tier = b[RU_TIER]; body.accountId = u128(b, RU_ACCOUNT); body.maxAmount = u128(b, RU_MAX_AMOUNT);
      body.windowMs = u32(b, RU_WINDOW); body.maxCount = u32(b, RU_MAX_COUNT);
      body.maxWindowAmount = u128(b, RU_MAX_WINDOW_AMOUNT);
      break;
    case Kind.toll_rule: case Kind.trip: case Kind.blacklist:
      decodeTollBody(b, kind, body);
      break;
  }
  return {
    version: b[OFF_VERSION], kind: KIND_NAMES[kind] ?? `unknown(${kind})`, flags: u16(b, OFF_FLAGS),
    chainId: u32(b, OFF_CHAIN_ID), timestamp: u64(b, OFF_TIMESTAMP), id: u128(b, OFF_ID),
    signer: b.slice(OFF_SIGNER, OFF_SIGNER + 32), body,
    signature: b.slice(OFF_SIGNATURE, OFF_SIGNATURE + 64), hint: b[OFF_HINT],
  };
}

/** Checks `records` is an Array of 256-byte Uint8Arrays (TypeError / RangeError naming `name[i]`). */
export function checkRecordArray(records: unknown, name = 'records'): asserts records is Uint8Array[] {
  if (!Array.isArray(records)) {
    throw new TypeError(`${name} must be an Array of ${RECORD_BYTES}-byte Uint8Arrays, got ${describeValue(records)}`);
  }
  for (let i = 0; i < records.length; i++) {
    const r: unknown = records[i];
    if (!(r instanceof Uint8Array)) {
      throw new TypeError(
        `${name}[${i}] must be a Uint8Array (one ${RECORD_BYTES}-byte record), got ${describeValue(r)}`,
      );
    }
    if (r.length !== RECORD_BYTES) throw new RangeError(`${name}[${i}] must be ${RECORD_BYTES} bytes, got ${r.length}`);
  }
}

/** Concatenates records into one batch buffer (count × 256 bytes). */
export function concatRecords(records: Uint8Array[]): Uint8Array {
  checkRecordArray(records);
  const out = new Uint8Array(records.length * RECORD_BYTES);
  for (let i = 0; i < records.length; i++) out.set(records[i], i * RECORD_BYTES);
  return out;
}
