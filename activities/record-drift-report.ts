import type { Logger } from 'pino';
import type { AuditEvent } from '../domain/audit-chain.js';
import type { DriftReport } from '../workflows/drift-definitions.js';
import type { AuditStore } from './audit-store.js';
import type { ActivityMetrics } from './metrics.js';

/**
 * A drift run's report, kept: one audit entry per finding (what differed, field by field, repaired or why not)
 * and per skipped App, and one for the run, in the durable audit record when there is one; the metrics
 * (`barista_drift_found_total`, `…_repaired_total`, `…_run_seconds`); a quarantined field is logged as a
 * warning for alerting. Idempotent: entries carry the run's ids and their position, so a retry stores nothing twice.
 */
export function createRecordDriftReport(deps: { audit?: AuditStore; metrics: ActivityMetrics; logger: Logger }) {
  return async function recordDriftReport({ report }: { report: DriftReport }): Promise<{ entries: number; stored: boolean }> {
    const events = auditEventsOf(report);
    const stored = deps.audit ? (await deps.audit.append(events), true) : false;
    // metrics once per run, not per retried attempt: only the attempt that stored counts (or the only one)
    for (const app of report.apps) {
      const findings = app.cells.flatMap((c) => c.findings);
      if (findings.length) deps.metrics.driftFound.inc({ tenant: report.tenant, app: app.app }, findings.length);
      const repaired = findings.filter((f) => f.outcome === 'repaired').length;
      if (repaired) deps.metrics.driftRepaired.inc({ tenant: report.tenant, app: app.app }, repaired);
      for (const f of findings.filter((x) => x.outcome === 'quarantined'))
        deps.logger.warn(
          { tenant: report.tenant, app: app.app, cell: f.cell, object: f.object, field: f.field },
          `drift quarantined: ${f.reason}`,
        );
    }
    if (report.finishedAt)
      deps.metrics.driftRunSeconds.observe(
        { tenant: report.tenant, dry_run: String(report.dryRun) },
        (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000,
      );
    return { entries: events.length, stored };
  };
}

/** The run as audit entries, in a fixed order (their ids follow from it). */
export function auditEventsOf(report: DriftReport): AuditEvent[] {
  const events: AuditEvent[] = [];
  const at = report.finishedAt ?? new Date().toISOString();
  const add = (action: string, detail: string, app?: string) =>
    events.push({
      id: `${report.workflowId}/${report.runId}/drift/${events.length}`,
      tenant: report.tenant,
      at,
      kind: 'drift',
      workflowId: report.workflowId,
      runId: report.runId,
      ...(app ? { app } : {}),
      actor: report.by,
      action,
      detail,
    });
  for (const app of report.apps) {
    if (app.state === 'skipped' || (app.state === 'failed' && !app.cells.length)) add(`drift-${app.state}`, app.reason ?? '', app.app);
    for (const cell of app.cells) {
      if (cell.state === 'unreachable' || cell.state === 'failed')
        add(`drift-cell-${cell.state}`, `${cell.cell}: ${cell.reason ?? ''}`, app.app);
      for (const f of cell.findings) {
        const change = `expected ${f.expected ?? '(absent)'}, found ${f.actual ?? '(absent)'}`;
        add(`drift-${f.outcome}`, `${f.cell} ${f.object} ${f.field}: ${change}${f.reason ? `; ${f.reason}` : ''}`, app.app);
      }
    }
  }
  const t = report.totals;
  add(
    'drift-run',
    `${report.dryRun ? 'dry run: ' : ''}${t.apps} apps, ${t.found} fields drifted, ${t.repaired} repaired, ${t.quarantined} quarantined, ${t.failed} failed, ${t.skippedApps} apps skipped`,
  );
  return events;
}
