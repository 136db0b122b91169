// Structural validation of 256-byte transaction records, a batch per call (the layout is
// fixed in docs/protocol.md; src/codec/record.ts holds the same rules for single records).
// out[i] receives 0 (ok) or a STRUCT_* code:
//   1 bad version, 2 bad kind, 3 wrong chain, 4 reserved flag, 5 reserved field,
//   6 bad signature encoding (r or s zero, hint not 0..3 or 0xFF).

const RECORD: usize = 256;
const BODY: usize = 64;
const SIG: usize = 191;
const HINT: usize = 255;
const KIND_MAX: u32 = 17;
const KIND_VOUCH: u32 = 9;

// Flags each kind accepts (bit 0 `linked` for all).
const ALLOWED_FLAGS: usize = memory.data<u16>([
  0, 0x1, 0x7, 0x3f, 0x1, 0x1, 0x1, 0x1, 0x1, 0, 0x1, 0x1, 0x1, 0x1, 0x1,
  0x1, 0x1, 0x1,       // toll_rule, trip, blacklist
]);
// Body bytes each kind uses: two [from, to) ranges per kind (an empty second range repeats
// the first's end); every other byte of [64, 191) must be zero.
const USED: usize = memory.data<u16>([
  0, 0, 0, 0,
  64, 130, 132, 136,   // register_key
  64, 70, 72, 120,     // create_account
  64, 150, 152, 156,   // transfer
  64, 128, 128, 128,   // anchor
  64, 80, 80, 80,      // freeze_account
  64, 80, 80, 80,      // unfreeze_account
  64, 68, 68, 68,      // halt_ledger
  64, 68, 68, 68,      // resume_ledger
  64, 64, 64, 64,      // 9: vouch (refused as bad kind before this table)
  64, 70, 72, 88,      // cycle_open
  64, 96, 96, 96,      // cycle_member
  64, 80, 80, 80,      // cycle_close
  64, 81, 88, 128,     // cycle_regulate
  64, 75, 80, 136,     // rule
  64, 172, 172, 172,   // toll_rule
  64, 106, 108, 172,   // trip (106..107 reserved)
  64, 66, 72, 96,      // blacklist (66..71 reserved)
]);

// @ts-ignore: decorator
@inline function zero(p: usize, from: usize, to: usize): bool {
  let acc: u32 = 0;
  for (let i = from; i < to; i++) acc |= <u32>load<u8>(p + i);
  return acc == 0;
}

function check(p: usize, chainId: u32): u32 {
  if (load<u8>(p) != 1) return 1;
  const kind = <u32>load<u8>(p + 1);
  if (kind == 0 || kind > KIND_MAX || kind == KIND_VOUCH) return 2;
  if (load<u32>(p + 4) != chainId) return 3;
  const flags = <u32>load<u16>(p + 2);
  if ((flags & ~(<u32>load<u16>(ALLOWED_FLAGS + (<usize>kind << 1)))) != 0) return 4;
  const u = USED + (<usize>kind << 3);
  const f1 = <usize>load<u16>(u), t1 = <usize>load<u16>(u, 2), f2 = <usize>load<u16>(u, 4), t2 = <usize>load<u16>(u, 6);
  if (!zero(p, BODY, f1) || !zero(p, t1, f2) || !zero(p, t2, SIG)) return 5;
  if (zero(p, SIG, SIG + 32) || zero(p, SIG + 32, SIG + 64)) return 6;
  const hint = <u32>load<u8>(p + HINT);
  if (hint > 3 && hint != 0xff) return 6;
  return 0;
}

/** Checks `count` records laid end to end at `records`; writes one code byte per record to `out`. */
export function txCheckBatch(records: usize, count: u32, chainId: u32, out: usize): void {
  for (let i: u32 = 0; i < count; i++) store<u8>(out + <usize>i, <u8>check(records + <usize>i * RECORD, chainId));
}
