// Thin typed adapter over uWebSockets.js — the only file that touches the addon. uWS is
// CommonJS with its own (loose) typings; this file narrows it to what the node uses and
// turns listen/close into promises. Two uWS rules everything above must respect:
//   - an ArrayBuffer handed to a message/data callback is valid only during that call:
//     copy it before any await;
//   - a socket or response must not be touched after its close/abort callback.

import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export type Sendable = string | ArrayBuffer | Uint8Array;

export interface UwsSocket<U> {
  /** 1 = sent, 0 = queued under backpressure, 2 = dropped (over maxBackpressure). */
  send(message: Sendable, isBinary?: boolean, compress?: boolean): number;
  getBufferedAmount(): number;
  end(code?: number, shortMessage?: Sendable): void;
  close(): void;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  getTopics(): string[];
  cork(cb: () => void): UwsSocket<U>;
  getRemoteAddressAsText(): ArrayBuffer;
  getUserData(): U;
}

export interface UwsResponse {
  writeStatus(status: string): UwsResponse;
  writeHeader(key: string, value: string): UwsResponse;
  end(body?: Sendable, closeConnection?: boolean): UwsResponse;
  /** Ends a HEAD reply: the headers, and the length the body would have had. */
  endWithoutBody(reportedContentLength?: number, closeConnection?: boolean): UwsResponse;
  onAborted(handler: () => void): UwsResponse;
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsResponse;
  cork(cb: () => void): UwsResponse;
  upgrade<U>(userData: U, key: string, protocol: string, extensions: string, context: unknown): void;
}

export interface UwsRequest {
  getHeader(lowerCaseKey: string): string;
  getParameter(index: number): string;
  getUrl(): string;
  getMethod(): string;
  getQuery(): string;
  getQuery(key: string): string | undefined;
}

export interface UwsBehavior<U> {
  maxPayloadLength: number;
  maxBackpressure: number;
  closeOnBackpressureLimit: boolean;
  idleTimeout: number;
  sendPingsAutomatically: boolean;
  compression: number;
  upgrade: (res: UwsResponse, req: UwsRequest, context: unknown) => void;
  open: (ws: UwsSocket<U>) => void;
  message: (ws: UwsSocket<U>, message: ArrayBuffer, isBinary: boolean) => void;
  drain: (ws: UwsSocket<U>) => void;
  close: (ws: UwsSocket<U>, code: number, message: ArrayBuffer) => void;
}

type Handler = (res: UwsResponse, req: UwsRequest) => void;

export interface UwsApp {
  ws<U>(pattern: string, behavior: UwsBehavior<U>): UwsApp;
  get(pattern: string, handler: Handler): UwsApp;
  head(pattern: string, handler: Handler): UwsApp;
  any(pattern: string, handler: Handler): UwsApp;
  publish(topic: string, message: Sendable, isBinary?: boolean, compress?: boolean): boolean;
  numSubscribers(topic: string): number;
}

type ListenableApp = UwsApp & {
  listen(host: string, port: number, options: number, cb: (socket: unknown) => void): void;
};

interface UwsModule {
  App(): ListenableApp;
  SSLApp(options: { key_file_name: string; cert_file_name: string; passphrase?: string }): ListenableApp;
  us_listen_socket_close(socket: unknown): void;
  us_socket_local_port(socket: unknown): number;
  DISABLED: number;
}

/** Node's module ABI (process.versions.modules) → its major version, for the start-up error. */
const NODE_OF_ABI: Record<string, string> = { 93: '16', 108: '18', 115: '20', 127: '22', 137: '24' };

/**
 * Loads the uWS binary for this platform, arch and Node ABI directly: the package's own
 * loader (src/uws.js) would, where there is none, warn and fall back to a pure-JS imitation
 * whose publish() and endWithoutBody() throw "Not implemented" and whose listen() ignores
 * the exclusive-port flag. Throws instead, naming the Node versions and C library it needs.
 */
