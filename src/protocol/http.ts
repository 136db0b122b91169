// The HTTP API from a client (Node 20 or a browser: fetch only): GET a path as JSON, signed
// when a key is given (docs/protocol.md §9, "HTTP authentication").

import { HTTP_AUTH_SCHEME, httpAuthMessage } from './wire.js';

/** What signs a request: gmledger/client's authSigner(signer) is one. */
export interface RequestSigner {
  keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface HttpGetOptions {
  /** Sign the request with this key (needed for /alerts, and for every route on a node started with --http-auth). */
  signer?: RequestSigner;
  /** The node's chain id (signed requests cover it); default: read from GET /status. */
  chainId?: number;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The Authorization header value for GET `pathAndQuery` on chain `chainId`, now. */
export async function httpAuthorization(signer: RequestSigner, chainId: number, pathAndQuery: string,
  method = 'GET', timeMs = Date.now()): Promise<string> {
  const sig = await signer.sign(httpAuthMessage(chainId, timeMs, method, pathAndQuery));
  return `${HTTP_AUTH_SCHEME} ${hex(signer.keyId)}:${timeMs}:${hex(sig.subarray(0, 64))}`;
}

/**
 * GET `base` + `pathAndQuery` (base e.g. http://127.0.0.1:7300) as JSON; undefined on 404.
 * Any other non-2xx status throws an Error carrying the node's error name and message.
 */
export async function httpGet(base: string, pathAndQuery: string, options: HttpGetOptions = {}): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (options.signer !== undefined) {
    const chainId = options.chainId ?? ((await httpGet(base, '/status')) as { chainId: number }).chainId;
    headers.authorization = await httpAuthorization(options.signer, chainId, pathAndQuery);
  }
  const r = await fetch(base + pathAndQuery, { headers });
  if (r.status === 404) return undefined;
  if (!r.ok) {
    const body = await r.text();
    let why = body;
    try {
      const j = JSON.parse(body) as { error?: string; message?: string };
      why = `${j.error ?? ''}${j.message ? `: ${j.message}` : ''}`;
    } catch { /* not JSON: the text as it is */ }
    throw new Error(`GET ${pathAndQuery}: HTTP ${r.status} ${why}`);
  }
  return r.json() as Promise<unknown>;
}
