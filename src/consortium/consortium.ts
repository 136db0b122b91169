// A consortium node (docs/consortium.md): the ledger ordered by a JetStream stream shared by
// every node, every batch re-admitted here (no node trusts another's admission), and every
// block co-signed: each node publishes its signature of the header it computed, and a block
// is final here once a quorum of the chain's node keys signed the same header hash as ours.
//
//   batches stream  gmledger-<chainId>        subject gmledger.<chainId>.batches
//   signatures      gmledger-<chainId>-sigs   subject gmledger.<chainId>.sigs
//
// A signature message is 256 bytes: the 160-byte header ‖ one 96-byte signature entry
// (key id ‖ r‖s), msgID `<height>.<key id hex>`. Members at height h are the keys holding
// ROLE_NODE registered in a block before h (genesis keys count from block 1).

import { EventEmitter } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { HEADER_BYTES, SIGNATURE_ENTRY_BYTES, headerHash, H_HEIGHT } from '../codec/block.js';
import { buildCertificate, quorumDefault } from '../codec/certificate.js';
import { ROLE_NODE, RECORD_BYTES, u64 } from '../codec/record.js';
import { resultName } from '../codec/results.js';
import { fromHex, toHex } from '../crypto/bytes.js';
import { sm3 } from '../crypto/hash.js';
import { sm2Backend } from '../crypto/sm2-backend.js';
import type { Signer } from '../crypto/signer.js';
import type { BlockEvent, Ledger, LedgerOptions, LedgerSequencer } from '../ledger/ledger.js';
import type { ConsortiumConfig } from '../ledger/config.js';
import type { LedgerState } from '../ledger/state.js';
import { JetStreamSequencer, TRUSTED_HEADER } from './jetstream-sequencer.js';
import { StreamReader } from './stream-reader.js';

export const APPENDER_HEADER = 'Gmledger-Appender';
export const APPENDER_SIG_HEADER = 'Gmledger-Appender-Sig';
const SIG_MESSAGE_BYTES = HEADER_BYTES + SIGNATURE_ENTRY_BYTES;
/** Heights ahead of the local chain whose signatures are kept until the chain gets there. */
const SIGS_AHEAD_MAX = 4096;
/** Heights with signatures but no certificate yet, kept at most (the newest win). */
const TALLIES_MAX = 8192;
/** Local header hashes kept to check signatures that arrive after their block is final. */
const HASHES_KEPT = 4096;
/** Own signatures waiting to be published while NATS is unreachable. */
const OUTBOX_MAX = 65_536;
const ALARMS_KEPT = 256;
/** Own published batches remembered until read back (more would mean the stream lost them). */
const OWN_KEPT = 65_536;

export type AlarmKind = 'diverged' | 'divergent_signer' | 'bad_batch' | 'bad_signature';

/** Misbehaviour seen here: kept (Ledger.recordEvidence), counted, logged, and emitted as 'alarm'. */
export interface Alarm {
  kind: AlarmKind;
  /** Hex key id of the node it names (this node for 'diverged'), or '' when unknown. */
  node: string;
  height?: number;
  seq?: number;
  detail: string;
  timeMs: number;
}

export interface ConsortiumOptions {
  /** NATS servers (all of the cluster's client URLs), or a connection (left open). */
  servers?: string | string[];
  nc?: NatsConnection;
  /** Stream replicas when this node creates the streams (3 on a 3-server cluster). */
  replicas?: number;
  ackTimeoutMs?: number;
}

/** Signatures seen for one height: by header hash, by signer; `verified` holds `<hash>.<id>` checked. */
type SequencerArgs = Parameters<NonNullable<LedgerOptions['sequencer']>>;

interface Tally { byHash: Map<string, Map<string, Uint8Array>>; header: Map<string, Uint8Array>; verified: Set<string> }

/**
 * Opens `dir` as a consortium node: its ledger, ordered by the shared stream, with
 * certified finality. Close with `node.close()` (closes the ledger too).
 */
export async function openConsortiumLedger(
  ledgerOptions: Omit<LedgerOptions, 'sequencer' | 'finality'>, options: ConsortiumOptions,
): Promise<ConsortiumNode> {
  if (!options.nc && !options.servers) throw new TypeError('openConsortiumLedger: give servers or nc');
  const nc = options.nc ?? await connect({
    servers: options.servers, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'gmledger',
  });
  const node = new ConsortiumNode(nc, options);
  try {
    const { Ledger } = await import('../ledger/ledger.js');
    const ledger = await Ledger.open({
      ...ledgerOptions, finality: 'certified',
      sequencer: (tip, sink, o) => node.sequencer(tip, sink, o),
    });
    await node.attach(ledger);
    return node;
  } catch (err) {
    if (!options.nc) await nc.close().catch(() => undefined);
    throw err;
  }
}

