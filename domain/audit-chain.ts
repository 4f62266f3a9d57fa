import { createHash } from 'node:crypto';

/**
 * One entry of the durable audit record (docs/audit.md): an action or decision of a release, a ticket, a drift run
 * or an App (a revision marked bad or good). `id` is
 * the workflow id, run id and the entry's sequence number in that run, so that an entry appended again (an
 * activity retried) is recognised and stored once.
 */
export interface AuditEvent {
  id: string;
  tenant: string;
  at: string;
  kind: 'release' | 'ticket' | 'drift' | 'app' | 'notification';
  workflowId: string;
  runId: string;
  app?: string;
  ticket?: string;
  actor: string;
  action: string;
  detail?: string;
}

/** The hash before a tenant's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash of an entry chained to the one before it in its tenant's record: sha256 over the previous hash and the
 * entry's fields in a fixed order. An entry edited, deleted or inserted breaks every hash after it.
 */
export function chainHash(prev: string, e: AuditEvent): string {
  const fields = [
    e.id,
    e.tenant,
    new Date(e.at).toISOString(),
    e.kind,
    e.workflowId,
    e.runId,
    e.app ?? null,
    e.ticket ?? null,
    e.actor,
    e.action,
    e.detail ?? null,
  ];
  return createHash('sha256')
    .update(`${prev}\n${JSON.stringify(fields)}`)
    .digest('hex');
}
