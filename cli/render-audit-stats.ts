import type { AuditStatsQuery } from '../activities/audit-store.js';
import type { AuditStats, AuditStatsFigures } from '../domain/audit-stats.js';

const COLUMNS = ['app', 'releases', 'in flight', 'lead mean', 'p50', 'p90', 'failed', 'rolled back', 'aborted', 'paused (mean)'];

/** `barista audit stats`: one line per app and the tenant's total, as a table. */
export function renderAuditStats(s: AuditStats & AuditStatsQuery): string[] {
  const range = `${s.since ?? 'the first entry'} to ${s.until ?? 'now'}`;
  const title = `releases of ${s.tenant}${s.app ? ` app ${s.app}` : ''} requested from ${range}`;
  if (!s.total.releases) return [title, '(none)'];
  const rows = [COLUMNS, ...s.apps.map((a) => row(a.app, a)), row(`(${s.tenant})`, s.total)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    title,
    ...rows.map(line),
    'rates and means are over finished releases; paused: operator pauses and pauses after a failure, summed per release',
  ];
}

function row(name: string, f: AuditStatsFigures): string[] {
  const lead = f.leadTimeSeconds;
  return [
    name,
    String(f.releases),
    String(f.inFlight),
    lead ? duration(lead.mean) : '-',
    lead ? duration(lead.p50) : '-',
    lead ? duration(lead.p90) : '-',
    rate(f.failed, f.failureRate),
    rate(f.rolledBack, f.rollbackRate),
    rate(f.aborted, f.abortRate),
    f.meanPausedSeconds === null ? '-' : duration(f.meanPausedSeconds),
  ];
}

function rate(n: number, r: number | null): string {
  return r === null ? '-' : `${n} (${Math.round(r * 100)}%)`;
}

/** 42s, 4m10s, 2h05m, 3d04h: the two largest units. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}
