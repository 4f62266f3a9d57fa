import { Context } from '@temporalio/activity';
import { WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { ReleaseClient, visibilityQuery } from '../api/release-client.js';
import { namespaceOf, type AppSpec, type DriftMemory, type Revision } from '../domain/index.js';
import { appReleaseId } from '../workflows/app-release.js';
import { yieldAppUpdate } from '../workflows/drift-definitions.js';

/** How long a release waits for a drift run's worker to take its yield Update. */
const UPDATE_ACCEPT_MS = 10_000;

/** The run ended meanwhile: nothing to yield. */
function finished(err: unknown): boolean {
  const e = err as Error;
  return e.name === 'WorkflowNotFoundError' || /completed|not found/i.test(e.message ?? '');
}

/**
 * Nobody took the Update before the call's deadline. Over the worker's native connection the deadline shows as
 * DEADLINE_EXCEEDED, as CANCELLED "Timeout expired" (the client's WorkflowUpdateRPCTimeoutOrCancelledError) or as
 * an HTTP/2 error of the cancelled stream: any failure once the deadline has passed means the same.
 */
function noAnswer(err: unknown, askedAt: number): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || Date.now() - askedAt >= UPDATE_ACCEPT_MS) return true;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 4 || /deadline|timeout expired/i.test(e.message)) return true;
  }
  return false;
}

/** What drift repair needs of one App: its spec, where it lives, what each cell last received, and its memory. */
export interface DriftTarget {
  spec: AppSpec;
  namespace: string;
  /** Recorded revision per cell (the last release that reached the cell). */
  released: Record<string, number>;
  /** Only the revisions some cell records. */
  revisions: Revision[];
  memory: DriftMemory;
  /** A release of the App in flight: the App is skipped (its workflow id). */
  inFlight?: string;
}

/**
 * Drift repair's reads of Temporal (the worker's own connection): the tenant's Apps, one App's record, whether a
 * release of an App is in flight; and a release's request that a running repair yield its App.
 */
export function createDriftTargetActivities(temporal: Client) {
  const releases = () => new ReleaseClient(temporal, Context.current().info.taskQueue);
  const releaseInFlight = async ({ tenant, app }: { tenant: string; app: string }): Promise<string | undefined> => {
    try {
      const d = await temporal.workflow.getHandle(appReleaseId(tenant, app)).describe();
      return d.status.name === 'RUNNING' ? `${d.workflowId} (run ${d.runId})` : undefined;
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
      throw err;
    }
  };
  return {
    /** The names of the tenant's Apps (all, or those of `apps` that exist), sorted. */
    async driftAppNames({ tenant, apps }: { tenant: string; apps?: string[] }): Promise<{ apps: string[]; unknown: string[] }> {
      const names = (await releases().listApps(tenant, Number.MAX_SAFE_INTEGER)).map((a) => a.name);
      if (!apps?.length) return { apps: names, unknown: [] };
      return { apps: names.filter((n) => apps.includes(n)), unknown: apps.filter((a) => !names.includes(a)) };
    },
    async driftTarget({ tenant, app }: { tenant: string; app: string }): Promise<DriftTarget | undefined> {
      const record = await releases().getApp(tenant, app);
      if (!record) return undefined;
      const recorded = new Set(Object.values(record.released));
      const inFlight = await releaseInFlight({ tenant, app });
      return {
        spec: record.spec,
        namespace: namespaceOf(record.spec),
        released: record.released,
        revisions: record.revisions.filter((r) => recorded.has(r.number)),
        memory: record.drift ?? {},
        ...(inFlight ? { inFlight } : {}),
      };
    },
    releaseInFlight,
    /**
     * Called by a release before it changes anything: every running drift repair of the tenant stops repairing
     * the App; a pod in hand is finished first (the update answers once it is). No repair running: nothing to do.
     * A run that no worker takes the Update of within UPDATE_ACCEPT_MS does nothing meanwhile either (its
     * workflow is not running anywhere) and, once it is, asks before every pod whether a release is in flight:
     * it is passed over (named in the answer), so a release never waits for a worker that is gone.
     */
    async awaitDriftYield({
      tenant,
      app,
      release,
    }: {
      tenant: string;
      app: string;
      release: string;
    }): Promise<{ waitedFor: string[]; unanswered: string[] }> {
      const waitedFor: string[] = [];
      const unanswered: string[] = [];
      const query = visibilityQuery({ BaristaKind: 'drift', BaristaTenant: tenant, ExecutionStatus: 'Running' });
      // the answer may wait for a pod in hand (its per-pod budget): heartbeat meanwhile
      const beat = setInterval(() => Context.current().heartbeat(), 5_000);
      try {
        for await (const wf of temporal.workflow.list({ query })) {
          const handle = temporal.workflow.getHandle(wf.workflowId, wf.runId);
          const askedAt = Date.now();
          let update;
          try {
            update = await temporal.withDeadline(askedAt + UPDATE_ACCEPT_MS, () =>
              handle.startUpdate(yieldAppUpdate, { args: [{ app, release }], waitForStage: WorkflowUpdateStage.ACCEPTED }),
            );
          } catch (err) {
            if (finished(err)) continue;
            if (!noAnswer(err, askedAt)) throw err;
            unanswered.push(wf.workflowId);
            continue;
          }
          // accepted: the run stops repairing the App once the pod in hand is done, and answers then
          try {
            const answer = await update.result();
            if (answer.waitedForPod) waitedFor.push(`${wf.workflowId}: ${answer.waitedForPod}`);
          } catch (err) {
            if (!finished(err)) throw err;
          }
        }
      } finally {
        clearInterval(beat);
      }
      return { waitedFor, unanswered };
    },
  };
}
