// One-time setup: the fixed-base tables for G (point.ts). The host calls sm2Init once per
// instance with SM2_INIT_SCRATCH bytes of arena.
import { initTables, INIT_SCRATCH } from './point';

export const SM2_INIT_SCRATCH: usize = INIT_SCRATCH;
let ready = false;

export function sm2Init(scratch: usize): void {
  if (ready) return;
  initTables(scratch);
  ready = true;
}
