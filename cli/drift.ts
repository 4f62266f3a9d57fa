import type { Command } from 'commander';
import type { DriftRunSummary, DriftScheduleView } from '../api/drift-client.js';
import type { DriftFinding, DriftReport } from '../workflows/drift-definitions.js';
import { api, CliError, loadConfig } from './api-client.js';

const route = (tenant: string, rest = '') => `/v1/tenants/${encodeURIComponent(tenant)}/drift${rest}`;

/** One finding: where, the field, expected → actual, the outcome and its reason. */
function renderFinding(f: DriftFinding): string {
  const values = f.expected !== undefined || f.actual !== undefined ? `: ${f.expected ?? '(none)'} → ${f.actual ?? '(none)'}` : '';
  return `${f.object} ${f.field}${values}  ${f.outcome}${f.reason ? ` (${f.reason})` : ''}`;
}

/** The report as lines: totals, then each App, its cells and their findings field by field. */
export function renderDriftReport(r: DriftReport): string[] {
  const t = r.totals;
  const lines = [
    `  ${r.dryRun ? 'dry run, ' : ''}by ${r.by}, ${r.startedAt}${r.finishedAt ? ` → ${r.finishedAt}` : ' (running)'}: ` +
      `${t.apps} apps, ${t.found} found, ${t.repaired} repaired, ${t.quarantined} quarantined, ${t.failed} failed, ${t.skippedApps} skipped`,
  ];
  for (const a of r.apps) {
    lines.push(`  ${a.app}: ${a.state}${a.reason ? ` (${a.reason})` : ''}`);
    for (const c of a.cells) {
      const where = [c.cluster, c.revision !== undefined ? `rev ${c.revision}` : undefined].filter(Boolean).join(', ');
      lines.push(`    ${c.cell}${where ? ` (${where})` : ''}: ${c.state}${c.reason ? ` (${c.reason})` : ''}`);
      for (const f of c.findings) lines.push(`      ${renderFinding(f)}`);
    }
  }
  return lines;
}

export function renderDriftRun(run: DriftRunSummary): string[] {
  const head = `${run.startTime}  ${run.status.toLowerCase().padEnd(10)} ${run.workflowId}  run ${run.runId}${run.by ? `  by ${run.by}` : ''}`;
  if (run.report) return [head, ...renderDriftReport(run.report)];
  return [head, `  no report${run.reportError ? `: ${run.reportError}` : ` (the run ended ${run.status.toLowerCase()})`}`];
}

export function renderDriftSchedule(s: DriftScheduleView): string[] {
  return [
    `drift schedule ${s.scheduleId}: ${s.paused ? 'PAUSED' : 'active'}, every ${s.intervalSeconds ?? '?'} s, overlap ${s.overlap.toLowerCase()}`,
    ...(s.note ? [`  note: ${s.note}`] : []),
    ...(s.nextRuns.length ? [`  next runs: ${s.nextRuns.join(', ')}`] : []),
    ...s.running.map((r) => `  running: ${r.workflowId} (run ${r.runId})`),
    ...s.recentRuns.map((r) => `  started ${r.takenAt}: ${r.workflowId}`),
    `  runs started: ${s.actionsTaken}, skipped (one in flight): ${s.skippedOverlap}`,
  ];
}

/** `barista drift …`: reports, runs by hand and the tenant's drift Schedule (docs/drift.md). */
export function addDriftCommands(program: Command): void {
  const drift = program.command('drift').description('drift repair: put back what changed since the last release, on a schedule');
  drift
    .command('report <tenant>')
    .description('recent drift runs, newest first: per App and cell, each finding (field, expected → actual, outcome, reason)')
    .option('--app <app>', "only this App's part of each report")
    .option('--limit <n>', 'at most this many runs (default 10)', Number)
    .option('--json', 'the API answer as JSON')
    .action(async (tenant: string, o: { app?: string; limit?: number; json?: boolean }) => {
      const query = new URLSearchParams();
      if (o.app) query.set('app', o.app);
      if (o.limit !== undefined) query.set('limit', String(o.limit));
      const answer = await api<{ runs: DriftRunSummary[] }>(await loadConfig(), 'GET', route(tenant, query.size ? `?${query}` : ''));
      if (o.json) console.log(JSON.stringify(answer, null, 2));
      else if (!answer.runs.length) console.log(`no drift runs of ${tenant} yet`);
      else console.log(answer.runs.flatMap(renderDriftRun).join('\n'));
    });

  drift
    .command('run <tenant>')
    .description('start a drift run now (releaser or admin)')
    .option('--dry-run', 'report only: change nothing')
    .option('--app <apps>', 'only these Apps, comma-separated')
    .action(async (tenant: string, o: { dryRun?: boolean; app?: string }) => {
      const apps = o.app
        ?.split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      const body = { ...(o.dryRun ? { dryRun: true } : {}), ...(apps?.length ? { apps } : {}) };
      const started = await api<{ workflowId: string; runId: string }>(await loadConfig(), 'POST', route(tenant, '/runs'), body);
      console.log(`${o.dryRun ? 'dry run' : 'drift run'} started: ${started.workflowId} (run ${started.runId})`);
    });

  const schedule = drift.command('schedule').description("the tenant's drift Schedule (changes: admin)");
  schedule
    .command('show <tenant>')
    .option('--json', 'the API answer as JSON')
    .action(async (tenant: string, o: { json?: boolean }) => {
      const s = await api<DriftScheduleView>(await loadConfig(), 'GET', route(tenant, '/schedule'));
      console.log(o.json ? JSON.stringify(s, null, 2) : renderDriftSchedule(s).join('\n'));
    });
  schedule
    .command('pause <tenant>')
    .description('pause it; it shows who paused it and why')
    .requiredOption('--reason <text>', 'why (shown with your name)')
    .action(async (tenant: string, o: { reason: string }) => {
      const s = await api<DriftScheduleView>(await loadConfig(), 'POST', route(tenant, '/schedule/pause'), { reason: o.reason });
      console.log(renderDriftSchedule(s).join('\n'));
    });
  schedule
    .command('unpause <tenant>')
    .option('--reason <text>')
    .action(async (tenant: string, o: { reason?: string }) => {
      const body = o.reason ? { reason: o.reason } : {};
      const s = await api<DriftScheduleView>(await loadConfig(), 'POST', route(tenant, '/schedule/unpause'), body);
      console.log(renderDriftSchedule(s).join('\n'));
    });
  schedule
    .command('trigger <tenant>')
    .description('start a scheduled run now (none starts while one is in flight)')
    .action(async (tenant: string) => {
      const s = await api<DriftScheduleView>(await loadConfig(), 'POST', route(tenant, '/schedule/trigger'), {});
      console.log(`triggered\n${renderDriftSchedule(s).join('\n')}`);
    });
  schedule
    .command('set-interval <tenant> <seconds>')
    .description('run every <seconds> (30..86400); creates the Schedule when absent')
    .action(async (tenant: string, seconds: string) => {
      const intervalSeconds = Number(seconds);
      if (!Number.isInteger(intervalSeconds)) throw new CliError(`"${seconds}" is not a whole number of seconds`);
      const s = await api<DriftScheduleView>(await loadConfig(), 'PUT', route(tenant, '/schedule'), { intervalSeconds });
      console.log(renderDriftSchedule(s).join('\n'));
    });
}
