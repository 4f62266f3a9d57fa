import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ApplicationFailure,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  patched,
} from '@temporalio/workflow';
import { DriftRunInputSchema, describeIssues, toFieldIssues } from '../domain/index.js';
import { FailureTypes } from '../domain/failures.js';
import { appEntityId } from './app-entity.js';
import { driftMemorySignal } from './definitions.js';
import { repairApp } from './drift-app.js';
import type { ClusterRoutes } from '../domain/cluster-queues.js';
import { clusterRoutes } from './activity-proxies.js';
import { driftReportQuery, yieldAppUpdate, type AppDriftReport, type DriftReport, type DriftRunInput } from './drift-definitions.js';
import { reads, recordDriftReport } from './drift-proxies.js';
import { SA } from './search-attributes.js';

/** Where a run continued as new: the Apps still to look at and the report so far. */
interface Continued {
  remaining: string[];
  report: DriftReport;
}

/**
 * Apps looked at (and repaired) at once. Each App's repairs stay one pod at a time; different Apps are independent.
 * Their reads are what a run waits on, so lanes are what makes a tenant of thousands of Apps fit in an interval.
 */
const APP_LANES = 8;

/** Events of one run before it continues as new with the Apps left (a tenant of thousands of Apps). */
const HISTORY_PER_RUN = 8_000;

/**
 * DriftRepair: one run over a tenant's Apps (or some of them). An App with a release in flight is skipped (the
 * report says which); every other App's cells are compared with what was last released there and repaired
 * through the release's own steps (workflows/drift-app.ts). A release that starts during the run takes its App
 * over between pods (`yield-app`). The report is the workflow's result and `drift-report` answers it while the
 * run goes on; it is also written to the audit store and the metrics.
 */
export async function driftRepair(raw: DriftRunInput, continued?: Continued): Promise<DriftReport> {
  const input = validInput(raw);
  const info = workflowInfo();
  const report: DriftReport = continued?.report ?? {
    tenant: input.tenant,
    workflowId: info.workflowId,
    runId: info.runId,
    dryRun: input.dryRun ?? false,
    by: input.by ?? 'schedule',
    startedAt: new Date().toISOString(),
    apps: [],
    totals: { apps: 0, found: 0, repaired: 0, quarantined: 0, failed: 0, skippedApps: 0 },
  };
  // runs started by the Schedule carry these already; runs started by hand get them here
  upsertSearchAttributes([
    { key: SA.kind, value: 'drift' },
    { key: SA.tenant, value: input.tenant },
  ]);
  const yieldedTo = new Map<string, string>();
  const inHand = new Map<string, string>();
  setHandler(driftReportQuery, () => report);
  setHandler(
    yieldAppUpdate,
    async ({ app, release }) => {
      yieldedTo.set(app, release);
      const pod = inHand.get(app);
      await condition(() => !inHand.has(app));
      return { yielded: true as const, ...(pod ? { waitedForPod: pod } : {}) };
    },
    {
      validator: (arg: unknown) => {
        const { app, release } = (arg ?? {}) as { app?: unknown; release?: unknown };
        if (typeof app !== 'string' || !app || typeof release !== 'string' || !release)
          throw new Error('app and release (non-empty strings) are required');
      },
    },
  );
  const preemption = {
    yieldedTo: (app: string) => yieldedTo.get(app),
    inHand: (app: string, pod: string | undefined) => (pod ? inHand.set(app, pod) : inHand.delete(app)),
  };

  // v2: an agent-served cluster's cells are read and repaired by its agent (issue #16); runs before keep every step central
  const routes = patched('cluster-agents') ? await clusterRoutes() : undefined;
  let remaining = continued?.remaining;
  if (!remaining) {
    const names = await reads.driftAppNames({ tenant: input.tenant, ...(input.apps ? { apps: input.apps } : {}) });
    for (const app of names.unknown) add(report, { app, state: 'skipped', reason: 'no such App in this tenant', cells: [] });
    remaining = names.apps;
  }
  // APP_LANES Apps at a time; a long history stops taking new ones and continues as new with the rest
  const queue = remaining;
  const full = () => workflowInfo().historyLength > HISTORY_PER_RUN;
  const lane = async () => {
    while (queue.length && !full()) add(report, await driftOfApp(input, queue.shift()!, preemption, routes));
  };
  await Promise.all(Array.from({ length: Math.min(APP_LANES, queue.length) }, lane));
  if (queue.length) {
    await condition(allHandlersFinished);
    return await continueAsNew<typeof driftRepair>(input, { remaining: queue, report });
  }
  report.finishedAt = new Date().toISOString();
  await recordDriftReport({ report });
  return report;
}

async function driftOfApp(
  input: DriftRunInput,
  name: string,
  preemption: Parameters<typeof repairApp>[1]['preemption'],
  routes: ClusterRoutes | undefined,
): Promise<AppDriftReport> {
  try {
    const target = await reads.driftTarget({ tenant: input.tenant, app: name });
    if (!target) return { app: name, state: 'skipped', reason: 'the App is gone', cells: [] };
    if (target.inFlight) return { app: name, state: 'skipped', reason: `release ${target.inFlight} in flight`, cells: [] };
    const { report, memory } = await repairApp(target, { dryRun: input.dryRun ?? false, preemption, ...(routes ? { routes } : {}) });
    if (memory) await getExternalWorkflowHandle(appEntityId(input.tenant, name)).signal(driftMemorySignal, { memory });
    return report;
  } catch (err) {
    return {
      app: name,
      state: 'failed',
      reason: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err),
      cells: [],
    };
  }
}

/** A run started with a bad input fails at once, naming the field, before it reads or changes anything. */
function validInput(raw: unknown): DriftRunInput {
  const parsed = DriftRunInputSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.nonRetryable(`invalid input: ${describeIssues(toFieldIssues(parsed.error))}`, FailureTypes.invalidInput);
}

function add(report: DriftReport, app: AppDriftReport): void {
  report.apps.push(app);
  const findings = app.cells.flatMap((c) => c.findings);
  const t = report.totals;
  t.apps++;
  t.found += findings.length;
  t.repaired += findings.filter((f) => f.outcome === 'repaired').length;
  t.quarantined += findings.filter((f) => f.outcome === 'quarantined').length;
  t.failed += findings.filter((f) => f.outcome === 'failed').length + (app.state === 'failed' && !findings.length ? 1 : 0);
  if (app.state === 'skipped') t.skippedApps++;
}
