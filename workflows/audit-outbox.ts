import { condition, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AuditEvent } from '../domain/audit-chain.js';
import type { AuditEntry } from './release-status.js';

/** Appends to the audit store (PostgreSQL): retried until it answers, so that nothing recorded is lost. */
const { appendAudit } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** Entries appended per activity call. */
const BATCH = 100;

/**
 * The durable copy of a workflow's audit trail (docs/audit.md): every entry the workflow records is queued here
 * with an id of its own (workflow id, run id, sequence) and appended by the `appendAudit` activity in order, in
 * the background; `flush()` before the workflow ends. An entry appended twice (an activity retried) is stored once.
 */
export class AuditOutbox {
  private readonly pending: AuditEvent[] = [];
  private seq = 0;
  private closing = false;
  private running: Promise<void> | undefined;

  constructor(private readonly about: { tenant: string; kind: 'release' | 'ticket' | 'app'; app?: string; ticket?: string }) {}

  add(entry: AuditEntry): void {
    const { workflowId, runId } = workflowInfo();
    this.pending.push({
      id: `${workflowId}/${runId}/${++this.seq}`,
      tenant: this.about.tenant,
      at: entry.at,
      kind: this.about.kind,
      workflowId,
      runId,
      ...(this.about.app ? { app: this.about.app } : {}),
      ...(this.about.ticket ? { ticket: this.about.ticket } : {}),
      actor: entry.by,
      action: entry.action,
      ...(entry.detail ? { detail: entry.detail } : {}),
    });
  }

  /** Starts appending in the background. */
  start(): void {
    this.running ??= this.run();
  }

  /** Appends everything still queued, then stops. */
  async flush(): Promise<void> {
    this.closing = true;
    this.start();
    await this.running;
  }

  private async run(): Promise<void> {
    for (;;) {
      await condition(() => this.pending.length > 0 || this.closing);
      if (this.pending.length === 0) return;
      const batch = this.pending.slice(0, BATCH);
      await appendAudit({ events: batch });
      this.pending.splice(0, batch.length); // entries recorded meanwhile stay queued
    }
  }
}