function loadUws(): UwsModule {
  const dir = join(dirname(require.resolve('uWebSockets.js/package.json')), 'binaries');
  const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return require(join(dir, name)) as UwsModule;
  } catch (err) {
    throw new Error(whyNoUws(dir, name, err instanceof Error ? err.message : String(err)), { cause: err });
  }
}

function whyNoUws(dir: string, name: string, cause: string): string {
  const here = `${process.platform}-${process.arch}`;
  const prefix = `uws_${process.platform}_${process.arch}_`;
  let abis: number[] = [];
  try {
    abis = readdirSync(dir).filter((f) => f.startsWith(prefix))
      .map((f) => Number(f.slice(prefix.length, -'.node'.length))).sort((x, y) => x - y);
  } catch { /* no binaries folder: abis stays empty */ }
  const shipped = abis.map((a) => `Node ${NODE_OF_ABI[a] ?? '?'} (ABI ${a})`).join(', ') || 'nothing';
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const glibc = report.header?.glibcVersionRuntime;
  const libc = process.platform !== 'linux' ? '' : glibc ? `, glibc ${glibc}` : ', no glibc (musl?)';
  return `the server cannot start: uWebSockets.js has no binary that loads here (${name}). ` +
    `This is Node ${process.version} (ABI ${process.versions.modules}) on ${here}${libc}. ` +
    'The bundled build, @trufflesuite/uws-js-unofficial 20.30.0-unofficial.0, ships for ' +
    `${here}: ${shipped}; its Linux binaries need glibc 2.27 or newer (2.28 on 32-bit ARM; no musl/Alpine build). ` +
    'Run the server on Node 20 with glibc >= 2.27 (docs/operations.md, "Node versions"). ' +
    `Loader: ${cause.split('\n')[0]}`;
}

const uws = loadUws();

export const COMPRESSION_DISABLED = uws.DISABLED;
export const SEND_SUCCESS = 1;
export const SEND_BACKPRESSURE = 0;
export const SEND_DROPPED = 2;

export interface Listening {
  app: UwsApp;
  /** The bound port (useful when listening on port 0). */
  port: number;
  /** Stops accepting connections; open sockets are the caller's to end. */
  close(): void;
}

/** TLS for the app: PEM files (a certificate chain and its private key), read when the app is made. */
export interface UwsTls {
  certFile: string;
  keyFile: string;
  /** For an encrypted private key. */
  passphrase?: string;
}

/** A plain app, or with `tls` a TLS one (wss://, https://) with the same API. */
export function createApp(tls?: UwsTls): UwsApp {
  if (tls === undefined) return uws.App();
  return uws.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile, passphrase: tls.passphrase });
}

/**
 * uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT. Without it a second node on the
 * same port also "listens", and the kernel splits connections between two chains.
 */
const LISTEN_EXCLUSIVE_PORT = 1;

/** Binds `host:port` exclusively (port 0 = ephemeral). Rejects, saying why, if it cannot. */
export function listen(app: UwsApp, host: string, port: number): Promise<Listening> {
  const a = app as ReturnType<UwsModule['App']>;
  return new Promise((resolve, reject) => {
    a.listen(host, port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (!socket) {
        void whyNotListening(host, port).then((why) => reject(new Error(`cannot listen on ${host}:${port}: ${why}`)));
        return;
      }
      let open = true;
      resolve({
        app,
        port: uws.us_socket_local_port(socket),
        close() {
          if (open) uws.us_listen_socket_close(socket);
          open = false;
        },
      });
    });
  });
}

/** Copies a uWS ArrayBuffer (valid only during its callback), from byte `from` on, into memory the caller owns. */
export function copyBytes(ab: ArrayBuffer, from = 0): Uint8Array {
  return new Uint8Array(ab.slice(from));
}

/** Why `host:port` cannot be bound, asked of the OS with a plain Node server (uSockets says only "no"). */
function whyNotListening(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE'
        ? 'the address is in use (another process, perhaps another gmledger node, holds it)'
        : err.code === 'EADDRNOTAVAIL' ? 'no local interface has this address'
        : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
        : `${err.code ?? 'error'}: ${err.message}`);
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve('uWebSockets could not bind it')));
  });
}
