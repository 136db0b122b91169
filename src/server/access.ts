// Who may do what on a connection. Kept apart from the socket code so the rules read in one
// place (docs/protocol.md §9, "Authentication").
//
// An unauthenticated connection may: receive its challenge, authenticate, ping, and
// subscribe to `blocks` (block headers are public to anyone who can reach the node). It may
// not submit, nor subscribe to anything that reveals transactions.

import { ROLE_ADMIN, ROLE_OPERATOR, ROLE_REGULATOR } from '../codec/record.js';
import { equalBytes } from '../crypto/bytes.js';
import type { NodeBackend } from '../pipeline/backend.js';
import { ErrorCode, type Topic } from '../protocol/wire.js';

export interface Identity {
  keyId: Uint8Array;
  roles: number;
  /** Operator scope. */
  ledger: number;
}

/** 0 if `who` may subscribe to `topic`, else the ErrorCode to answer with. */
export function topicAccess(topic: Topic, who: Identity | undefined, backend: NodeBackend): number {
  if (topic.kind === 'blocks') return 0;
  if (who === undefined) return ErrorCode.not_authenticated;
  const oversight = (who.roles & (ROLE_REGULATOR | ROLE_ADMIN)) !== 0;
  switch (topic.kind) {
    case 'alarms':
      return oversight ? 0 : ErrorCode.forbidden_topic;
    case 'alerts':
      // The rules' alerts are the regulator's (docs/clearing.md): not even an admin's.
      return (who.roles & ROLE_REGULATOR) !== 0 ? 0 : ErrorCode.forbidden_topic;
    case 'firehose':
      // Every transaction and result: the regulator's stream, no one else's.
      return (who.roles & ROLE_REGULATOR) !== 0 ? 0 : ErrorCode.forbidden_topic;
    case 'ledger':
      if (oversight) return 0;
      return (who.roles & ROLE_OPERATOR) !== 0 && who.ledger === topic.ledger ? 0 : ErrorCode.forbidden_topic;
    case 'account': {
      if (oversight) return 0;
      const controller = backend.accountController?.(topic.id);
      return controller !== undefined && equalBytes(controller, who.keyId) ? 0 : ErrorCode.forbidden_topic;
    }
  }
}
