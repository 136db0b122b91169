// gmledger/consortium — a node of a consortium chain in-process (docs/consortium.md): the
// ledger ordered by a NATS JetStream stream, re-admission, co-signing, certified finality;
// and a local NATS cluster for development and tests.
export { ConsortiumNode, openConsortiumLedger, APPENDER_HEADER, APPENDER_SIG_HEADER } from './consortium.js';
export type { Alarm, AlarmKind, ConsortiumOptions } from './consortium.js';
export { JetStreamSequencer, TICK_HEADER, TRUSTED_HEADER, STREAM_MAX_MSG_BYTES } from './jetstream-sequencer.js';
export type { JetStreamSequencerOptions } from './jetstream-sequencer.js';
export { startNatsCluster, findNatsServer } from './nats-cluster.js';
export type { NatsCluster, NatsClusterOptions } from './nats-cluster.js';
