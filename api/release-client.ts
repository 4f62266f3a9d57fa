import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  AppSpecSchema,
  CatchUpRequestSchema,
  diffRevisions,
  DomainError,
  parseReleaseRequest,
  replicasIn,
  toFieldIssues,
  type AppSpec,
  type PlanPreview,
  type ReleaseRequest,
  type RevisionDiff,
} from '../domain/index.js';
import { appEntityId } from '../workflows/app-entity.js';
import { ensureCheckQueriesParse, type QueryParser } from './check-queries.js';
import { appReleaseId, type AppReleaseInput } from '../workflows/app-release.js';
import {
  ActionFailureTypes,
  appQuery,
  releaseActions,
  statusQuery,
  batchStatusQuery,
  RELEASE_WORKFLOW_TASK_TIMEOUT,
  upsertAppUpdate,
  type ActionInputs,
  type ActionResult,
  type AppRecord,
  type AppSummaryMemo,
  type ReleaseAction,
} from '../workflows/definitions.js';
import type { ReleaseStatus, StatusView } from '../workflows/release-status.js';
import { overlayLiveBatches } from './live-batches.js';
import { podStepsOf } from './pod-steps.js';
import { effectiveState, isEnded, LISTED_STATES, stateClause, type ListedState } from './release-states.js';
import type { ReleaseQueueStatus } from '../workflows/queued-release.js';
import { SA } from '../workflows/search-attributes.js';
import { probeClustersId } from '../workflows/probe-clusters.js';
import type { ClusterProbe } from '../activities/probe-clusters.js';
import { checkPlacement } from './app-placement.js';
import { planRequest } from './release-plan.js';
import { IdempotencyKeyReusedError, NoWorkerError } from './errors.js';
import { ensureWorkerPolls } from './worker-pollers.js';
import { IDEMPOTENCY_KEY_TTL_MS, matchKey, requestHash, type StartMemo } from './idempotency.js';
import { enqueueRelease, readQueue, type QueuedReleaseRef } from './release-queue.js';

export interface ReleaseSummary {
  workflowId: string;
  runId: string;
  app: string;
  /** Barista's state of the release (running, paused, succeeded, ...). */
  state: string;
  /** Temporal's execution status (Running, Completed, ...). */
  status: string;
  startTime: string;
  closeTime?: string;
  requestedBy: string;
  /** The ticket that started it, if one did. */
  ticket?: string;
}

/** One registered App, as listed: its latest revision and what each cell last released. */
export interface AppSummary {
  name: string;
  tenant: string;
  workspace: string;
  latest: number;
  released: Record<string, number>;
}

export interface ReleaseFilter {
  app?: string;
  state?: ListedState;
  /** Only the releases this ticket started (search attribute BaristaTicket). */
  ticket?: string;
  limit?: number;
}

export interface ReleaseRef {
  workflowId: string;
  runId: string;
}

/** A started release: `created` is false when an earlier start with the same idempotency key made it. */
export interface StartedRelease extends ReleaseRef {
  created: boolean;
}

/** What a start request became: a release, or (with `queue: true` while another is in flight) a queue entry. */
export type ReleaseRequestOutcome = { started: StartedRelease } | { queued: QueuedReleaseRef };

/** Runs of one release workflow id read at most when looking for an idempotency key among finished ones. */
const MAX_KEYED_RUNS = 200;

/** How long an operator action waits for the release's worker to accept or refuse it. */
const ACTION_DEADLINE_MS = 30_000;
/** How long a status query waits for the release's worker (one that polls: with none, it is refused at once). */
const STATUS_DEADLINE_MS = 20_000;
/** How long the answer of a cluster probe is reused (the status of a release with an open ledger). */
const PROBE_CACHE_MS = 10_000;

/** How many Apps of one tenant a listing reads at most. */
const MAX_LISTED_APPS = 10_000;