export class ConsortiumNode extends EventEmitter {
  readonly #nc: NatsConnection;
  readonly #ownsNc: boolean;
  readonly #o: ConsortiumOptions;
  #ledger: Ledger | undefined;
  #state: LedgerState | undefined;
  #chainId = 0;
  #node: Signer | undefined;
  #config: ConsortiumConfig = {};
  #js: JetStreamClient | undefined;
  #sigs: StreamReader | undefined;
  readonly #tallies = new Map<number, Tally>();
  /** Local header hash by height (the last HASHES_KEPT blocks). */
  readonly #hashes = new Map<number, string>();
  #outbox: { height: number; body: Uint8Array }[] = [];
  #flushing = false;
  #closed = false;
  /** Appender signatures of batches this node admitted and published, until read back. */
  readonly #own = new Set<string>();
  /** Highest height certified here, set before the certificate's write completes. */
  #certified = 0;
  readonly alarms: Alarm[] = [];
  readonly alarmCounts: Record<AlarmKind, number> = {
    diverged: 0, divergent_signer: 0, bad_batch: 0, bad_signature: 0,
  };
  /** Last height each node (hex key id) signed, as seen here. */
  readonly lastSigned = new Map<string, number>();

  constructor(nc: NatsConnection, o: ConsortiumOptions) {
    super();
    this.#nc = nc;
    this.#ownsNc = !o.nc;
    this.#o = o;
  }

