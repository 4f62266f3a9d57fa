import type { Logger } from 'pino';
import type { AuditEvent } from '../domain/audit-chain.js';
import type { AuditStore } from './audit-store.js';

/**
 * Appends audit entries to the durable record. Idempotent: entries already stored (a retried attempt) are skipped
 * by their id. A worker without an audit store (BARISTA_AUDIT_DATABASE_URL unset) says so once and keeps only
 * the workflows' own trails.
 */
export function createAppendAudit(store: AuditStore | undefined, logger: Logger) {
  let warned = false;
  return async function appendAudit(input: { events: AuditEvent[] }): Promise<{ stored: boolean; inserted: number }> {
    if (!store) {
      if (!warned) logger.warn('no audit store configured (BARISTA_AUDIT_DATABASE_URL): audit entries stay in the workflows only');
      warned = true;
      return { stored: false, inserted: 0 };
    }
    return { stored: true, ...(await store.append(input.events)) };
  };
}
