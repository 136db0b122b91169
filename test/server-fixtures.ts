// Shared fixtures for the network-node tests: keys, records, a node on an ephemeral port
// over the in-memory backend, and raw-socket helpers for hostile input.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import {
  OFF_HINT, OFF_SIGNATURE, RECORD_BYTES, ROLE_ADMIN, ROLE_OPERATOR, ROLE_PARTICIPANT, ROLE_REGULATOR, encode,
} from '../dist/src/codec/record.js';
import { generateSigner, records, type Signer } from '../dist/src/codec/builders.js';
import { MemoryBackend, type MemoryBackendOptions } from '../dist/src/pipeline/memory-backend.js';
import { NodeServer, type NodeServerOptions } from '../dist/src/server/node-server.js';
import { Client, authSigner, type ClientOptions } from '../dist/src/client/index.js';
import { NodeWebSocket } from '../dist/src/client/node-websocket.js';
import { Frame, HEADER_BYTES, makeFrame, type FrameHeader, readHeader } from '../dist/src/protocol/wire.js';

export const CHAIN_ID = 7;
export const LEDGER = 1;

export interface Keys {
  admin: Signer;
  regulator: Signer;
  operator: Signer;
  alice: Signer;
  bob: Signer;
  stranger: Signer; // never registered
}

let cachedKeys: Keys | undefined;
export function keys(): Keys {
  cachedKeys ??= {
    admin: generateSigner(), regulator: generateSigner(), operator: generateSigner(), alice: generateSigner(),
    bob: generateSigner(), stranger: generateSigner(),
  };
  return cachedKeys;
}

export function registered(k: Keys): MemoryBackendOptions['keys'] {
  return [
    { publicKey: k.admin.publicKey, roles: ROLE_ADMIN },
    { publicKey: k.regulator.publicKey, roles: ROLE_REGULATOR },
    { publicKey: k.operator.publicKey, roles: ROLE_OPERATOR, ledger: LEDGER },
    { publicKey: k.alice.publicKey, roles: ROLE_PARTICIPANT },
    { publicKey: k.bob.publicKey, roles: ROLE_PARTICIPANT },
  ];
}

export async function startNode(
  backendOptions: Partial<MemoryBackendOptions> = {}, serverOptions: Partial<NodeServerOptions> = {},
): Promise<{ server: NodeServer; backend: MemoryBackend; k: Keys; close(): Promise<void> }> {
  const k = keys();
  const backend = new MemoryBackend({ chainId: CHAIN_ID, keys: registered(k), ...backendOptions });
  const server = await NodeServer.start({ backend, host: '127.0.0.1', port: 0, ...serverOptions });
  return {
    server, backend, k,
    async close() {
      await server.close();
      await backend.close();
    },
  };
}

export function connectAs(url: string, signer?: Signer, options: ClientOptions = {}): Promise<Client> {
  return Client.connect(url, { ...options, signer: signer ? authSigner(signer) : undefined });
}

let nextId = 1n + BigInt(Date.now()) * 1000n;
export function freshId(): bigint {
  return nextId++;
}

/** A signed transfer (real SM2: ~25 ms with the reference backend). */
export function signedTransfer(s: Signer, debit: bigint, credit: bigint, amount = 10n, id = freshId()): Uint8Array {
  return records.transfer({
    chainId: CHAIN_ID, id, debitAccountId: debit, creditAccountId: credit, amount, ledger: LEDGER, code: 1,
  }, s);
}

/**
 * A transfer with a well-formed but fake signature, for backends that skip verification:
 * lets tests push thousands of records without paying for SM2 signing.
 */
export function fakeTransfer(s: Signer, debit: bigint, credit: bigint, id = freshId()): Uint8Array {
  const r = encode({
    kind: 'transfer', chainId: CHAIN_ID, id, signer: s.keyId, debitAccountId: debit, creditAccountId: credit, amount: 1n,
    ledger: LEDGER, code: 1,
  });
  r.fill(1, OFF_SIGNATURE, OFF_SIGNATURE + 64);
  r[OFF_HINT] = 0xff;
  return r;
}

export function submitFrame(recs: Uint8Array[], requestId: number, flags = 0): Uint8Array {
  const f = makeFrame(Frame.submit, requestId, recs.length, recs.length * RECORD_BYTES, flags);
  recs.forEach((r, i) => f.set(r, HEADER_BYTES + i * RECORD_BYTES));
  return f;
}

/**
 * A raw WebSocket (no SDK) that records every frame received, for sending hostile bytes.
 */
export class RawConn {
  readonly ws: NodeWebSocket;
  readonly frames: Uint8Array[] = [];
  readonly texts: string[] = [];
  closed: { code: number; reason: string } | undefined;
  #waiters: (() => void)[] = [];

  private constructor(url: string) {
    this.ws = new NodeWebSocket(url);
    this.ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') this.texts.push(ev.data);
      else this.frames.push(new Uint8Array(ev.data));
      for (const w of this.#waiters.splice(0)) w();
    };
    this.ws.onclose = (ev) => {
      this.closed = { code: ev.code, reason: ev.reason };
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  static async open(url: string): Promise<RawConn> {
    const c = new RawConn(url);
    await c.until(() => c.frames.length + c.texts.length > 0 || c.closed !== undefined);
    return c;
  }

  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Waits until `cond` holds, re-checked after each frame or close. */
  async until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  headers(): FrameHeader[] {
    return this.frames.map((f) => readHeader(f));
  }

  close(): void {
    this.ws.close();
  }
}

/** Sends raw bytes on a plain TCP connection after a WebSocket handshake (for malformed framing). */
export function rawTcp(port: number): Promise<{ write(b: Uint8Array): void; closed: Promise<Buffer>; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const closed = new Promise<Buffer>((r) => s.on('close', () => r(Buffer.concat(chunks))));
    s.on('error', reject);
    s.on('connect', () => {
      s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let upgraded = false;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!upgraded && Buffer.concat(chunks).includes('\r\n\r\n')) {
        upgraded = true;
        resolve({ write: (b) => s.write(b), closed, destroy: () => s.destroy() });
      }
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
