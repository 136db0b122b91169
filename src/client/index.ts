// gmledger/client — the SDK for talking to a gmledger node over WebSocket.
//
//   import { Client, records, generateSigner, authSigner } from 'gmledger/client';
//   const client = await Client.connect('ws://127.0.0.1:7300/ws', { signer: authSigner(mySigner) });
//   const [r] = await client.submitBatch([records.transfer({ chainId: client.chainId, id, ... }, mySigner)]);
//   // A consortium: any node takes submits; on a lost connection the client moves to the next.
//   const c2 = await Client.connect(['ws://node-a:7300/ws', 'ws://node-b:7300/ws'], { signer: authSigner(mySigner) });
//
// Runs in Node 20 and in browsers: the connection, protocol and submit/subscribe logic
// (client.ts, ../protocol/wire.ts) has no Node dependencies, NodeWebSocket is imported
// only where there is no globalThis.WebSocket, and record signing and authSigner use the
// project's WASM SM2, which loads build/gmledger.wasm with fetch outside Node
// (docs/protocol.md, SDK; test/browser.test.ts runs it in Chromium).

import type { AuthSigner } from './client.js';
import { bytesField } from '../codec/record.js';

export { Client, ClientError } from './client.js';
export type {
  AuthSigner, ClientOptions, SubmitOptions, Result, BlockEvent, RecordEvent, AlarmEvent, NoticeEvent, EventHandler,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export {
  Frame, ErrorCode, CloseCode, PROTOCOL_VERSION, HEADER_BYTES, RESULT_BYTES, SUBMIT_TRUSTED, SUBMIT_FINAL, authMessage,
  errorName, parseTopic, TOPIC_BLOCKS, TOPIC_FIREHOSE, TOPIC_ACCOUNT_PREFIX, TOPIC_LEDGER_PREFIX, TOPIC_ALARMS,
  TOPIC_ALERTS,
} from '../protocol/wire.js';
// Clearing (docs/clearing.md): cycles, the queue and the regulator's rules.
export {
  clearing, cycleRecords, obligationRecord, queuedRecord, CYCLE_OPEN_MEMBERS_MAX,
} from '../apps/clearing/sdk.js';
export type { ClearingSubmitter, OpenCycle, Payment } from '../apps/clearing/sdk.js';
export { TRANSFER_DEFERRED, TRANSFER_QUEUE } from '../codec/record.js';
// Toll / ETC (docs/toll.md): typed builders, trip ids, the split, the cross-chain proof check.
export {
  tollRecords, tripId, splitTrip, packU32x16, unpackU32x16, tollAnchorRecord, tollAnchorId, tollAnchorMetadata,
  verifyTollCrossProof, MODE_FEE, MODE_SHARE, TOLL_CLASSES, TRIP_SECTIONS_MAX,
} from '../apps/toll/sdk.js';
export type { TollCrossProof, TollRuleTable } from '../apps/toll/sdk.js';
export { LIMITS } from '../protocol/limits.js';
// Reading the HTTP API, signed when a key is given (docs/protocol.md §9, HTTP authentication).
export { httpGet, httpAuthorization } from '../protocol/http.js';
export type { HttpGetOptions, RequestSigner } from '../protocol/http.js';
export { HTTP_AUTH_SCHEME, HTTP_AUTH_DOMAIN, HTTP_AUTH_SKEW_MS, httpAuthMessage } from '../protocol/wire.js';
export { ResultCode, resultName } from '../codec/results.js';
export { records, generateSigner, signerFromKeyPair, signRecord, buildRecord, keyIdOf } from '../codec/builders.js';
export type { Signer } from '../codec/builders.js';
export { vouchBatch, markVouched, vouchDigest, VOUCH_DOMAIN } from '../codec/vouch.js';
// The light client: a consortium's certificate, and a transaction's proof under it, checked
// with only the node public keys (docs/consortium.md).
export { verifyCertificate, verifyFinalProof, quorumDefault } from '../codec/certificate.js';
export type { ConsortiumKeys, CertificateCheck } from '../codec/certificate.js';
export { verifyInclusionProof } from '../codec/block.js';
export type { InclusionProof } from '../codec/block.js';

/** An AuthSigner for a key pair held in this process (SM2 through the ledger's backend). */
export function authSigner(signer: { keyId: Uint8Array; privateKey: Uint8Array }): AuthSigner {
  if (typeof signer !== 'object' || signer === null) throw new TypeError('signer must be { keyId, privateKey }');
  bytesField(signer.keyId, 32, 'signer.keyId');
  bytesField(signer.privateKey, 32, 'signer.privateKey');
  return {
    keyId: signer.keyId,
    async sign(message) {
      const { sm2Backend } = await import('../crypto/sm2-backend.js');
      return sm2Backend.sign(message, signer.privateKey).subarray(0, 64);
    },
  };
}