/**
 * Typed client for Apps and releases: validates every input before anything starts, and signals and
 * queries releases through the definitions shared with the workflows. Used by the API and the CLI.
 */
export class ReleaseClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    /** Prometheus' parser, to refuse gate checks whose PromQL does not parse before anything starts. */
    readonly options: { prometheus?: QueryParser } = {},
  ) {}

  /** Temporal's frontend address, for errors that name it (undefined for a connection that does not tell). */
  get temporalAddress(): string | undefined {
    return (this.client.connection as { options?: { address?: string } }).options?.address;
  }

  /**
   * Registers or updates an App; a changed template/replicas/overrides makes a new revision. Refused before
   * anything is written: a spec Kubernetes would reject (annotation keys, env names, namespace), overrides
   * outside the placement, cells that do not exist or belong to another tenant (asked of the clusters, see
   * app-placement.ts: a cluster that does not answer about a cell new to the placement is an UnavailableError
   * naming it).
   */
  async upsertApp(input: unknown, by: string): Promise<{ revision: number; created: boolean }> {
    const parsed = AppSpecSchema.safeParse(input);
    if (!parsed.success) throw DomainError.invalid(toFieldIssues(parsed.error));
    const spec = parsed.data;
    const registered = await this.getApp(spec.tenant, spec.name);
    await checkPlacement(this.client, this.taskQueue, spec, registered?.spec.placement);
    return await this.client.workflow.executeUpdateWithStart(upsertAppUpdate, {
      args: [{ spec, by }],
      startWorkflowOperation: new WithStartWorkflowOperation('appEntity', {
        workflowId: appEntityId(spec.tenant, spec.name),
        taskQueue: this.taskQueue,
        args: [],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // so that a tenant's Apps can be listed from Temporal's visibility store
        typedSearchAttributes: [
          { key: SA.app, value: spec.name },
          { key: SA.tenant, value: spec.tenant },
          { key: SA.kind, value: 'app' },
        ],
      }),
    });
  }

  async getApp(tenant: string, app: string): Promise<AppRecord | undefined> {
    try {
      return await this.client.workflow.getHandle(appEntityId(tenant, app)).query(appQuery);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
      throw err;
    }
  }

  /**
   * Starts a release. Every input error (schema, unknown app or revision, empty scope, more groups than pods)
   * is a DomainError and nothing is started. A release of the same App in flight refuses the start with
   * its id (CONFLICT).
   *
   * With an idempotency key (api/idempotency.ts): the release started with that key and the same request, in
   * flight or finished within the key's lifetime, is returned (`created: false`); another request with that
   * key is refused (IdempotencyKeyReusedError). No check-then-start: the start uses Temporal's
   * workflowIdConflictPolicy USE_EXISTING, so concurrent callers all get the one run in flight, and that run's
   * memo (key, request hash, nonce of the call that created it) tells each caller whether it is theirs.
   */
  async startRelease(input: unknown, opts: { idempotencyKey?: string } = {}): Promise<StartedRelease> {
    const request = parseReleaseRequest(input);
    await ensureCheckQueriesParse(request.strategy, this.options.prometheus);
    const workflowId = appReleaseId(request.tenant, request.app);
    const key = opts.idempotencyKey;
    const hash = requestHash(request);
    if (key) {
      const earlier = await this.releaseWithKey(workflowId, key, hash);
      if (earlier) return { ...earlier, created: false };
    }
    const args: [AppReleaseInput] = [await this.releaseInput(request)];
    const memo: StartMemo = {
      requestedBy: request.requestedBy,
      startNonce: randomUUID(),
      ...(key ? { idempotencyKey: key, requestHash: hash } : {}),
    };
    const handle = await this.client.workflow.start('appRelease', {
      workflowId,
      taskQueue: this.taskQueue,
      args,
      workflowTaskTimeout: RELEASE_WORKFLOW_TASK_TIMEOUT,
      // a run in flight is handed back rather than refused: its memo says whether it is this request's
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      memo,
      typedSearchAttributes: [
        { key: SA.app, value: request.app },
        { key: SA.tenant, value: request.tenant },
        { key: SA.kind, value: 'app-release' },
        { key: SA.state, value: 'planning' },
      ],
    });
    const run = await this.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
    const ref = { workflowId, runId: run.runId };
    if (run.memo?.startNonce === memo.startNonce) return { ...ref, created: true };
    const match = key ? matchKey(run, key, hash, new Date()) : 'unrelated';
    if (match === 'same') return { ...ref, created: false };
    if (match === 'other-request') throw new IdempotencyKeyReusedError(key!, ref);
    throw new DomainError(
      'CONFLICT',
      `app ${request.tenant}/${request.app} already has a release in flight: ${workflowId} (run ${run.runId})`,
      [],
      ref,
    );
  }

  /**
   * Starts a release, or with `queue: true` while another release of the App is in flight, queues it behind
   * that one (and behind those queued before it): it starts when they have ended (see workflows/queued-release.ts).
   */
  async requestRelease(input: unknown, opts: { idempotencyKey?: string } = {}): Promise<ReleaseRequestOutcome> {
    const request = parseReleaseRequest(input);
    try {
      return { started: await this.startRelease(request, opts) };
    } catch (err) {
      if (!request.queue || !(err instanceof DomainError) || err.code !== 'CONFLICT') throw err;
      const key = opts.idempotencyKey;
      const behind = typeof err.details.runId === 'string' ? err.details.runId : undefined;
      const queued = await enqueueRelease(this.client, this.taskQueue, {
        ticket: key ?? randomUUID(),
        request,
        requestHash: requestHash(request),
        ...(key ? { idempotencyKey: key } : {}),
        ...(behind ? { behind } : {}),
      });
      return { queued };
    }
  }

  /**
   * Catch-up of a disaster-mode release: a release over exactly the cells its ledger still owes (mask = those
   * cells), to its target revision or a newer one, with its strategy unless another is given. Refused (nothing
   * started), naming the field: the release still running, no ledger, every ledger cell released since, an older
   * revision. Pods the skipped release left mid-step are finished by the catch-up's per-pod protocol, which
   * starts from whatever state each pod is in.
   */
  async catchUp(ref: ReleaseRef, input: unknown, opts: { idempotencyKey?: string } = {}): Promise<StartedRelease> {
    const parsed = CatchUpRequestSchema.safeParse(input);
    if (!parsed.success) throw DomainError.invalid(toFieldIssues(parsed.error));
    const request = parsed.data;
    const skipped = await this.status(ref, { detail: 'summary' });
    if (!isEnded(skipped.state))
      throw DomainError.invalid([
        { field: 'release', message: `release ${ref.runId} is ${skipped.state}: a catch-up starts once it has ended` },
      ]);
    if (!skipped.ledger?.length)
      throw DomainError.invalid([{ field: 'ledger', message: `release ${ref.runId} skipped no cell: there is nothing to catch up` }]);
    const record = await this.getApp(skipped.tenant, skipped.app);
    const owed = skipped.ledger.filter((e) => record?.owed?.[e.cell]?.release === ref.runId).map((e) => e.cell);
    if (owed.length === 0)
      throw DomainError.invalid([
        { field: 'ledger', message: `every cell of the ledger of release ${ref.runId} has been released since: it is closed` },
      ]);
    const revision = request.revision ?? skipped.to;
    if (revision < skipped.to)
      throw DomainError.invalid([
        { field: 'revision', message: `a catch-up brings cells to revision ${skipped.to} or newer; for an older one start a release` },
      ]);
    const strategy = request.strategy ?? fitted(skipped.strategy, owedPods(record, revision, owed));
    return this.startRelease(
      {
        app: skipped.app,
        tenant: skipped.tenant,
        revision,
        mask: owed,
        ...(strategy ? { strategy } : {}),
        requestedBy: request.requestedBy,
        reason: `catch-up of release ${ref.runId} (cells ${owed.join(', ')})${request.reason ? `: ${request.reason}` : ''}`,
      },
      opts,
    );
  }

  /** The App's release queue: entries waiting in order (each saying what it waits behind), and recent starts. */
  queueStatus(tenant: string, app: string): Promise<ReleaseQueueStatus> {
    return readQueue(this.client, tenant, app);
  }

  /**
   * What a release of `input` would start with (the App's revisions and plan checked as a start checks them),
   * without starting it: a ticket starts its apps' releases as child workflows from this.
   */
  async prepareRelease(input: unknown): Promise<AppReleaseInput> {
    return this.releaseInput(parseReleaseRequest(input));
  }

  /** What the release workflow starts with: the App as registered now, the target and the previous revision. */
  private async releaseInput(request: ReleaseRequest): Promise<AppReleaseInput> {
    return (await planRequest(this, request, 'start')).input;
  }

  /**
   * A dry run of a start: the plan a start of `input` would run (groups with their pods per cell, gates, deadlines,
   * the revision diff), refused exactly as a start refuses it (DomainError naming the field), and nothing started
   * or changed. Planned by the same code as a start and as the release workflow (api/release-plan.ts). A release in
   * flight is told (`inFlight`, and a notice): a start now would be refused, or queued with `queue: true`.
   */
  async planRelease(input: unknown): Promise<PlanPreview & { inFlight?: ReleaseRef }> {
    const request = parseReleaseRequest(input);
    await ensureCheckQueriesParse(request.strategy, this.options.prometheus);
    const { preview } = await planRequest(this, request, 'preview');
    const inFlight = await this.releaseInFlight(request.tenant, request.app);
    if (!inFlight) return preview!;
    const then = request.queue
      ? 'a start now is queued behind it (queue: true)'
      : 'a start now is refused (409) unless it asks to be queued (queue: true)';
    return { ...preview!, inFlight, notices: [...preview!.notices, `release ${inFlight.runId} of this App is in flight: ${then}`] };
  }

  /**
   * What changes from revision `a` to revision `b` of an App (domain/revision-diff.ts). An App that is not registered,
   * or revisions it does not have (never made, or no longer kept), are NOT_FOUND naming them.
   */
  async revisionDiff(tenant: string, app: string, a: number, b: number): Promise<RevisionDiff> {
    const record = await this.getApp(tenant, app);
    if (!record) throw new DomainError('NOT_FOUND', `app ${tenant}/${app} is not registered`, [{ field: 'app', message: 'unknown app' }]);
    const find = (n: number) => record.revisions.find((r) => r.number === n);
    const [older, newer] = [find(a), find(b)];
    if (!older || !newer) {
      const missing = [...new Set([a, b])].filter((n) => !find(n));
      const kept = record.revisions.map((r) => r.number).join(', ');
      throw new DomainError(
        'NOT_FOUND',
        `app ${tenant}/${app} has no revision ${missing.join(' or ')} (kept revisions: ${kept}; latest ${record.latest})`,
        missing.map((n) => ({ field: n === a ? 'a' : 'b', message: `revision ${n} does not exist` })),
        { missing },
      );
    }
    return diffRevisions(older, newer);
  }

  /** The App's release in flight, if one is (its workflow id is the App's; a finished run is not in flight). */
  private async releaseInFlight(tenant: string, app: string): Promise<ReleaseRef | undefined> {
    const workflowId = appReleaseId(tenant, app);
    const run = await this.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch((err: unknown) => {
        if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
        throw err;
      });
    return run?.status.name === 'RUNNING' ? { workflowId, runId: run.runId } : undefined;
  }

  /**
   * The release an earlier start with `key` and this request made, if it is within the key's lifetime: the
   * latest run first (read directly, so one just started is seen), then older runs from visibility (finished
   * ones, long visible there). The key with another request: IdempotencyKeyReusedError.
   */
  private async releaseWithKey(workflowId: string, key: string, hash: string): Promise<ReleaseRef | undefined> {
    const now = new Date();
    const verdict = (run: { runId: string; memo?: Record<string, unknown>; startTime: Date }) => {
      const match = matchKey(run, key, hash, now);
      if (match === 'other-request') throw new IdempotencyKeyReusedError(key, { workflowId, runId: run.runId });
      return match === 'same' ? { workflowId, runId: run.runId } : undefined;
    };
    const latest = await this.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch((err: unknown) => {
        if ((err as Error).name === 'WorkflowNotFoundError') return undefined;
        throw err;
      });
    if (!latest) return undefined;
    const found = verdict(latest);
    if (found) return found;
    const since = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS).toISOString();
    let read = 0;
    for await (const run of this.client.workflow.list({
      query: `WorkflowId = '${workflowId.replace(/['\\]/g, '')}' AND StartTime > '${since}'`,
    })) {
      if (run.runId !== latest.runId) {
        const earlier = verdict(run);
        if (earlier) return earlier;
      }
      if (++read >= MAX_KEYED_RUNS) break;
    }
    return undefined;
  }

  /** Number of releases in each state (running, paused, succeeded, ..., terminated), all tenants. */
  async countReleasesByState(): Promise<Record<ListedState, number>> {
    const counts = await Promise.allSettled(
      LISTED_STATES.map(async (state) => {
        const query = `${visibilityQuery({ BaristaKind: 'app-release' })} AND ${stateClause(state)}`;
        const { count } = await this.client.workflow.count(query);
        return [state, count] as const;
      }),
    );
    // every count settles before this returns (none left retrying past its caller)
    const failed = counts.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
    return Object.fromEntries(counts.map((c) => (c as PromiseFulfilledResult<readonly [ListedState, number]>).value)) as Record<
      ListedState,
      number
    >;
  }

  /** The first `limit` Apps of a tenant by name, from Temporal's visibility store (the entities' memo). */
  async listApps(tenant: string, limit = 100): Promise<AppSummary[]> {
    const apps: AppSummary[] = [];
    const query = visibilityQuery({ BaristaKind: 'app', BaristaTenant: tenant, ExecutionStatus: 'Running' });
    // visibility has no order by name: read them all (up to a cap), then sort
    for await (const wf of this.client.workflow.list({ query })) {
      const name = wf.typedSearchAttributes.get(SA.app);
      const summary = wf.memo?.summary as AppSummaryMemo | undefined;
      // an entity whose first update is not yet visible has no summary: it is listed on the next call
      if (name && summary) apps.push({ name, tenant, ...summary });
      if (apps.length >= MAX_LISTED_APPS) break;
    }
    return apps.sort((a, b) => a.name.localeCompare(b.name)).slice(0, limit);
  }

  /** Releases of a tenant, newest first, from Temporal's visibility store; filtered by App, state and ticket. */
  async listReleases(tenant: string, filter: ReleaseFilter = {}): Promise<ReleaseSummary[]> {
    const query = [
      visibilityQuery({ BaristaKind: 'app-release', BaristaTenant: tenant, BaristaApp: filter.app, BaristaTicket: filter.ticket }),
      ...(filter.state ? [stateClause(filter.state)] : []),
    ].join(' AND ');
    const result: ReleaseSummary[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      const ticket = wf.typedSearchAttributes.get(SA.ticket) ?? wf.memo?.ticket;
      result.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        app: wf.typedSearchAttributes.get(SA.app) ?? '',
        state: effectiveState(wf.typedSearchAttributes.get(SA.state), wf.status.name),
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
        requestedBy: String(wf.memo?.requestedBy ?? ''),
        ...(typeof ticket === 'string' ? { ticket } : {}),
      });
      if (result.length >= (filter.limit ?? 50)) break;
    }
    return result;
  }

  handle(ref: ReleaseRef | string): WorkflowHandle {
    return typeof ref === 'string' ? this.client.workflow.getHandle(ref) : this.client.workflow.getHandle(ref.workflowId, ref.runId);
  }

  /**
   * The release's status as its workflow tells it; a run that Temporal ended (terminated, reset, timed out,
   * cancelled) shows that end, with the reason in `closedBy`, not the state it had when it stopped.
   */
  async status(ref: ReleaseRef | string, view?: StatusView): Promise<ReleaseStatus> {
    const handle = this.handle(ref);
    // the query runs workflow code on a worker: with none polling the release's task queue it would wait half a
    // minute and fail without a reason; describing needs no worker and says which queue to ask about
    const described = await handle.describe();
    await ensureWorkerPolls(this.client, described.taskQueue);
    const queried = await this.client
      .withDeadline(Date.now() + STATUS_DEADLINE_MS, () => (view ? handle.query(statusQuery, view) : handle.query(statusQuery)))
      .catch((err: unknown) => {
        throw isDeadlineExceeded(err) ? unanswered(this.client, described.taskQueue, 'the status query', STATUS_DEADLINE_MS, err) : err;
      });
    const live = await this.withLivePods(queried);
    const state = effectiveState(live.state, described.status.name);
    const status = live.ledger?.length && isEnded(state) ? await this.withLedgerNotices(live, described.runId, state) : live;
    if (state === status.state) return status;
    return {
      ...status,
      state: state as ReleaseStatus['state'],
      closedBy: `temporal: ${described.status.name.toLowerCase()}`,
      ...(described.closeTime && !status.finishedAt ? { finishedAt: described.closeTime.toISOString() } : {}),
    };
  }

  /**
   * An ended release with a ledger: which of its cells the App still owes (`ledgerOpen`) and, for each cluster
   * of those, whether it answers now (a probe run by the worker, which has the credentials), as `notices`.
   */
  private async withLedgerNotices(status: ReleaseStatus, runId: string, state: string): Promise<ReleaseStatus> {
    const record = await this.getApp(status.tenant, status.app);
    const open = (status.ledger ?? []).filter((e) => record?.owed?.[e.cell]?.release === runId);
    if (open.length === 0) {
      // only a release that ended succeeded-with-skips leaves cells owed; an aborted or failed one leaves none
      const notice =
        state === 'succeeded-with-skips'
          ? 'the ledger is closed: every skipped cell has been released since'
          : `the release ended ${state}: its skipped cells owe nothing (a new release changes them)`;
      return { ...status, ledgerOpen: [], notices: [notice] };
    }
    const byCluster = new Map<string, string[]>();
    for (const e of open) byCluster.set(e.cluster, [...(byCluster.get(e.cluster) ?? []), e.cell]);
    const probed = await this.probeClusters(
      status,
      [...byCluster.keys()].filter((c) => !c.includes(' or ')),
    );
    const catchUp = `barista release catch-up ${status.tenant}/${status.app} ${runId}`;
    const notices = [...byCluster].map(([cluster, cells]) => {
      const owe = `${cells.length} cell${cells.length > 1 ? 's' : ''} (${cells.join(', ')}) owe${cells.length > 1 ? '' : 's'} revision ${status.to}`;
      const probe = probed.get(cluster);
      if (probe?.reachable) return `${cluster} is reachable again; ${owe}: ${catchUp}`;
      if (probe) return `${cluster} is still unreachable (${probe.reason}); ${owe}`;
      return `${cluster}: reachability unknown (no worker answered); ${owe}`;
    });
    return { ...status, ledgerOpen: open.map((e) => e.cell), notices };
  }

  /** Probes answered within PROBE_CACHE_MS are reused: reading a status does not start a probe every time. */
  private readonly probes = new Map<string, { at: number; probe: ClusterProbe }>();

  /** Whether each cluster answers now, asked of a worker (the API has no cluster credentials); none: unknown. */
  private async probeClusters(status: ReleaseStatus, clusters: string[]): Promise<Map<string, ClusterProbe>> {
    const fresh = (c: string) => (this.probes.get(c)?.at ?? 0) > Date.now() - PROBE_CACHE_MS;
    const ask = clusters.filter((c) => !fresh(c));
    if (ask.length)
      await this.client.workflow
        .execute('probeClusters', {
          taskQueue: this.taskQueue,
          workflowId: probeClustersId(status.tenant, status.app, randomUUID()),
          args: [{ clusters: ask }],
          workflowExecutionTimeout: '20s',
        })
        .then(
          (answers: ClusterProbe[]) => answers.forEach((probe) => this.probes.set(probe.cluster, { at: Date.now(), probe })),
          () => undefined,
        );
    return new Map(clusters.flatMap((c) => (fresh(c) ? [[c, this.probes.get(c)!.probe] as const] : [])));
  }

  /** The status overlaid with what its live batches know now (api/live-batches.ts). */
  private async withLivePods(status: ReleaseStatus): Promise<ReleaseStatus> {
    if (!status.batches?.length) return status;
    const handles = status.batches.map((b) => this.client.workflow.getHandle(b.workflowId));
    const [live, steps] = await Promise.all([
      Promise.allSettled(handles.map((h) => h.query(batchStatusQuery))),
      Promise.allSettled(handles.map((h) => podStepsOf(h))),
    ]);
    return overlayLiveBatches(
      status,
      live.map((r) => (r.status === 'fulfilled' ? r.value : undefined)),
      status.to,
      new Map(steps.flatMap((r) => (r.status === 'fulfilled' ? [...r.value] : []))),
    );
  }

  /**
   * Takes an operator action through the release's Update of that name and returns what it recorded. The
   * workflow's validator refuses what the release cannot take (no gate for that group, a pod not in the
   * release, nothing to roll back to, already finished): a CONFLICT with its reason; an input it cannot
   * parse is INVALID_INPUT. Nothing is recorded for a refused action.
   */
  async act<A extends ReleaseAction>(ref: ReleaseRef | string, action: A, input: ActionInputs[A]): Promise<ActionResult> {
    const handle = this.handle(ref);
    const update = releaseActions[action].update as (typeof releaseActions)[ReleaseAction]['update'];
    // before anything is sent: a finished release refuses every action (409), and an Update that no worker can take
    // would wait for one, and still be delivered to the next worker long after this request was answered
    const described = await handle.describe();
    if (described.status.name !== 'RUNNING') throw finishedRefusal(action, described.status.name);
    await ensureWorkerPolls(this.client, described.taskQueue);
    try {
      return await this.client.withDeadline(Date.now() + ACTION_DEADLINE_MS, () => handle.executeUpdate(update, { args: [input] }));
    } catch (err) {
      throw await this.actionError(handle, action, err);
    }
  }

  approve(ref: ReleaseRef | string, input: ActionInputs['approve']) {
    return this.act(ref, 'approve', input);
  }
  pause(ref: ReleaseRef | string, input: ActionInputs['pause']) {
    return this.act(ref, 'pause', input);
  }
  resume(ref: ReleaseRef | string, input: ActionInputs['resume']) {
    return this.act(ref, 'resume', input);
  }
  abort(ref: ReleaseRef | string, input: ActionInputs['abort']) {
    return this.act(ref, 'abort', input);
  }
  rollback(ref: ReleaseRef | string, input: ActionInputs['rollback']) {
    return this.act(ref, 'rollback', input);
  }
  promoteAll(ref: ReleaseRef | string, input: ActionInputs['promote-all']) {
    return this.act(ref, 'promote-all', input);
  }
  skipPod(ref: ReleaseRef | string, input: ActionInputs['skip-pod']) {
    return this.act(ref, 'skip-pod', input);
  }

  /** A refusal by the validator as a DomainError; an Update sent to a finished release is refused the same way. */
  private async actionError(handle: WorkflowHandle, action: ReleaseAction, err: unknown): Promise<unknown> {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const reason = err.cause.message;
      if (err.cause.type === ActionFailureTypes.invalidInput) return new DomainError('INVALID_INPUT', `${action} refused: ${reason}`);
      return new DomainError('CONFLICT', `${action} refused: ${reason}`, [], { action, reason });
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      const taskQueue = await handle.describe().then(
        (d) => d.taskQueue,
        () => this.taskQueue,
      );
      return unanswered(this.client, taskQueue, `the ${action}`, ACTION_DEADLINE_MS, err);
    }
    if ((err as Error).name === 'WorkflowNotFoundError') {
      // Temporal answers "not found" for a workflow that exists but has completed (it ended while the Update was
      // on its way): that is a finished release
      const closed = await handle.describe().then(
        (d) => d.status.name,
        () => undefined,
      );
      if (closed && closed !== 'RUNNING') return finishedRefusal(action, closed);
    }
    return err;
  }

  /** Waits for the release to finish and returns its final status. */
  result(ref: ReleaseRef | string): Promise<ReleaseStatus> {
    return this.handle(ref).result() as Promise<ReleaseStatus>;
  }
}

