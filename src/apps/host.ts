// What an application's state-machine part (src/apps/<app>/state.ts) may use of the ledger's
// state machine: the surface LedgerState offers for it (src/ledger/state.ts, "app*"). The
// apps sit below the ledger (docs/architecture.md, layers): the ledger builds them and hands
// itself over as this interface, so an app never imports the ledger.

/** A slab of 128-byte state entries (accounts, transfers): 32 words each, `count` in use. */
export interface EntrySlab {
  readonly words: Uint32Array;
  readonly count: number;
}

/** An id index over a slab: the entry whose u128 id is the four words, or −1. */
export interface EntryIndex {
  find(w0: number, w1: number, w2: number, w3: number): number;
}

/** A registered key, as the state machine holds it. */
export interface HostKey {
  readonly index: number;
  readonly roles: number;
  readonly ledger: number;
}

export interface AppHost {
  /** The block being applied, and its time (ms): the only clock an app may use. */
  readonly height: number;
  readonly timeMs: number;
  readonly accounts: EntrySlab;
  readonly transfers: EntrySlab;
  readonly accountIndex: EntryIndex;
  readonly transferIndex: EntryIndex;
  readonly halted: ReadonlySet<number>;
  /** True while a linked chain is applied (appOnUndo records undo work only then). */
  readonly inChain: boolean;
  /** Account / transfer index by the 16-byte id at `b[o..]`, or −1. */
  findAccount(b: Uint8Array, o: number): number;
  findTransfer(b: Uint8Array, o: number): number;
  appSigner(b: Uint8Array, o: number): HostKey | undefined;
  appCheckSignedRequest(b: Uint8Array, o: number, roles: number): number;
  appCheckRequest(b: Uint8Array, o: number): number;
  appRecordOp(b: Uint8Array, o: number, index: number): void;
  appTouchAccount(i: number): void;
  appTouchTransfer(i: number): void;
  appOnUndo(undo: () => void): void;
  appAtomic(fn: () => number): number;
  appCheckMove(dr: number, cr: number, amt: Uint32Array): number;
  appMove(dr: number, cr: number, amt: Uint32Array): void;
  appNewTransfer(b: Uint8Array, o: number, index: number, status: number): number;
  appNewEntry(id: Uint8Array, dr: number, cr: number, amt: Uint32Array, userData: Uint32Array, ledger: number,
    code: number, flags: number, status: number, index: number): number;
  appScheduleExpiry(t: number): void;
}

/** An application's event of a block, for subscribers of `topic` (JSON values only). */
export interface Notice { topic: string; kind: string; [field: string]: string | number | null }
