// Result codes: one per record, u16 on the wire and in storage. docs/protocol.md lists them.
// Codes 1..31 are decided before sequencing (the record never enters a block); codes from
// 32 on are decided by the state machine and are recorded in the block's result root.

export const ResultCode = {
  ok: 0,
  // Admission (record rejected, not on the chain).
  bad_version: 1,
  bad_kind: 2,
  wrong_chain: 3,
  reserved_flag: 4,
  reserved_field: 5,
  bad_signature_encoding: 6,
  signer_key_not_found: 7,
  bad_signature: 8,
  linked_event_chain_open: 9,
  linked_event_failed_admission: 10,
  batch_too_large: 11,
  ledger_unavailable: 12,
  // Trusted-gateway mode (docs/protocol.md §8).
  vouch_required: 13,     // a vouched-form record or a vouch record outside a vouch group of a trusted batch
  bad_vouch: 14,          // the vouch group is refused as a whole: signature, digest, gateway key, or a covered record
  // State machine (recorded on the chain).
  linked_event_failed: 32,
  signer_not_authorized: 33,
  id_must_not_be_zero: 34,
  id_must_not_be_int_max: 35,
  exists: 36,
  exists_with_different_fields: 37,
  flags_are_mutually_exclusive: 38,
  ledger_must_not_be_zero: 39,
  code_must_not_be_zero: 40,
  ledger_halted: 41,
  // register_key
  roles_must_not_be_zero: 48,
  reserved_role: 49,
  invalid_public_key: 50,
  key_exists: 51,
  operator_requires_ledger: 52,
  ledger_requires_operator: 53,
  // create_account
  controller_key_not_found: 56,
  // transfer
  debit_account_id_must_not_be_zero: 64,
  credit_account_id_must_not_be_zero: 65,
  accounts_must_be_different: 66,
  amount_must_not_be_zero: 67,
  pending_id_must_be_zero: 68,
  pending_id_must_not_be_zero: 69,
  pending_id_must_not_be_int_max: 70,
  pending_id_must_be_different: 71,
  timeout_reserved_for_pending_transfer: 72,
  debit_account_not_found: 73,
  credit_account_not_found: 74,
  accounts_must_have_the_same_ledger: 75,
  transfer_must_have_the_same_ledger_as_accounts: 76,
  debit_account_frozen: 77,
  credit_account_frozen: 78,
  pending_transfer_not_found: 79,
  pending_transfer_not_pending: 80,
  pending_transfer_has_different_debit_account_id: 81,
  pending_transfer_has_different_credit_account_id: 82,
  pending_transfer_has_different_ledger: 83,
  pending_transfer_has_different_code: 84,
  exceeds_pending_transfer_amount: 85,
  pending_transfer_has_different_amount: 86,
  pending_transfer_already_posted: 87,
  pending_transfer_already_voided: 88,
  pending_transfer_expired: 89,
  overflows_debits_pending: 90,
  overflows_credits_pending: 91,
  overflows_debits_posted: 92,
  overflows_credits_posted: 93,
  overflows_debits: 94,
  overflows_credits: 95,
  overflows_timeout: 96,
  exceeds_credits: 97,
  exceeds_debits: 98,
  // anchor
  digest_must_not_be_zero: 104,
  // freeze / halt
  account_not_found: 112,
  account_already_frozen: 113,
  account_not_frozen: 114,
  ledger_already_halted: 115,
  ledger_not_halted: 116,
  // clearing: cycles (src/apps/clearing, docs/clearing.md)
  cycle_not_found: 128,
  cycle_not_open: 129,
  cycle_close_delayed: 130,
  cycle_member_exists: 131,
  cycle_member_not_found: 132,
  cycle_member_account_not_found: 133,
  cycle_members_full: 134,
  cycle_obligations_full: 135,
  cycle_member_is_clearing_account: 136,
  cycle_member_frozen: 137,
  clearing_account_not_found: 138,
  cycles_open_full: 139,
  invalid_cycle_action: 140,
  deferred_requires_cycle: 141,
  cycle_settlement_failed: 142,
  // clearing: the queue
  queue_full: 144,
  flags_reserved_for_single_phase: 145,
  // clearing: the regulator's rules
  rule_max_amount: 150,
  rule_max_count: 151,
  rule_max_window_amount: 152,
  invalid_rule_tier: 153,
  rule_not_found: 154,
  rules_full: 155,
  invalid_rule_window: 156,
  // toll (src/apps/toll, docs/toll.md): rule versions
  toll_rule_invalid: 160,
  toll_rule_version_sealed: 161,
  toll_section_exists: 162,
  toll_operator_account_not_found: 163,
  toll_rule_ledger_mismatch: 164,
  toll_rule_incomplete: 165,
  toll_rule_version_not_increasing: 166,
  toll_rule_height_overlaps: 167,
  toll_rule_height_not_future: 168,
  toll_rules_full: 169,
  toll_rule_not_found: 170,
  // toll: trips
  trip_no_rule_in_force: 172,
  trip_rule_version_mismatch: 173,
  trip_section_unknown: 174,
  trip_sections_invalid: 175,
  trip_class_invalid: 176,
  trip_class_not_served: 177,
  trip_amount_mismatch: 178,
  trip_amount_must_not_be_zero: 179,
  trip_issuer_not_found: 180,
  trip_issuer_ledger_mismatch: 181,
  trip_vehicle_blacklisted: 182,
  trip_account_blacklisted: 183,
  trip_issuer_is_operator: 185,
  // toll: the blacklist
  blacklist_invalid: 190,
  blacklist_entry_exists: 191,
  blacklist_entry_not_found: 192,
  blacklist_full: 193,
  // 194..199: reserved for the toll application.
} as const;

export type ResultName = keyof typeof ResultCode;
/** Codes below this are admission results; the rest come from the state machine. */
export const RESULT_APPLY_MIN = 32;

const NAMES: string[] = [];
for (const [name, code] of Object.entries(ResultCode)) NAMES[code] = name;

export function resultName(code: number): string {
  return NAMES[code] ?? `unknown(${code})`;
}
