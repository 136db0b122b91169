// Hostile input over real sockets: each malformed or abusive frame gets its specific error,
// the node keeps serving a well-behaved client throughout, and no state changes.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeWebSocket } from '../dist/src/client/node-websocket.js';
import type { Client } from '../dist/src/client/index.js';
import {
  CloseCode, ErrorCode, Frame, HEADER_BYTES, PROTOCOL_VERSION, SUBMIT_TRUSTED, authMessage, makeFrame, parseError,
} from '../dist/src/protocol/wire.js';
import { sm2Backend } from '../dist/src/crypto/sm2-backend.js';
import { OFF_ID, u128 } from '../dist/src/codec/record.js';
import {
  RawConn, connectAs, fakeTransfer, rawTcp, signedTransfer, sleep, startNode, submitFrame,
} from './server-fixtures.js';

/** Opens a raw connection and authenticates it with `signer` by hand. */
async function rawAuthed(url: string, signer: { keyId: Uint8Array; privateKey: Uint8Array }): Promise<RawConn> {
  const raw = await RawConn.open(url);
  const ch = raw.frames[0];
  const chainId = new DataView(ch.buffer, ch.byteOffset).getUint32(HEADER_BYTES, true);
  const sig = sm2Backend.sign(authMessage(chainId, ch.slice(HEADER_BYTES + 4, HEADER_BYTES + 36)), signer.privateKey);
  const f = makeFrame(Frame.auth, 1, 0, 96);
  f.set(signer.keyId, HEADER_BYTES);
  f.set(sig.subarray(0, 64), HEADER_BYTES + 32);
  raw.send(f);
  await raw.until(() => raw.frames.length >= 2);
  expect(raw.frames[1][1]).toBe(Frame.auth_ok);
  raw.frames.length = 0;
  return raw;
}

function lastError(raw: RawConn): { code: number; name: string; requestId: number } {
  const f = raw.frames[raw.frames.length - 1];
  expect(f[1]).toBe(Frame.error);
  return { ...parseError(f), requestId: new DataView(f.buffer, f.byteOffset).getUint32(4, true) };
}

