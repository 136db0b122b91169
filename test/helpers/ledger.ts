// Test fixtures for the ledger. TEST-ONLY: `acceptAllVerifier` skips SM2 so table and
// property tests can apply thousands of records quickly; signatures are dummies. The real
// SM2 path is exercised by the tests that say so (test/ledger-sm2.test.ts).

import {
  FLAG_LINKED, HINT_NONE, OFF_HINT, OFF_SIGNATURE, OFF_SIGNER, RECORD_BYTES, ROLE_ADMIN, ROLE_NODE, ROLE_OPERATOR,
  ROLE_PARTICIPANT, ROLE_REGULATOR, type RecordFields, encode,
} from '../../dist/src/codec/record.js';
import { LedgerState } from '../../dist/src/ledger/state.js';
import type { RecordVerifier } from '../../dist/src/ledger/verify.js';
import { type Signer, signerFromKeyPair } from '../../dist/src/codec/builders.js';
import { sm2Backend } from '../../dist/src/crypto/sm2-backend.js';

export const CHAIN = 7;

/** TEST-ONLY verifier: every record whose signer key resolved passes. Never use outside tests. */
export const acceptAllVerifier: RecordVerifier = {
  name: 'TEST-ONLY-accept-all',
  async verifyRecords(_batch, count, keys) {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = keys[i] ? 1 : 0;
    return out;
  },
};

const pool: Signer[] = [];
/** The i-th deterministic-per-run test signer (real SM2 key pairs, generated once). */
export function signer(i: number): Signer {
  while (pool.length <= i) pool.push(signerFromKeyPair(sm2Backend.generateKeyPair()));
  return pool[i];
}

/** A record with a dummy signature (for the accept-all verifier). */
export function rec(fields: Omit<RecordFields, 'signer' | 'chainId'> & { chainId?: number }, by: Signer): Uint8Array {
  const b = encode({ chainId: CHAIN, timestamp: 1n, ...fields, signer: by.keyId } as RecordFields);
  b.set(by.keyId, OFF_SIGNER);
  b.fill(0x11, OFF_SIGNATURE, OFF_SIGNATURE + 64);
  b[OFF_HINT] = HINT_NONE;
  return b;
}

export const roles = { ROLE_ADMIN, ROLE_REGULATOR, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_NODE };
export { FLAG_LINKED, RECORD_BYTES };

/** A bare state machine with admin(0), regulator(1), operator of ledger 1 (2), participants 3, 4. */
export function bareState(): { state: LedgerState; admin: Signer; regulator: Signer; operator: Signer; alice: Signer; bob: Signer; apply: (records: Uint8Array[], height?: number, timeMs?: number) => number[] } {
  const state = new LedgerState({ validatePublicKey: (pk) => sm2Backend.validatePublicKey(pk) });
  const [admin, regulator, operator, alice, bob] = [0, 1, 2, 3, 4].map(signer);
  let height = 0;
  let time = 1_000_000;
  const apply = (records: Uint8Array[], h?: number, t?: number): number[] => {
    height = h ?? height + 1;
    time = t ?? time + 1000;
    state.beginBlock(height, time);
    const batch = new Uint8Array(records.length * RECORD_BYTES);
    records.forEach((r, i) => batch.set(r, i * RECORD_BYTES));
    const codes = new Uint16Array(records.length);
    state.applyBatch(batch, 0, records.length, codes, 0, 0);
    state.endBlock();
    return Array.from(codes);
  };
  const setup = apply([
    rec({ kind: 'register_key', id: 1n, publicKey: admin.publicKey, roles: ROLE_ADMIN }, admin),
    rec({ kind: 'register_key', id: 2n, publicKey: regulator.publicKey, roles: ROLE_REGULATOR }, admin),
    rec({ kind: 'register_key', id: 3n, publicKey: operator.publicKey, roles: ROLE_OPERATOR, ledger: 1 }, admin),
    rec({ kind: 'register_key', id: 4n, publicKey: alice.publicKey, roles: ROLE_PARTICIPANT }, admin),
    rec({ kind: 'register_key', id: 5n, publicKey: bob.publicKey, roles: ROLE_PARTICIPANT }, admin),
  ], 0);
  if (setup.some((c) => c !== 0)) throw new Error(`fixture setup failed: ${setup}`);
  return { state, admin, regulator, operator, alice, bob, apply };
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChain } from '../../dist/src/chain/init.js';
import { Ledger, type LedgerOptions } from '../../dist/src/ledger/ledger.js';

export function tempDir(prefix = 'gmledger-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A fresh chain on disk (real SM2 genesis) opened with the TEST-ONLY verifier. */
export async function chainFixture(options: Partial<LedgerOptions> & { chainId?: number } = {}) {
  const dir = tempDir();
  const chainId = options.chainId ?? CHAIN;
  const init = await initChain({ dir, chainId, admin: signer(0), regulator: signer(1), node: signer(5) });
  const ledger = await Ledger.open({ dir, verifier: acceptAllVerifier, blockMaxMs: 5, ...options });
  return { dir, init, ledger, admin: signer(0), regulator: signer(1), node: signer(5) };
}