/** An action on a release that has ended (succeeded, failed, aborted, terminated, ...): a CONFLICT with that reason. */
function finishedRefusal(action: ReleaseAction, status: string): DomainError {
  const reason = `release already finished (${status.toLowerCase()})`;
  return new DomainError('CONFLICT', `${action} refused: ${reason}`, [], { action, reason });
}

/** gRPC status DEADLINE_EXCEEDED: a call's deadline (withDeadline) passed before the server answered. */
const GRPC_DEADLINE_EXCEEDED = 4;

function isDeadlineExceeded(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++)
    if (e.code === GRPC_DEADLINE_EXCEEDED) return true;
  return false;
}

/** A query or Update a polling worker did not answer within its deadline (a worker that just died is still listed). */
function unanswered(client: Client, taskQueue: string, what: string, deadlineMs: number, cause: unknown): NoWorkerError {
  const err = new NoWorkerError(taskQueue, client.options.namespace, `no worker answered ${what} within ${deadlineMs / 1000}s`);
  return Object.assign(err, { cause });
}

/** A visibility list query matching every given attribute exactly; values are keywords checked by the callers. */
export function visibilityQuery(equals: Record<string, string | undefined>): string {
  return Object.entries(equals)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} = '${value!.replace(/['\\]/g, '')}'`)
    .join(' AND ');
}

export type { AppSpec };

/** Pods the owed cells will run at `revision` (unknown revision: undefined). */
function owedPods(record: AppRecord | undefined, revision: number, cells: string[]): number | undefined {
  const target = record?.revisions.find((r) => r.number === revision);
  return target ? cells.reduce((n, cell) => n + replicasIn(target, cell), 0) : undefined;
}

/**
 * The skipped release's strategy for a catch-up of `pods` pods: groups sized for the whole App would not fit the
 * few cells a ledger holds, so a catch-up takes at most one group per pod (explicit group sizes become that many
 * groups). Gates, timeouts and the rest stay as they were.
 */
function fitted(strategy: ReleaseStatus['strategy'], pods: number | undefined): ReleaseStatus['strategy'] {
  if (!strategy || pods === undefined || pods < 1) return strategy;
  const { groupSizes, groups, ...rest } = strategy;
  const wanted = groupSizes ? groupSizes.length : (groups ?? 1);
  return { ...rest, groups: Math.max(1, Math.min(wanted, pods)) };
}