  get ledger(): Ledger {
    if (!this.#ledger) throw new Error('ConsortiumNode: not attached');
    return this.#ledger;
  }

  get streams(): { batches: string; signatures: string } {
    return { batches: `gmledger-${this.#chainId}`, signatures: `gmledger-${this.#chainId}-sigs` };
  }

  /** LedgerOptions.sequencer: the shared stream, with re-admission and this node's identity on each batch. */
  sequencer(tip: SequencerArgs[0], sink: SequencerArgs[1], o: SequencerArgs[2]): LedgerSequencer {
    if (!o.config.consortium) {
      throw new Error('this chain is not a consortium\'s (its config has no consortium section: ' +
        'make one with gmledger init --nodes <n>)');
    }
    this.#state = o.state;
    this.#chainId = o.config.chainId;
    this.#node = o.node;
    this.#config = o.config.consortium ?? {};
    return new JetStreamSequencer({
      nc: this.#nc, stream: `gmledger-${this.#chainId}`, subject: `gmledger.${this.#chainId}.batches`,
      height: tip.height, timeMs: tip.timeMs, sink, blockMaxRecords: o.blockMaxRecords, blockMaxMs: o.blockMaxMs,
      // Where this node's chain left the stream (stored with its tip block): no replay.
      startSeq: tip.position,
      replicas: this.#o.replicas, ackTimeoutMs: this.#o.ackTimeoutMs,
      appenderHeaders: (digest) => this.#appenderHeaders(digest),
      admit: async (records, n, headers) => {
        const why = this.#checkAppender(records, n, headers);
        if (why) return why;
        // Our own batch, proven ours by the appender signature just checked: this node admitted
        // exactly these bytes before publishing them, and admission only ever gets more
        // permissive with time (keys and roles are never removed), so it would pass again.
        if (this.#own.delete(headers!.get(APPENDER_SIG_HEADER))) return undefined;
        const codes = new Uint16Array(n);
        const trusted = headers?.get(TRUSTED_HEADER) === '1';
        const admitted = trusted
          ? await o.admission.admitTrusted(records, n, codes)
          : await o.admission.admit(records, n, codes);
        if (admitted.length === n) return undefined;
        const i = codes.findIndex((c) => c !== 0);
        return `record ${i} of ${n}: ${resultName(codes[i])}`;
      },
      onEvidence: (e) => {
        this.#alarm({ kind: 'bad_batch', node: e.headers?.get(APPENDER_HEADER) ?? '', seq: e.seq, detail: e.reason });
      },
    });
  }

  #appenderHeaders(digest: Uint8Array): Record<string, string> {
    const node = this.#node!;
    const sig = toHex(sm2Backend.sign(digest, node.privateKey).subarray(0, 64));
    // Remembered by signature (only this node can make it): its read-back skips re-admission.
    if (this.#own.size >= OWN_KEPT) this.#own.delete(this.#own.values().next().value as string);
    this.#own.add(sig);
    return { [APPENDER_HEADER]: toHex(node.keyId), [APPENDER_SIG_HEADER]: sig };
  }

  /** The batch names a node key of this chain, which signed its SM3: who appended it is provable. */
  #checkAppender(records: Uint8Array, n: number, headers: JsMsg['headers']): string | undefined {
    const id = headers?.get(APPENDER_HEADER) ?? '';
    const sig = headers?.get(APPENDER_SIG_HEADER) ?? '';
    if (!/^[0-9a-f]{64}$/.test(id) || !/^[0-9a-f]{128}$/.test(sig)) return 'no appender identity';
    const key = this.#state!.keyById(fromHex(id));
    if (!key || (key.roles & ROLE_NODE) === 0) return `appender ${id} is not a node of this chain`;
    const digest = sm3(records.subarray(0, n * RECORD_BYTES));
    const ok = sm2Backend.verifyBatch([{ msg: digest, signature: fromHex(sig), publicKey: key.publicKey }])[0];
    return ok === true ? undefined : `appender ${id}: bad signature over the batch`;
  }

  /** After Ledger.open: the signature stream, own signatures of every block not yet final, alarms. */
  async attach(ledger: Ledger): Promise<void> {
    this.#ledger = ledger;
    const jsm = await jetstreamManager(this.#nc);
    const { signatures } = this.streams;
    const subject = `gmledger.${this.#chainId}.sigs`;
    try {
      await jsm.streams.info(signatures);
    } catch (err) {
      if (!(err instanceof Error) || !/not found/i.test(err.message)) throw err;
      await jsm.streams.add({
        name: signatures, subjects: [subject], storage: StorageType.File, num_replicas: this.#o.replicas ?? 1,
        max_msg_size: 1024, description: 'gmledger block signatures',
      }).catch(() => jsm.streams.info(signatures));
    }
    this.#js = jetstream(this.#nc);
    ledger.on('block', (e: BlockEvent) => this.#onBlock(e));
    // Blocks applied while the ledger opened (catch-up) are signed now, from the store: the
    // last HASHES_KEPT of them (a certificate of a later block makes every earlier one final).
    const from = Math.max(ledger.finalHeight + 1, ledger.durableHeight - HASHES_KEPT + 1);
    for (let h = from; h <= ledger.durableHeight; h++) {
      const b = await ledger.reader.getBlock(h);
      if (b) this.#onBlock({ height: h, header: b.headerBytes, signatures: b.signatures } as BlockEvent);
    }
    // From the start: a node that was down certifies what the others finalised meanwhile.
    this.#sigs = new StreamReader({ nc: this.#nc, stream: signatures, startSeq: 1, onMessage: (m) => {
      if (!this.#closed) this.#onSignature(m.data);
    } });
    await this.#sigs.start();
  }

  #onBlock(e: Pick<BlockEvent, 'height' | 'header' | 'signatures'>): void {
    const own = e.signatures.subarray(0, SIGNATURE_ENTRY_BYTES);
    const hash = toHex(headerHash(e.header));
    this.#hashes.set(e.height, hash);
    if (this.#hashes.size > HASHES_KEPT) this.#hashes.delete(this.#hashes.keys().next().value as number);
    const body = new Uint8Array(SIG_MESSAGE_BYTES);
    body.set(e.header.subarray(0, HEADER_BYTES));
    body.set(own, HEADER_BYTES);
    this.#count(e.height, hash, body);
    if (this.#outbox.length >= OUTBOX_MAX) this.#outbox.shift();
    this.#outbox.push({ height: e.height, body });
    void this.#flushOutbox();
  }

  /** Publishes own signatures in order; on failure keeps them and retries (NATS may be away). */
  async #flushOutbox(): Promise<void> {
    if (this.#flushing || !this.#js) return;
    this.#flushing = true;
    const keyId = toHex(this.#node!.keyId);
    try {
      while (this.#outbox.length > 0 && !this.#closed) {
        const { height, body } = this.#outbox[0];
        try {
          const msgID = `${height}.${keyId}`;
          await this.#js.publish(`gmledger.${this.#chainId}.sigs`, body, { msgID, timeout: 5000 });
          this.#outbox.shift();
        } catch {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** A signature message from any node (own ones come back too, and count once). */
  #onSignature(data: Uint8Array): void {
    if (data.length !== SIG_MESSAGE_BYTES || !this.#ledger) return;
    const height = Number(u64(data, H_HEIGHT));
    const hash = toHex(headerHash(data.subarray(0, HEADER_BYTES)));
    const ledger = this.#ledger;
    if (height <= Math.max(ledger.finalHeight, this.#certified)) {
      const mine = this.#hashes.get(height);
      if (mine !== undefined && mine !== hash) {
        this.#alarm({ kind: 'divergent_signer', node: toHex(data.subarray(HEADER_BYTES, HEADER_BYTES + 32)), height,
          detail: `signed header ${hash} for final block ${height} (certified: ${mine})` });
      }
      return;
    }
    if (height > ledger.durableHeight + SIGS_AHEAD_MAX) return;
    this.#count(height, hash, data);
  }

  #count(height: number, hash: string, body: Uint8Array): void {
    let t = this.#tallies.get(height);
    if (!t) {
      // Bounded while nothing certifies (a required signer down): the oldest heights go first.
      if (this.#tallies.size >= TALLIES_MAX) {
        const oldest = Math.min(...this.#tallies.keys());
        if (oldest > height) return;
        this.#tallies.delete(oldest);
      }
      t = { byHash: new Map(), header: new Map(), verified: new Set() };
      this.#tallies.set(height, t);
    }
    const id = toHex(body.subarray(HEADER_BYTES, HEADER_BYTES + 32));
    const signers = t.byHash.get(hash) ?? new Map<string, Uint8Array>();
    if (signers.has(id)) return;
    signers.set(id, body.slice(HEADER_BYTES));
    t.byHash.set(hash, signers);
    t.header.set(hash, body.slice(0, HEADER_BYTES));
    this.#settle();
  }

  /**
   * Certifies what can be: for each height this node has durable, in order, the signers of
   * each header hash are checked against the members; our hash with a quorum is final, and
   * another hash with a quorum means this node diverged.
   */
  #settle(): void {
    const ledger = this.#ledger;
    if (!ledger || ledger.failed) return;
    const durable = ledger.durableHeight;
    for (const height of [...this.#tallies.keys()].sort((a, b) => a - b)) {
      if (height <= Math.max(ledger.finalHeight, this.#certified)) { this.#tallies.delete(height); continue; }
      if (height > durable) break;
      this.#settleHeight(height, this.#tallies.get(height)!);
      if (ledger.failed) return;
    }
  }

  #settleHeight(height: number, t: Tally): void {
    const mine = this.#hashes.get(height);
    // No local hash kept for it (older than HASHES_KEPT): this node cannot judge that block,
    // and must not take another hash's quorum for divergence. A later block certifies it.
    if (mine === undefined) {
      this.#tallies.delete(height);
      return;
    }
    const members = this.#members(height);
    const quorum = this.#config.quorum ?? quorumDefault(members.size);
    const required = this.#config.required ?? [];
    for (const hash of [...t.byHash.keys()]) {
      const valid = this.#validSigners(height, hash, t, members);
      if (valid.length < quorum || !required.every((id) => valid.some((e) => toHex(e.subarray(0, 32)) === id))) {
        continue;
      }
      if (hash === mine) {
        this.#tallies.delete(height);
        this.#reportDissent(height, hash, t, members);
        this.#certified = Math.max(this.#certified, height);
        void this.#ledger!.certify(height, buildCertificate(valid)).catch((err: unknown) => this.emit('error', err));
        return;
      }
      this.#alarm({ kind: 'diverged', node: toHex(this.#node!.keyId), height,
        detail: `this node computed header ${mine ?? '?'} for block ${height}; a quorum signed ${hash}` });
      this.#ledger!.halt(new Error(`consortium: block ${height} diverged from the quorum: this node stopped`));
      return;
    }
  }

  /** Valid member signatures of `hash` (each checked once; invalid ones are dropped and alarmed). */
  #validSigners(height: number, hash: string, t: Tally, members: Map<string, Uint8Array>): Uint8Array[] {
    const signers = t.byHash.get(hash)!;
    const header = t.header.get(hash)!;
    const out: Uint8Array[] = [];
    for (const [id, entry] of signers) {
      const pk = members.get(id);
      const checked = t.verified.has(`${hash}.${id}`);
      const ok = checked || (pk !== undefined &&
        sm2Backend.verifyBatch([{ msg: header, signature: entry.subarray(32, 96), publicKey: pk }])[0] === true);
      if (ok) {
        t.verified.add(`${hash}.${id}`);
        out.push(entry);
        continue;
      }
      signers.delete(id);
      this.#alarm({ kind: 'bad_signature', node: id, height,
        detail: pk ? `bad signature of header ${hash}` : `signature by a key that is not a node at block ${height}` });
    }
    return out;
  }

  /** Members that signed another header for a block the quorum certified: named. */
  #reportDissent(height: number, hash: string, t: Tally, members: Map<string, Uint8Array>): void {
    for (const [other, signers] of t.byHash) {
      if (other === hash) continue;
      for (const id of signers.keys()) {
        if (!members.has(id)) continue;
        this.#alarm({ kind: 'divergent_signer', node: id, height,
          detail: `signed header ${other} for block ${height}; the quorum certified ${hash}` });
      }
    }
    for (const id of t.byHash.get(hash)!.keys()) {
      this.lastSigned.set(id, Math.max(this.lastSigned.get(id) ?? -1, height));
    }
  }

  /** Node keys of block `height`: ROLE_NODE keys registered before it (genesis keys count from 1). */
  #members(height: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const k of this.#ledger!.keys()) {
      if ((k.roles & ROLE_NODE) !== 0 && k.height < height) out.set(toHex(k.keyId), k.publicKey);
    }
    return out;
  }

  #alarm(a: Omit<Alarm, 'timeMs'>): void {
    const alarm: Alarm = { ...a, timeMs: Date.now() };
    this.alarmCounts[a.kind]++;
    this.alarms.push(alarm);
    if (this.alarms.length > ALARMS_KEPT) this.alarms.shift();
    const key = `${a.kind}.${a.height ?? ''}.${a.seq ?? ''}.${a.node}`;
    void this.#ledger?.recordEvidence(key, { ...alarm }).catch(() => undefined);
    this.emit('alarm', alarm);
  }

  /** Hex key ids that signed some header for `height`, while it is not yet final here. */
  signersPending(height: number): string[] {
    const t = this.#tallies.get(height);
    return t ? [...new Set([...t.byHash.values()].flatMap((m) => [...m.keys()]))] : [];
  }

  /** What a status endpoint shows. */
  status(): {
    chainId: number; node: string; height: number; durableHeight: number; finalHeight: number;
    quorum: number; members: string[]; lastSigned: Record<string, number>; halted: string | undefined;
    alarms: Record<AlarmKind, number>; recentAlarms: Alarm[];
  } {
    const ledger = this.ledger;
    const members = [...this.#members(ledger.height + 1).keys()];
    return {
      chainId: this.#chainId, node: toHex(this.#node!.keyId), height: ledger.height,
      durableHeight: ledger.durableHeight, finalHeight: ledger.finalHeight,
      quorum: this.#config.quorum ?? quorumDefault(members.length), members,
      lastSigned: Object.fromEntries(this.lastSigned), halted: ledger.failed?.message, alarms: { ...this.alarmCounts },
      recentAlarms: this.alarms.slice(-16),
    };
  }

  /** Prometheus lines: finality, halts, alarms by kind, each node's last co-signed height. */
  metrics(): string {
    const ledger = this.ledger;
    let out = '# HELP gmledger_final_height Highest block certified by a quorum here.\n' +
      `# TYPE gmledger_final_height gauge\ngmledger_final_height ${ledger.finalHeight}\n` +
      '# HELP gmledger_consortium_halted 1 once this node stopped (its header differed from a quorum\'s).\n' +
      `# TYPE gmledger_consortium_halted gauge\ngmledger_consortium_halted ${ledger.failed ? 1 : 0}\n` +
      '# HELP gmledger_consortium_alarms_total Misbehaviour seen here, by kind.\n' +
      '# TYPE gmledger_consortium_alarms_total counter\n';
    for (const [k, v] of Object.entries(this.alarmCounts)) {
      out += `gmledger_consortium_alarms_total{kind="${k}"} ${v}\n`;
    }
    out += '# HELP gmledger_consortium_signed_height Last block each node key co-signed in a certificate seen here.\n' +
      '# TYPE gmledger_consortium_signed_height gauge\n';
    for (const [id, h] of this.lastSigned) out += `gmledger_consortium_signed_height{node="${id}"} ${h}\n`;
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#ledger?.close();
    } finally {
      this.#closed = true;
      await this.#sigs?.close();
      if (this.#ownsNc) await this.#nc.close().catch(() => undefined);
    }
  }
}

