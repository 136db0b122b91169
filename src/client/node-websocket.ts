// A minimal RFC 6455 WebSocket client over node:net with the browser WebSocket's surface
// (the subset the SDK uses). Node 20 has no global WebSocket without
// --experimental-websocket; browsers and Node 22+ use their own and never load this file.
// ws:// over node:net; wss:// over node:tls, verifying the server's certificate against
// `ca` when given, else the system's default CAs.

import { createHash, randomBytes } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest frame this client accepts from a server (bigger closes with 1009). */
export const CLIENT_FRAME_BYTES_MAX = 64 * 1024 * 1024;
/** Largest HTTP upgrade response head accepted. */
const HANDSHAKE_BYTES_MAX = 16 * 1024;

export interface MessageEventLike { data: ArrayBuffer | string }
export interface CloseEventLike { code: number; reason: string; wasClean: boolean }

export interface NodeWebSocketOptions {
  /** wss:// only: the CA certificate(s), PEM, that the server's certificate must chain to (default: the system's). */
  ca?: string | Buffer;
}

/** TLS errors that mean "this certificate is not trusted here" (they get a hint about `ca`). */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED',
]);

/** A TLS failure as a message naming the server and, for an untrusted certificate, the `ca` option. */
function tlsError(e: NodeJS.ErrnoException, host: string): Error {
  const code = e.code ?? '';
  if (UNTRUSTED.has(code)) {
    return new Error(`TLS: the certificate of ${host} is not trusted (${e.message}, ${code}); ` +
      'pass options.ca with its CA certificate (PEM) if it is self-signed or from a private CA', { cause: e });
  }
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || /CERT|SSL|TLS/.test(code)) {
    return new Error(`TLS with ${host} failed: ${e.message} (${code})`, { cause: e });
  }
  return e;
}

