// TLS for the node (--tls-cert/--tls-key: wss:// and https://) and in the SDK's Node
// WebSocket (options.ca). A self-signed certificate for 127.0.0.1 made with the OpenSSL CLI.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initChain } from '../dist/src/chain/init.js';
import { Client, authSigner, records } from '../dist/src/client/index.js';
import { NodeWebSocket } from '../dist/src/client/node-websocket.js';
import { parseStartArgs, runNode, type RunningNode } from '../dist/src/server/cli-start.js';

type Signer = Awaited<ReturnType<typeof initChain>>['admin'];

let tmp: string;
let certFile: string;
let keyFile: string;
let cert: string;
let node: RunningNode;
let admin: Signer;
let chainId: number;

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gmledger-tls-'));
  certFile = join(tmp, 'cert.pem');
  keyFile = join(tmp, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile,
    '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  cert = readFileSync(certFile, 'utf8');
  const dir = join(tmp, 'chain');
  const init = await initChain({ dir });
  admin = init.admin;
  chainId = init.config.chainId;
  node = await runNode({
    dir, host: '127.0.0.1', port: 0, gateways: [], limits: {}, verifyThreads: 0, tlsCert: certFile, tlsKey: keyFile,
  }, () => undefined);
});

afterAll(async () => {
  await node?.stop();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('a node with --tls-cert and --tls-key', () => {
  it('reports wss:// and https:// URLs', () => {
    expect(node.server.url).toBe(`wss://127.0.0.1:${node.server.port}/ws`);
    expect(node.server.httpUrl).toBe(`https://127.0.0.1:${node.server.port}`);
  });

  it('takes a signed record over wss:// from the SDK given the certificate as options.ca', async () => {
    const client = await Client.connect(node.server.url, { ca: cert, signer: authSigner(admin) });
    try {
      expect(client.chainId).toBe(chainId);
      const digest = new Uint8Array(32).fill(7);
      const r = await client.submit(records.anchor({ chainId, id: 9001n, digest }, admin));
      expect(r).toMatchObject({ result: 'ok', ok: true });
    } finally {
      await client.close();
    }
  });

  it('also takes the certificate as a Buffer', async () => {
    const client = await Client.connect(node.server.url, { ca: readFileSync(certFile) });
    expect(client.chainId).toBe(chainId);
    await client.close();
  });

  it('is refused by the SDK without options.ca (self-signed), saying why', async () => {
    await expect(Client.connect(node.server.url)).rejects.toThrow(/not trusted.*self-signed.*options\.ca/);
  });

  it('answers /status over https:// with the CA', async () => {
    const r = await httpsGet(`${node.server.httpUrl}/status`, cert);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ chainId });
  });

  it('does not speak plain ws:// on its port', async () => {
    await expect(Client.connect(`ws://127.0.0.1:${node.server.port}/ws`, { connectTimeoutMs: 5_000 })).rejects.toThrow();
  });
});

describe('TLS options', () => {
  it('--tls-cert and --tls-key go together', () => {
    expect(() => parseStartArgs(['--tls-cert', certFile], {})).toThrow(/--tls-cert and --tls-key go together/);
    expect(() => parseStartArgs(['--tls-key', keyFile], {})).toThrow(/only --tls-key was given/);
    expect(parseStartArgs(['--tls-cert', certFile, '--tls-key', keyFile], {})).toMatchObject({
      tlsCert: certFile, tlsKey: keyFile,
    });
  });

  it('a node does not start with an unreadable or non-PEM file, and the error names it', async () => {
    const missing = join(tmp, 'no-such-cert.pem');
    const base = { dir: join(tmp, 'chain'), host: '127.0.0.1', port: 0, gateways: [], limits: {} };
    await expect(runNode({ ...base, tlsCert: missing, tlsKey: keyFile }, () => undefined))
      .rejects.toThrow(`cannot read the TLS certificate file ${missing}: ENOENT`);
    const notPem = join(tmp, 'not-a-key.pem');
    await writeFile(notPem, 'hello');
    await expect(runNode({ ...base, tlsCert: certFile, tlsKey: notPem }, () => undefined))
      .rejects.toThrow(`the TLS key file ${notPem} holds no PEM key`);
  });

  it('options.ca is checked', async () => {
    await expect(Client.connect(node.server.url, { ca: 42 as unknown as string })).rejects.toThrow(/options\.ca must be/);
    await expect(Client.connect(node.server.url, { ca: 'not a certificate' })).rejects.toThrow(/PEM certificate/);
    await expect(Client.connect(node.server.url, { ca: cert, WebSocket: NodeWebSocket as never }))
      .rejects.toThrow(/not with options\.WebSocket/);
  });
});