describe('node server: hostile input', () => {
  let node: Awaited<ReturnType<typeof startNode>>;
  let good: Client;
  // A well-behaved client keeps submitting while others misbehave.
  let goodRounds = 0;
  let goodFailures = 0;
  let stop = false;
  let goodLoop: Promise<void>;

  let slow: Awaited<ReturnType<typeof startNode>>;
  beforeAll(async () => {
    slow = await startNode({ verifySignatures: false, syncMs: 150 }, {
      limits: { BATCH_RECORDS_MAX: 64, IN_FLIGHT_BATCHES_MAX: 2, SUBMIT_RECORDS_MAX: 64, QUEUE_RECORDS_MAX: 256, SUBMITS_IN_FLIGHT_MAX: 1 },
    });
    node = await startNode({ verifySignatures: true }, {
      limits: {
        BATCH_RECORDS_MAX: 64, FRAME_BYTES_MAX: HEADER_BYTES + 64 * 256, TRANSPORT_FRAME_BYTES_MAX: 2 * (HEADER_BYTES + 64 * 256),
        IN_FLIGHT_BATCHES_MAX: 2, FRAMES_PER_SECOND_MAX: 200, ERRORS_PER_WINDOW_MAX: 400,
        SUBMIT_RECORDS_MAX: 256, QUEUE_RECORDS_MAX: 256,
      },
    });
    good = await connectAs(node.server.url, node.k.bob);
    goodLoop = (async () => {
      while (!stop) {
        try {
          const [r] = await good.submitBatch([signedTransfer(node.k.bob, 10n, 11n)]);
          if (r.ok) goodRounds++;
          else goodFailures++;
        } catch {
          goodFailures++;
        }
        await sleep(20);
      }
    })();
  });

  afterAll(async () => {
    stop = true;
    await goodLoop;
    await good.close();
    await node.close();
    await slow.close();
  });

  it('answers malformed frames with their specific errors and changes nothing', async () => {
    const { server, backend, k } = node;
    const raw = await rawAuthed(server.url, k.alice);
    const rec = fakeTransfer(k.alice, 1n, 2n);
    const cases: [Uint8Array | string, number][] = [
      [new Uint8Array([1, 2, 3]), ErrorCode.bad_frame],                                     // shorter than the header
      [randomBytes(15), ErrorCode.bad_frame],
      [(() => { const f = submitFrame([rec], 5); f[0] = 9; return f; })(), ErrorCode.bad_protocol_version],
      [(() => { const f = submitFrame([rec], 5); f[12] = 1; return f; })(), ErrorCode.bad_frame],   // reserved header bytes
      [(() => { const f = makeFrame(Frame.ping, 5, 0, 0); f[2] = 1; return f; })(), ErrorCode.bad_frame], // flags on non-submit
      [(() => { const f = submitFrame([rec], 5); f[2] = 0x80; return f; })(), ErrorCode.bad_frame],       // unknown submit flag
      [makeFrame(0x7e, 5, 0, 0), ErrorCode.unknown_frame_type],
      [submitFrame([rec], 5).subarray(0, HEADER_BYTES + 100), ErrorCode.batch_truncated],      // truncated record
      [(() => { const f = submitFrame([rec, rec], 5); new DataView(f.buffer).setUint32(8, 3, true); return f; })(), ErrorCode.batch_truncated],
      [makeFrame(Frame.submit, 5, 0, 0), ErrorCode.batch_empty],
      [submitFrame(Array(65).fill(rec), 5), ErrorCode.frame_too_large],                       // over FRAME_BYTES_MAX
      [(() => { const f = makeFrame(Frame.submit, 5, 65, 0); return f; })(), ErrorCode.batch_truncated],
      [submitFrame([rec], 5, SUBMIT_TRUSTED), ErrorCode.trusted_not_allowed],                 // not a gateway key
      [(() => { const f = makeFrame(Frame.subscribe, 5, 0, 3); f.set([0xff, 0xfe, 0x00], HEADER_BYTES); return f; })(), ErrorCode.unknown_topic],
      [makeFrame(Frame.auth, 5, 0, 96), ErrorCode.already_authenticated],
    ];
    for (const [frame, code] of cases) {
      const before = raw.frames.length;
      raw.send(frame);
      await raw.until(() => raw.frames.length > before);
      const e = lastError(raw);
      expect(e.name, `frame ${Buffer.from(typeof frame === 'string' ? frame : frame.subarray(0, 16)).toString('hex')}`)
        .toBe(Object.keys(ErrorCode).find((n) => ErrorCode[n as keyof typeof ErrorCode] === code));
    }
    expect(raw.closed).toBeUndefined();
    // Nothing was applied: the record every malformed frame carried never reached the
    // backend. (The height is no measure here: the well-behaved client keeps committing.)
    expect(backend.transaction(u128(rec, OFF_ID))).toBeUndefined();
    // A record-level problem is not a frame error: a bad signature gets its result code.
    const bad = signedTransfer(k.alice, 1n, 2n);
    bad[OFF_AMOUNT] ^= 1;
    const wrongVersion = signedTransfer(k.alice, 1n, 2n);
    wrongVersion[0] = 2;
    const before = raw.frames.length;
    raw.send(submitFrame([bad, wrongVersion], 77));
    await raw.until(() => raw.frames.length > before);
    const f = raw.frames[raw.frames.length - 1];
    expect(f[1]).toBe(Frame.results);
    const v = new DataView(f.buffer, f.byteOffset);
    expect([v.getUint16(HEADER_BYTES, true), v.getUint16(HEADER_BYTES + 16, true)]).toEqual([8, 1]); // bad_signature, bad_version
    // Refused at admission: neither record is in any block.
    expect(backend.transaction(u128(bad, OFF_ID))).toBeUndefined();
    expect(backend.transaction(u128(wrongVersion, OFF_ID))).toBeUndefined();
    raw.close();
  });

  it('refuses frames over the transport cap by dropping that connection only', async () => {
    const raw = await RawConn.open(node.server.url);
    raw.send(new Uint8Array(node.server.limits.TRANSPORT_FRAME_BYTES_MAX + 1));
    await raw.until(() => raw.closed !== undefined);
    // uWS drops the socket without reading the frame or sending a close frame: 1006 at the client.
    expect(raw.closed!.code).toBe(1006);
    // Garbage at the WebSocket framing level (not even a valid frame) just drops that socket.
    const tcp = await rawTcp(node.server.port);
    // Fixed, not random: random bytes sometimes parse as the start of a valid masked frame
    // with a large length, and the server then (rightly) waits for the rest until its idle
    // timeout. 0xFF: RSV bits set and a reserved opcode, invalid whatever follows.
    tcp.write(new Uint8Array(64).fill(0xff));
    await tcp.closed;
  });

  it('bounds in-flight batches per connection and rejects a reused request id', async () => {
    const { server, k } = slow;
    const raw = await rawAuthed(server.url, k.alice);
    // The slow node's 150 ms "sync" keeps the first batches in flight while the others arrive.
    const recs = () => [signedTransfer(k.alice, 1n, 2n)];
    raw.send(submitFrame(recs(), 100));
    raw.send(submitFrame(recs(), 100));
    raw.send(submitFrame(recs(), 101));
    raw.send(submitFrame(recs(), 102));
    await raw.until(() => raw.frames.length >= 4);
    const errs = raw.frames.filter((f) => f[1] === Frame.error).map((f) => parseError(f).name).sort();
    expect(errs).toEqual(['duplicate_request_id', 'too_many_in_flight']);
    const results = raw.frames.filter((f) => f[1] === Frame.results).map((f) => new DataView(f.buffer, f.byteOffset).getUint32(4, true)).sort();
    expect(results).toEqual([100, 101]);
    raw.close();
  });

  it('rate-limits floods of tiny frames with rate_limited, then closes the flooder; others are served', async () => {
    const { server, k } = node;
    const raw = await rawAuthed(server.url, k.alice);
    const roundsBefore = goodRounds;
    for (let i = 0; i < 1500; i++) raw.send(new Uint8Array([PROTOCOL_VERSION]));
    await raw.until(() => raw.closed !== undefined, 20_000);
    const names = new Set(raw.frames.filter((f) => f[1] === Frame.error).map((f) => parseError(f).name));
    expect(names).toEqual(new Set(['bad_frame', 'rate_limited']));
    expect(raw.closed!.code).toBe(CloseCode.too_many_errors);
    await sleep(200);
    expect(goodRounds).toBeGreaterThan(roundsBefore);
    expect(goodFailures).toBe(0);
  });

  it('answers overloaded when the node-wide queue is full, without buffering', async () => {
    const { server, k } = slow;
    const raws = [await rawAuthed(server.url, k.alice), await rawAuthed(server.url, k.alice), await rawAuthed(server.url, k.alice)];
    // 3 connections × 2 in flight × 64 records = 384 > QUEUE_RECORDS_MAX 256 (the slow sync keeps them queued).
    const batch = Array.from({ length: 64 }, () => fakeTransfer(k.alice, 1n, 2n));
    let id = 500;
    for (const r of raws) { r.send(submitFrame(batch, id++)); r.send(submitFrame(batch, id++)); }
    for (const r of raws) await r.until(() => r.frames.length >= 2);
    const all = raws.flatMap((r) => r.frames);
    const errors = all.filter((f) => f[1] === Frame.error).map((f) => parseError(f).name);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['overloaded']));
    for (const r of raws) r.close();
  });

  it('cuts off a subscriber that stops reading, with close code 4008, and keeps serving', async () => {
    const n2 = await startNode({ verifySignatures: false }, {
      limits: { SUBSCRIBER_LAG_BYTES_MAX: 256 * 1024, SEND_BUFFER_BYTES_MAX: 64 * 1024 * 1024 },
    });
    try {
      let ws: NodeWebSocket | undefined;
      const Ctor = class extends NodeWebSocket {
        constructor(url: string) {
          super(url);
          ws = this;
        }
      };
      const slow = await connectAs(n2.server.url, n2.k.regulator, { WebSocket: Ctor });
      let closeCode = 0;
      slow.onClose((code) => { closeCode = code; });
      await slow.subscribe('firehose', () => undefined);
      ws!.pause();
      const writer = await connectAs(n2.server.url, n2.k.alice);
      // Each block's firehose frame is ~272 KiB; the kernel's socket buffers absorb some first.
      for (let i = 0; i < 200 && n2.server.metrics.slowSubscribersCut === 0; i++) {
        await writer.submitBatch(Array.from({ length: 1000 }, () => fakeTransfer(n2.k.alice, 1n, 2n)));
      }
      expect(n2.server.metrics.slowSubscribersCut).toBe(1);
      ws!.resume();
      await sleep(200);
      await new Promise<void>((r) => slow.onClose(() => r()));
      expect(closeCode).toBe(CloseCode.slow_subscriber);
      const [r] = await writer.submitBatch([fakeTransfer(n2.k.alice, 1n, 2n)]);
      expect(r.ok).toBe(true);
      await writer.close();
    } finally {
      await n2.close();
    }
  });

  it('closes connections that neither authenticate nor subscribe in time (4012), and only those', async () => {
    const n4 = await startNode({}, { limits: { UNAUTHENTICATED_IDLE_MS: 200 } });
    try {
      const idle = await connectAs(n4.server.url);
      const watcher = await connectAs(n4.server.url);
      await watcher.subscribe('blocks', () => undefined);
      const bank = await connectAs(n4.server.url, n4.k.alice);
      const closed = new Promise<number>((resolve) => idle.onClose((code) => resolve(code)));
      expect(await closed).toBe(4012);
      await sleep(300);
      expect(watcher.closed).toBe(false);
      expect(bank.closed).toBe(false);
      // The authenticated and the subscribed connections are still served.
      await bank.subscribe('blocks', () => undefined);
      await Promise.all([bank.close(), watcher.close()]);
    } finally {
      await n4.close();
    }
  });

  it('refuses connections over CONNECTIONS_MAX at the upgrade', async () => {
    const n3 = await startNode({}, { limits: { CONNECTIONS_MAX: 1 } });
    try {
      const a = await connectAs(n3.server.url);
      await expect(connectAs(n3.server.url)).rejects.toThrow();
      await a.close();
    } finally {
      await n3.close();
    }
  });
  it('slows, then closes (4013), a connection whose records keep failing signature checks; others are served', async () => {
    const bad = await startNode({}, { limits: { BAD_SIGNATURES_PER_WINDOW_MAX: 40 } });
    try {
      const { server, k } = bad;
      const raw = await rawAuthed(server.url, k.bob);
      const honest = await connectAs(server.url, k.alice);
      // Frames of 10 records with fake signatures: past 10 bad signatures the connection is slowed
      // (one frame in flight), past 40 closed.
      for (let id = 1; id <= 8 && raw.closed === undefined; id++) {
        raw.send(submitFrame(Array.from({ length: 10 }, () => fakeTransfer(k.bob, 1n, 2n)), id));
        await raw.until(() => raw.frames.length >= id || raw.closed !== undefined);
      }
      await raw.until(() => raw.closed !== undefined);
      expect(raw.closed!.code).toBe(CloseCode.bad_signatures);
      const codes = raw.frames.filter((f) => f[1] === Frame.results).flatMap((f) => {
        const v = new DataView(f.buffer, f.byteOffset);
        return Array.from({ length: v.getUint32(8, true) }, (_, i) => v.getUint16(HEADER_BYTES + i * 16, true));
      });
      expect(new Set(codes)).toEqual(new Set([8])); // bad_signature
      // The key is barred (BAD_SIGNATURES_BAN_MS): a new connection is closed as it logs in.
      const again = await RawConn.open(server.url);
      const ch = again.frames[0];
      const chainId = new DataView(ch.buffer, ch.byteOffset).getUint32(HEADER_BYTES, true);
      const sig = sm2Backend.sign(authMessage(chainId, ch.slice(HEADER_BYTES + 4, HEADER_BYTES + 36)), k.bob.privateKey);
      const auth = makeFrame(Frame.auth, 1, 0, 96);
      auth.set(k.bob.keyId, HEADER_BYTES);
      auth.set(sig.subarray(0, 64), HEADER_BYTES + 32);
      again.send(auth);
      await again.until(() => again.closed !== undefined);
      expect(again.closed!.code).toBe(CloseCode.bad_signatures);
      const [r] = await honest.submitBatch([signedTransfer(k.alice, 1n, 2n)]);
      expect(r.result).not.toBe('bad_signature');
      await honest.close();
    } finally {
      await bad.close();
    }
  });
});

const OFF_AMOUNT = 96;
