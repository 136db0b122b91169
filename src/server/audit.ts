// The audit trail (docs/operations.md, "Audit trail"): every authenticated access to the node
// — WebSocket logins (and failed ones), subscriptions, submits, signed HTTP requests — as a
// JSON line with who, what and when, hash-chained (each line's `hash` is SM3 of the previous
// hash and the line without it), and anchored on the chain: every `anchorEveryMs` the node
// submits an `anchor` record, signed by its node key, whose digest is the chain's latest hash.
// Tampering with, dropping or reordering a line breaks the chain from there on; a line
// rewritten along with every later hash no longer matches the digest anchored on the chain.

import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { toHex, fromHex } from '../crypto/bytes.js';
import { sm3 } from '../crypto/hash.js';
import { records, type Signer } from '../codec/builders.js';
import { resultName } from '../codec/results.js';

/** Entries buffered before a write is forced (else every second). */
export const AUDIT_BUFFER_MAX = 4096;
export const AUDIT_FLUSH_MS = 1000;
export const AUDIT_ANCHOR_MS_DEFAULT = 60_000;
const GENESIS_HASH = '0'.repeat(64);
const enc = new TextEncoder();

export interface AuditEvent {
  /** The key id (hex) the access was authenticated as; '' for a failed login. */
  who: string;
  /** How: 'ws' or 'http'. */
  via: 'ws' | 'http';
  /** What: 'login', 'login_failed', 'subscribe <topic>', 'submit <n> records', 'GET <path>'. */
  what: string;
  /** The outcome: 'ok', or the error name (forbidden_topic, 403, …). */
  outcome: string;
}

/** A line of the trail as written. */
export interface AuditLine extends AuditEvent {
  seq: number;
  timeMs: number;
  /** For an anchor line: the anchor record's id (decimal), and the last line it covers (whose hash it carries). */
  anchorId?: string;
  anchorSeq?: number;
  hash: string;
}

export interface AuditOptions {
  file: string;
  /** Submits an anchor of `digest` (32 bytes) for lines [fromSeq, toSeq]; resolves with its id, or rejects. */
  anchor?: (digest: Uint8Array, fromSeq: number, toSeq: number) => Promise<bigint>;
  anchorEveryMs?: number;
  log?: (line: string) => void;
}

/** The hash of `line` (its fields but `hash`, in the order written) after `prev` (hex). */
export function auditHash(prev: string, line: Omit<AuditLine, 'hash'>): string {
  return hashText(prev, JSON.stringify(line));
}

/** The hash of a line's JSON text without `hash` after `prev` (hex). */
function hashText(prev: string, text: string): string {
  const body = enc.encode(text);
  const m = new Uint8Array(32 + body.length);
  m.set(fromHex(prev), 0);
  m.set(body, 32);
  return toHex(sm3(m));
}

export class AuditTrail {
  readonly #o: AuditOptions;
  #seq = 0;
  #prev = GENESIS_HASH;
  #buffer: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #anchoredSeq = -1;
  #timer: NodeJS.Timeout | undefined;
  #anchorTimer: NodeJS.Timeout | undefined;

  private constructor(o: AuditOptions) {
    this.#o = o;
  }

