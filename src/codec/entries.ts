// The 128-byte state entries (docs/protocol.md §5.2, docs/storage.md): one place for their
// layout. An entry is 32 little-endian u32 words; accounts and transfers are read and
// written in place through these word offsets, never through magic numbers.

export const ENTRY_BYTES = 128;
export const ENTRY_WORDS = 32;

// Account entry words (the state-tree leaf).
export const A_ID = 0;
export const A_DEBITS_PENDING = 4;
export const A_DEBITS_POSTED = 8;
export const A_CREDITS_PENDING = 12;
export const A_CREDITS_POSTED = 16;
export const A_USER_DATA = 20;
export const A_LEDGER = 24;
export const A_CODE_FLAGS = 25;       // code u16 | flags u16 << 16
export const A_CONTROLLER = 26;       // key index
export const A_TIMESTAMP = 28;        // u64 block time (ms) of creation
export const A_HEIGHT = 30;           // block height of creation (low 32 bits)

// Transfer entry words.
export const T_ID = 0;
export const T_DEBIT = 4;
export const T_CREDIT = 8;
export const T_AMOUNT = 12;
export const T_PENDING_ID = 16;
export const T_USER_DATA = 20;
export const T_LEDGER = 24;
export const T_CODE_FLAGS = 25;
export const T_TIMEOUT = 26;
export const T_STATUS = 27;
export const T_TIMESTAMP = 28;        // u64 block time (ms)
export const T_HEIGHT = 30;
export const T_INDEX = 31;

export const STATUS_POSTED = 0;       // single-phase transfer, or a post/void record itself
export const STATUS_PENDING = 1;
export const STATUS_PENDING_POSTED = 2;
export const STATUS_PENDING_VOIDED = 3;
export const STATUS_PENDING_EXPIRED = 4;
// Clearing (src/apps/clearing): an obligation moves nothing until its cycle settles; a
// queued transfer moves nothing until it settles (then it is posted) or expires.
export const STATUS_OBLIGATION = 5;
export const STATUS_OBLIGATION_REMOVED = 6;
export const STATUS_QUEUED = 7;
export const STATUS_QUEUE_EXPIRED = 8;
// 16..31: the toll application (src/apps/toll): one entry per trip (posted: its split moved),
// flagged when the trip's vehicle or an account was on a `flag` blacklist.
export const STATUS_TOLL_TRIP = 16;
export const STATUS_TOLL_TRIP_FLAGGED = 17;
export const STATUS_NAMES: readonly string[] = (() => {
  const names = [
    'posted', 'pending', 'posted_pending', 'voided', 'expired', 'obligation', 'obligation_removed', 'queued',
    'queue_expired',
  ];
  names[STATUS_TOLL_TRIP] = 'toll_trip';
  names[STATUS_TOLL_TRIP_FLAGGED] = 'toll_trip_flagged';
  return names;
})();

// Checked at load: a layout that does not add up fails at once, not in a wrong balance.
if (ENTRY_WORDS * 4 !== ENTRY_BYTES) throw new Error('entry layout: ENTRY_WORDS × 4 ≠ ENTRY_BYTES');
if (A_HEIGHT + 1 >= ENTRY_WORDS || T_INDEX >= ENTRY_WORDS) throw new Error('entry layout: a field past the entry');
for (const st of [STATUS_QUEUE_EXPIRED, STATUS_TOLL_TRIP_FLAGGED]) {
  if (STATUS_NAMES[st] === undefined) throw new Error('entry layout: a status without a name');
}

/** A registered SM2 key (the key registry; docs/storage.md 'K'). */
export interface KeyEntry {
  index: number;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  roles: number;
  ledger: number;
  height: number;
}

/** The map key of the 16-byte id at `b[at..at+16)` (requests, cycles: one char per byte, no hex). */
export function opKeyOf(b: Uint8Array, at = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(b[at + i]);
  return s;
}

/** The 16-byte id a map key made by opKeyOf stands for. */
export function opIdOf(key: string): Uint8Array {
  const id = new Uint8Array(16);
  for (let i = 0; i < 16; i++) id[i] = key.charCodeAt(i);
  return id;
}

/** One privileged act or anchor, kept for idempotency (same id → exists). */
export interface OpEntry {
  kind: number;
  flags: number;
  body: Uint8Array;
  height: number;
  index: number;
}

/** u128 from four little-endian words at `w[at..at+4)`. */
export function wordsU128(w: Uint32Array, at: number): bigint {
  return BigInt(w[at]) | (BigInt(w[at + 1]) << 32n) | (BigInt(w[at + 2]) << 64n) | (BigInt(w[at + 3]) << 96n);
}

/** u64 from two little-endian words (a block time in ms: exact below 2⁵³). */
export function wordsU64(w: Uint32Array, at: number): number {
  return w[at] + w[at + 1] * 0x100000000;
}

/** An account entry's fields; `controllerIndex` is the controller key's registry index. */
export interface AccountFields {
  id: bigint; debitsPending: bigint; debitsPosted: bigint; creditsPending: bigint; creditsPosted: bigint;
  userData: bigint; ledger: number; code: number; flags: number; controllerIndex: number; timestampMs: number;
  height: number;
}

/** Reads account entry `i` of a slab's words. */
export function readAccount(w: Uint32Array, i: number): AccountFields {
  const b = i * ENTRY_WORDS;
  return {
    id: wordsU128(w, b + A_ID), debitsPending: wordsU128(w, b + A_DEBITS_PENDING),
    debitsPosted: wordsU128(w, b + A_DEBITS_POSTED), creditsPending: wordsU128(w, b + A_CREDITS_PENDING),
    creditsPosted: wordsU128(w, b + A_CREDITS_POSTED), userData: wordsU128(w, b + A_USER_DATA),
    ledger: w[b + A_LEDGER], code: w[b + A_CODE_FLAGS] & 0xffff, flags: w[b + A_CODE_FLAGS] >>> 16,
    controllerIndex: w[b + A_CONTROLLER], timestampMs: wordsU64(w, b + A_TIMESTAMP), height: w[b + A_HEIGHT],
  };
}

/** A transfer entry's fields; `status` is one of STATUS_NAMES. */
export interface TransferFields {
  id: bigint; debitAccountId: bigint; creditAccountId: bigint; amount: bigint; pendingId: bigint; userData: bigint;
  ledger: number; code: number; flags: number; timeout: number; status: string; timestampMs: number; height: number;
  index: number;
}

/** Reads transfer entry `t` of a slab's words. */
export function readTransfer(w: Uint32Array, t: number): TransferFields {
  const b = t * ENTRY_WORDS;
  return {
    id: wordsU128(w, b + T_ID), debitAccountId: wordsU128(w, b + T_DEBIT), creditAccountId: wordsU128(w, b + T_CREDIT),
    amount: wordsU128(w, b + T_AMOUNT), pendingId: wordsU128(w, b + T_PENDING_ID),
    userData: wordsU128(w, b + T_USER_DATA), ledger: w[b + T_LEDGER], code: w[b + T_CODE_FLAGS] & 0xffff,
    flags: w[b + T_CODE_FLAGS] >>> 16, timeout: w[b + T_TIMEOUT], status: STATUS_NAMES[w[b + T_STATUS]] ?? 'unknown',
    timestampMs: wordsU64(w, b + T_TIMESTAMP), height: w[b + T_HEIGHT], index: w[b + T_INDEX],
  };
}