export class NodeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  binaryType = 'arraybuffer' as const;
  onopen: ((ev: object) => void) | null = null;
  onmessage: ((ev: MessageEventLike) => void) | null = null;
  onclose: ((ev: CloseEventLike) => void) | null = null;
  onerror: ((ev: { error: Error; message: string }) => void) | null = null;
  readonly url: string;
  readonly #socket: Socket;
  #handshake = true;
  #chunks: Buffer[] = [];
  #length = 0;
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  #closeSent = false;
  #closeEmitted = false;
  #closeCode = 1006;
  #closeReason = '';

  constructor(url: string, _protocols?: string | string[], options: NodeWebSocketOptions = {}) {
    this.url = url;
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new SyntaxError(`NodeWebSocket supports ws:// and wss:// only, got ${u.protocol}`);
    }
    const key = randomBytes(16).toString('base64');
    const expect = createHash('sha1').update(key + GUID).digest('base64');
    const secure = u.protocol === 'wss:';
    if (secure) {
      const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
      this.#socket = tlsConnect({
        host, port: Number(u.port || 443), ca: options.ca, servername: isIP(host) === 0 ? host : undefined,
        ALPNProtocols: ['http/1.1'],
      });
    } else {
      this.#socket = connect({ host: u.hostname, port: Number(u.port || 80) });
    }
    this.#socket.setNoDelay(true);
    this.#socket.on(secure ? 'secureConnect' : 'connect', () => {
      this.#socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    this.#socket.on('data', (d: Buffer) => {
      try {
        this.#onData(d, expect);
      } catch (e) {
        this.#fail(e as Error, 1002);
      }
    });
    this.#socket.on('error', (e) => this.#fail(secure ? tlsError(e, u.host) : e, 1006));
    this.#socket.on('close', () => this.#emitClose());
  }

  /** Stops reading from the socket (Node flow control; the server sees a slow reader). */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState !== 1) throw new Error('WebSocket is not open');
    if (typeof data === 'string') this.#frame(1, Buffer.from(data, 'utf8'));
    else if (data instanceof ArrayBuffer) this.#frame(2, Buffer.from(data));
    else this.#frame(2, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    if (this.readyState === 0) {
      this.readyState = 2;
      this.#socket.destroy();
      return;
    }
    this.readyState = 2;
    this.#sendClose(code, reason);
    // The server answers with its close frame; do not wait forever for it.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const r = Buffer.from(reason, 'utf8').subarray(0, 123);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    this.#frame(8, p);
  }

  #frame(opcode: number, payload: Buffer): void {
    const n = payload.length;
    const head = Buffer.alloc(n < 126 ? 6 : n < 65536 ? 8 : 14);
    head[0] = 0x80 | opcode;
    let o = 2;
    if (n < 126) head[1] = 0x80 | n;
    else if (n < 65536) { head[1] = 0x80 | 126; head.writeUInt16BE(n, 2); o = 4; }
    else { head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(n), 2); o = 10; }
    const mask = randomBytes(4);
    mask.copy(head, o);
    // Client frames must be masked (RFC 6455 §5.3); mask into a copy, never the caller's bytes.
    const body = Buffer.allocUnsafe(n);
    const m0 = mask[0], m1 = mask[1], m2 = mask[2], m3 = mask[3];
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      body[i] = payload[i] ^ m0; body[i + 1] = payload[i + 1] ^ m1;
      body[i + 2] = payload[i + 2] ^ m2; body[i + 3] = payload[i + 3] ^ m3;
    }
    for (; i < n; i++) body[i] = payload[i] ^ mask[i & 3];
    this.#socket.cork();
    this.#socket.write(head);
    this.#socket.write(body);
    this.#socket.uncork();
  }

  #onData(d: Buffer, expect: string): void {
    this.#chunks.push(d);
    this.#length += d.length;
    if (this.#handshake) {
      const all = Buffer.concat(this.#chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (all.length > HANDSHAKE_BYTES_MAX) throw new Error('handshake response too long');
        this.#chunks = [all];
        return;
      }
      const head = all.subarray(0, end).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status === null || status[1] !== '101') {
        throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
      }
      const accept = /\r\nsec-websocket-accept:\s*([^\r\n]+)/i.exec(head);
      if (accept === null || accept[1].trim() !== expect) throw new Error('bad Sec-WebSocket-Accept');
      this.#handshake = false;
      const rest = all.subarray(end + 4);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      this.readyState = 1;
      this.onopen?.({});
    }
    this.#parse();
  }

  #parse(): void {
    while (this.#length >= 2 && this.readyState !== 3) {
      if (this.#chunks[0].length < 14 && this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
      const h = this.#chunks[0];
      const fin = (h[0] & 0x80) !== 0;
      const opcode = h[0] & 0x0f;
      if ((h[1] & 0x80) !== 0) throw new Error('server frames must not be masked');
      let len = h[1] & 0x7f;
      let o = 2;
      if (len === 126) {
        if (h.length < 4) return;
        len = h.readUInt16BE(2);
        o = 4;
      } else if (len === 127) {
        if (h.length < 10) return;
        const big = h.readBigUInt64BE(2);
        if (big > BigInt(CLIENT_FRAME_BYTES_MAX)) {
          this.#fail(new Error('frame too large'), 1009);
          return;
        }
        len = Number(big);
        o = 10;
      }
      if (this.#length < o + len) return;
      const buf = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
      const payload = buf.subarray(o, o + len);
      const rest = buf.subarray(o + len);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      this.#onFrame(fin, opcode, payload);
    }
  }

  #onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 9) { if (this.readyState === 1) this.#frame(10, Buffer.from(payload)); return; }
    if (opcode === 10) return;
    if (opcode === 8) {
      this.#closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.#closeReason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
      if (this.readyState === 1 || this.readyState === 2) {
        this.#sendClose(this.#closeCode === 1005 ? 1000 : this.#closeCode, '');
      }
      this.readyState = 2;
      this.#socket.end();
      return;
    }
    if (opcode === 0) {
      this.#fragments.push(payload);
      if (!fin) return;
      payload = Buffer.concat(this.#fragments);
      opcode = this.#fragmentOpcode;
      this.#fragments = [];
    } else if (!fin) {
      this.#fragmentOpcode = opcode;
      this.#fragments = [payload];
      return;
    }
    if (this.readyState !== 1) return;
    if (opcode === 1) this.onmessage?.({ data: payload.toString('utf8') });
    else if (opcode === 2) {
      const ab = payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength) as ArrayBuffer;
      this.onmessage?.({ data: ab });
    }
  }

  #fail(e: Error, code: number): void {
    if (this.readyState === 3) return;
    this.#closeCode = code;
    this.#closeReason = e.message;
    this.onerror?.({ error: e, message: e.message });
    this.#socket.destroy();
    this.#emitClose();
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.readyState = 3;
    this.onclose?.({ code: this.#closeCode, reason: this.#closeReason, wasClean: this.#closeSent });
  }
}