  /** Opens the trail at `file`, continuing its hash chain if it exists. */
  static async open(o: AuditOptions): Promise<AuditTrail> {
    const t = new AuditTrail(o);
    await mkdir(dirname(o.file), { recursive: true, mode: 0o700 });
    const text = await readFile(o.file, 'utf8').catch(() => '');
    const lines = text.split('\n').filter((l) => l !== '');
    if (lines.length > 0) {
      // A crash may have cut the last line short: the chain continues from the last whole one.
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          const last = JSON.parse(lines[i]) as AuditLine;
          t.#seq = last.seq + 1;
          t.#prev = last.hash;
          break;
        } catch { /* a torn line */ }
      }
    }
    t.#timer = setInterval(() => { void t.flush(); }, AUDIT_FLUSH_MS);
    t.#timer.unref();
    if (o.anchor !== undefined) {
      t.#anchorTimer = setInterval(() => { void t.anchorNow(); }, o.anchorEveryMs ?? AUDIT_ANCHOR_MS_DEFAULT);
      t.#anchorTimer.unref();
    }
    return t;
  }

  /** Appends an event (written within AUDIT_FLUSH_MS, or at once when the buffer is full). */
  record(e: AuditEvent, extra: { anchorId?: string; anchorSeq?: number } = {}): void {
    const line: Omit<AuditLine, 'hash'> = { seq: this.#seq++, timeMs: Date.now(), ...e, ...extra };
    // One serialisation: the hash covers this text, and the written line is it with `hash` last.
    const text = JSON.stringify(line);
    const hash = hashText(this.#prev, text);
    this.#prev = hash;
    this.#buffer.push(`${text.slice(0, -1)},"hash":"${hash}"}`);
    if (this.#buffer.length >= AUDIT_BUFFER_MAX) void this.flush();
  }

  /** Writes the buffered lines (in order: writes are chained). */
  flush(): Promise<void> {
    if (this.#buffer.length === 0) return this.#writing;
    const text = this.#buffer.join('\n') + '\n';
    this.#buffer = [];
    this.#writing = this.#writing.then(() => appendFile(this.#o.file, text, { mode: 0o600 }))
      .catch((e: Error) => this.#o.log?.(`audit trail: cannot write ${this.#o.file}: ${e.message}`));
    return this.#writing;
  }

  /** Anchors the trail's latest hash on the chain if lines were added since the last anchor. */
  async anchorNow(): Promise<void> {
    const anchor = this.#o.anchor;
    const last = this.#seq - 1;
    if (anchor === undefined || last <= this.#anchoredSeq) return;
    const from = this.#anchoredSeq + 1;
    const digest = fromHex(this.#prev);
    try {
      // The lines up to `last` are on disk and synced before their digest goes on the chain.
      await this.flush();
      const fh = await open(this.#o.file, 'r');
      await fh.sync().finally(() => fh.close());
      const id = await anchor(digest, from, last);
      this.#anchoredSeq = last;
      this.record({ who: '', via: 'ws', what: `anchor lines ${from}..${last}`, outcome: 'ok' },
        { anchorId: id.toString(), anchorSeq: last });
    } catch (e) {
      this.#o.log?.(`audit trail: anchoring lines ${from}..${last} failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#anchorTimer);
    await this.flush();
  }
}

/**
 * Checks a trail file: every line parses, sequence numbers run 0, 1, 2, … and every hash
 * chains. Returns the anchors (each anchor line's record id, the last line it covers, and
 * that line's hash: the digest the anchor record carries) for the caller to look up on the chain.
 */
export async function verifyAuditFile(
  file: string,
): Promise<{ lines: number; anchors: { id: string; digest: string; lastSeq: number }[] }> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  let prev = GENESIS_HASH;
  const hashes: string[] = [];
  const anchors: { id: string; digest: string; lastSeq: number }[] = [];
  lines.forEach((text, i) => {
    let line: AuditLine;
    try {
      line = JSON.parse(text) as AuditLine;
    } catch {
      throw new Error(`${file}: line ${i + 1} is not JSON`);
    }
    if (line.seq !== i) throw new Error(`${file}: line ${i + 1} has sequence ${line.seq}, expected ${i}`);
    const { hash, ...rest } = line;
    if (auditHash(prev, rest) !== hash) throw new Error(`${file}: line ${i + 1} (seq ${i}) does not chain: altered`);
    if (line.anchorId !== undefined) {
      const covered = line.anchorSeq ?? -1;
      if (!(covered >= 0 && covered < i)) {
        throw new Error(`${file}: line ${i + 1} anchors line ${covered}, not an earlier one`);
      }
      anchors.push({ id: line.anchorId, digest: hashes[covered], lastSeq: covered });
    }
    hashes.push(hash);
    prev = hash;
  });
  return { lines: lines.length, anchors };
}

/**
 * The anchor callback of a node's trail: an `anchor` record signed by the node key, whose
 * digest is the trail's hash and whose metadata is the lines it covers (first and last
 * sequence, u64 LE each, then 16 zero bytes); its id is the digest's first 16 bytes (LE u128;
 * 1 if that is 0 or 2¹²⁸−1). Submitted through `submit` (the node's backend).
 */
export function nodeAuditAnchor(
  chainId: number, node: Signer, submit: (batch: Uint8Array, count: number) => Promise<{ codes: Uint16Array }>,
): (digest: Uint8Array, fromSeq: number, toSeq: number) => Promise<bigint> {
  return async (digest, fromSeq, toSeq) => {
    let id = 0n;
    for (let i = 15; i >= 0; i--) id = (id << 8n) | BigInt(digest[i]);
    if (id === 0n || id === (1n << 128n) - 1n) id = 1n;
    const metadata = new Uint8Array(32);
    const v = new DataView(metadata.buffer);
    v.setBigUint64(0, BigInt(fromSeq), true);
    v.setBigUint64(8, BigInt(toSeq), true);
    const r = await submit(records.anchor({ chainId, id, digest, metadata }, node), 1);
    if (r.codes[0] !== 0 && resultName(r.codes[0]) !== 'exists') {
      throw new Error(`anchor refused: ${resultName(r.codes[0])}`);
    }
    return id;
  };
}
