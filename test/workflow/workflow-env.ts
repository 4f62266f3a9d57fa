import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { ReleaseClient, type ReleaseRef } from '../../api/release-client.js';
import { createReleaseQueueActivities, type Activities } from '../../activities/index.js';
import type { EnsurePodReleasedInput, PodStepFailure } from '../../activities/types.js';
import { AppSpecSchema, type CellOverride, type CheckContext, type Measurement } from '../../domain/index.js';
import { FailureTypes } from '../../domain/failures.js';
import type { AuditEvent } from '../../domain/audit-chain.js';
import { NotificationFailureTypes, type Notification } from '../../domain/notifications.js';
import { appEntityId } from '../../workflows/app-entity.js';
import type { AppRecord } from '../../workflows/definitions.js';
import type { ReleaseStatus, StatusView } from '../../workflows/release-status.js';
import type { CellDrift } from '../../activities/observe-cell-drift.js';
import { yieldAppUpdate, type DriftReport } from '../../workflows/drift-definitions.js';
import { appSpec } from '../support/app-spec.js';
import { temporalTestServerBinary } from '../../sandbox/paths.js';
import { SEARCH_ATTRIBUTES } from '../../sandbox/temporal-server.js';
import protos from '@temporalio/proto';
import { createReleaseMetricSinks } from '../../worker/release-metrics.js';

/**
 * Fast workflow tests: the real workflows (workflows/index.ts) on Temporal's time-skipping test server,
 * with activities replaced by fakes that answer at once. Kubernetes is not involved: these tests are about
 * the workflow's decisions (gates, operator actions, pause, abort, rollback). The sandbox scenario tests
 * cover the same flows against real control planes.
 */
export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  releases: ReleaseClient;
  taskQueue: string;
  /** Fake activities' knobs: a pod listed here fails its step (pod budget exceeded) until removed. */
  /** What the workflows appended to the (fake) audit store, each entry once by id. */
  audited: Map<string, AuditEvent>;
  /** Pods whose step fails (only when moved to `revision`, if given: a rollback then succeeds). */
  failing: Map<string, PodStepFailure & { revision?: number }>;
  /** Pods the fake ensurePodReleased was called for, in order, with the revision asked for and the cell's override. */
  released: { pod: string; revision: number; override?: CellOverride }[];
  handedBack: string[];
  /** How long the fake ensurePodReleased takes (real time), so a test can act while pods are in flight. */
  podStepMs: { value: number };
  /** The cluster of each cell (`kc-fake` for cells not listed). */
  cellClusters: Map<string, string>;
  /** Clusters the fake probes find unreachable (disaster mode); a pod step there never finishes. */
  unreachable: Set<string>;
  /** Clusters whose pod steps hang although probes still pass (a cluster failing before it is seen lost). */
  hanging: Set<string>;
  /** Pods whose fake step is running now. */
  inFlight: Set<string>;
  /** Drift the fake observeCellDrift reports per cell (none: clean). */
  cellDrift: Map<string, CellDrift>;
  /** Drift repairs the fakes were asked for, in order: `<activity> <cell> <pod or workload>`. */
  driftRepairs: string[];
  /** Running drift repair workflows a release must take its App over from (the test server cannot list them). */
  driftRuns: Set<string>;
  /** Reports recordDriftReport was handed. */
  driftReports: DriftReport[];
  /** Clusters whose next N probes fail (then answer again). */
  flakyProbes: Map<string, number>;
  /** Scripted outcomes of gate checks, by check name, taken in order (none left: pass). */
  checkOutcomes: Map<string, Omit<Measurement, 'at'>[]>;
  /** Every measurement the fake measureCheck was asked for: check name, group, revisions. */
  measured: { check: string; context: CheckContext }[];
  /** Notifications the fake deliverNotification delivered, in order, with the webhook each went to. */
  notifications: { webhook: string; notification: Notification }[];
  /** Webhooks whose every delivery attempt fails (the receiver answers 503). */
  failingWebhooks: Set<string>;
  /** Clusters the central worker calls agent-served (BARISTA_AGENT_CLUSTERS): releases started now route their steps there. */
  agentClusters: string[];
  /** When on, the central resolveCells finds no cell of an agent-served cluster (as without its credentials). */
  centralBlind: { on: boolean };
  /** Registers App `name` with revisions 1..`revisions`, the one before the last released everywhere. */
  registerApp(
    name: string,
    o?: { revisions?: number; replicas?: number; cells?: string[]; clusterOverrides?: Record<string, CellOverride>; tenant?: string },
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the time-skipping test server, trying again when the client cannot reach the server it just started.
 * Once in a full CI run (the sandbox keeping both cores busy) the gRPC client's 10 s connect deadline passed
 * although the server had started; the SDK offers no longer deadline, so a fresh server is tried instead.
 */
async function startTestServer(path: string, attempts = 3): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (err) {
      if (attempt >= attempts) throw err;
      console.warn(`time-skipping test server: attempt ${attempt} of ${attempts} failed (${(err as Error).message}); starting another`);
    }
  }
}

export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  const path = temporalTestServerBinary();
  if (!existsSync(path))
    throw new Error(`the time-skipping test server is not provisioned at ${path}: run \`npm run provision\` (npm test does it first)`);
  const env = await startTestServer(path);
  // the release and App workflows set Barista's search attributes: register them as the sandbox does
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  const taskQueue = `workflow-test-${Math.random().toString(36).slice(2, 8)}`;
  const failing = new Map<string, PodStepFailure & { revision?: number }>();
  const audited = new Map<string, AuditEvent>();
  const released: { pod: string; revision: number; override?: CellOverride }[] = [];
  const handedBack: string[] = [];
  const podStepMs = { value: 0 };
  const cellClusters = new Map<string, string>();
  const unreachable = new Set<string>();
  const hanging = new Set<string>();
  const inFlight = new Set<string>();
  const flakyProbes = new Map<string, number>();
  const cellDrift = new Map<string, CellDrift>();
  const driftRepairs: string[] = [];
  const driftReports: DriftReport[] = [];
  const driftRuns = new Set<string>();
  const checkOutcomes = new Map<string, Omit<Measurement, 'at'>[]>();
  const measured: { check: string; context: CheckContext }[] = [];
  const registered: string[] = [];
  const notifications: { webhook: string; notification: Notification }[] = [];
  const failingWebhooks = new Set<string>();
  const agentClusters: string[] = [];
  const centralBlind = { on: false };
  const flaky = (cluster: string) => {
    const left = flakyProbes.get(cluster) ?? 0;
    if (left > 0) flakyProbes.set(cluster, left - 1);
    return left > 0;
  };
  const activities: Activities = {
    // a central worker that cannot see agent-served clusters (the real one) leaves their cells to their agents
    resolveCells: async ({ cells, elsewhere }) =>
      Object.fromEntries(
        cells
          .map((cell) => [cell, cellClusters.get(cell) ?? 'kc-fake'])
          .filter(([, cluster]) => !(centralBlind.on && elsewhere?.includes(cluster!))),
      ),
    cellsInCluster: async ({ cluster, cells }) => ({
      cluster,
      mine: [...cellClusters]
        .filter(([cell, c]) => c === cluster && (!cells || cells.includes(cell)))
        .map(([cell]) => cell)
        .sort(),
      foreign: [],
    }),
    resolveReachableCells: async ({ cells, elsewhere }) => {
      const hidden = cells.filter((cell) => centralBlind.on && elsewhere?.includes(cellClusters.get(cell) ?? 'kc-fake'));
      const lost = cells.filter((cell) => !hidden.includes(cell) && unreachable.has(cellClusters.get(cell) ?? 'kc-fake'));
      const found = Object.fromEntries(
        cells.filter((c) => !lost.includes(c) && !hidden.includes(c)).map((cell) => [cell, cellClusters.get(cell) ?? 'kc-fake']),
      );
      // as the real one: cells this worker cannot see are left to the agents (unlocated, no cluster to blame)
      if (!lost.length && hidden.length) return { cells: found, unlocated: { cells: hidden, clusters: [], reason: '' } };
      if (!lost.length) return { cells: found };
      const clusters = [...new Set(lost.map((c) => cellClusters.get(c) ?? 'kc-fake'))];
      return {
        cells: found,
        unlocated: { cells: lost, clusters, reason: clusters.map((c) => `cluster ${c}: connection refused`).join('; ') },
      };
    },
    cellsOfClusters: async ({ clusters }) =>
      Object.fromEntries(
        clusters.map((k) => [
          k,
          [...cellClusters]
            .filter(([, c]) => c === k)
            .map(([cell]) => cell)
            .sort(),
        ]),
      ),
    ensureWorkload: async (input) => {
      driftRepairs.push(`ensureWorkload ${input.cell}${input.keepReplicas ? ' keep-replicas' : ''}`);
      return { created: false, updated: true };
    },
    appendAudit: async ({ events }) => {
      const fresh = events.filter((e) => !audited.has(e.id));
      for (const e of fresh) audited.set(e.id, e);
      return { stored: true, inserted: fresh.length };
    },
    ensurePodReleased: async (input: EnsurePodReleasedInput) => {
      if (podStepMs.value) await new Promise((r) => setTimeout(r, podStepMs.value));
      // a pod in an unreachable cluster hangs until the release gives it up (cancels it)
      inFlight.add(input.pod);
      try {
        while (unreachable.has(input.cluster) || hanging.has(input.cluster)) {
          Context.current().heartbeat();
          await Context.current().sleep(50);
        }
      } finally {
        inFlight.delete(input.pod);
      }
      const failure = failing.get(input.pod);
      if (failure && (failure.revision === undefined || failure.revision === input.revision.number))
        throw ApplicationFailure.nonRetryable(failure.reason, FailureTypes.podStepTimeout, failure);
      const override = input.revision.overrides[input.cell];
      released.push({ pod: input.pod, revision: input.revision.number, ...(override ? { override } : {}) });
      driftRepairs.push(`ensurePodReleased ${input.cell} ${input.pod} ${input.revision.number}`);
      return { pod: input.pod, changed: true, uid: `uid-${input.pod}`, ip: '10.0.0.1', restartCount: 0 };
    },
    awaitGroupStable: async (input) => ({ stableForSeconds: input.windowSeconds }),
    ensurePodHandedBack: async ({ pod }) => {
      handedBack.push(pod);
      return { unmarked: true };
    },
    probeClusters: async ({ clusters }) =>
      clusters.map((cluster) =>
        unreachable.has(cluster) || flaky(cluster)
          ? { cluster, reachable: false, reason: `cluster ${cluster} unreachable: probe refused` }
          : { cluster, reachable: true },
      ),
    awaitClusterLost: async ({ clusters }) => {
      for (;;) {
        const lost = clusters.find((c) => unreachable.has(c));
        if (lost) return { cluster: lost, reachable: false, reason: `cluster ${lost} unreachable: probe refused` };
        Context.current().heartbeat();
        await Context.current().sleep(50);
      }
    },
    observeCellDrift: async ({ cell }) => cellDrift.get(cell) ?? { workload: [], pods: [], podsSeen: 0 },
    ensurePodMetadata: async ({ cell, pod }) => {
      driftRepairs.push(`ensurePodMetadata ${cell} ${pod}`);
      return { changed: ['annotations[x]'] };
    },
    ensureFinalizersLifted: async ({ pod, finalizers }) => {
      driftRepairs.push(`ensureFinalizersLifted ${pod}`);
      return { lifted: finalizers };
    },
    recordDriftReport: async ({ report }) => {
      driftReports.push(report);
      return { entries: 0, stored: false };
    },
    measureCheck: async ({ check, context }) => {
      measured.push({ check: check.name, context });
      const next = checkOutcomes.get(check.name)?.shift() ?? { decision: 'pass', value: '0', reason: 'scripted pass' };
      return { at: new Date().toISOString(), ...next };
    },
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    // the release queue's and tickets' activities are real: they only talk to Temporal
    activities: {
      ...activities,
      ...createReleaseQueueActivities(env.client, { agentClusters }),
      ...listFreeDriftActivities(env, registered, driftRuns),
      // the POST is faked: what each webhook received, or 503 from a failing one
      deliverNotification: async ({ webhook, notification }: { tenant: string; webhook: { name: string }; notification: Notification }) => {
        if (failingWebhooks.has(webhook.name))
          throw ApplicationFailure.create({
            message: `webhook ${webhook.name} answered 503`,
            type: NotificationFailureTypes.failed,
            details: [{ attempt: Context.current().info.attempt, status: 503 }],
          });
        notifications.push({ webhook: webhook.name, notification });
        return { delivered: true, status: 200 };
      },
    },
    sinks: createReleaseMetricSinks(new Registry()),
  });
  const running = worker.run();
  return {
    env,
    releases: new ReleaseClient(env.client, taskQueue),
    taskQueue,
    failing,
    audited,
    released,
    handedBack,
    podStepMs,
    cellClusters,
    unreachable,
    hanging,
    inFlight,
    flakyProbes,
    cellDrift,
    driftRepairs,
    driftReports,
    driftRuns,
    checkOutcomes,
    measured,
    notifications,
    failingWebhooks,
    agentClusters,
    centralBlind,
    // the test server has no update-with-start (ReleaseClient.upsertApp): start the App entity with its record
    async registerApp(name, { revisions = 1, replicas = 2, cells = ['rz00a'], clusterOverrides, tenant } = {}) {
      const spec = AppSpecSchema.parse({
        ...appSpec(name, 'registry.local/app:1', { cells, replicasPerCell: replicas, ...(tenant ? { tenant } : {}) }),
        ...(clusterOverrides ? { clusterOverrides } : {}),
      });
      const record: AppRecord = {
        spec,
        revisions: Array.from({ length: revisions }, (_, i) => ({
          number: i + 1,
          template: { ...spec.template, containers: spec.template.containers.map((c) => ({ ...c, image: `registry.local/app:${i + 1}` })) },
          replicasPerCell: spec.replicasPerCell,
          overrides: spec.overrides,
          ...(spec.clusterOverrides ? { clusterOverrides: spec.clusterOverrides } : {}),
          createdAt: new Date().toISOString(),
          createdBy: 'alice',
        })),
        latest: revisions,
        released: revisions > 1 ? Object.fromEntries(cells.map((c) => [c, revisions - 1])) : {},
      };
      await env.client.workflow.start('appEntity', { workflowId: appEntityId(spec.tenant, name), taskQueue, args: [record] });
      registered.push(name);
    },
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/**
 * The drift activities that list workflows, without listing (the time-skipping server has no visibility): the
 * Apps this env registered, and the drift runs the test names. The Update a release sends is the real one.
 */
function listFreeDriftActivities(env: TestWorkflowEnvironment, registered: string[], driftRuns: Set<string>) {
  return {
    driftAppNames: async ({ apps }: { tenant: string; apps?: string[] }) => ({
      apps: [...registered].sort().filter((a) => !apps?.length || apps.includes(a)),
      unknown: (apps ?? []).filter((a) => !registered.includes(a)),
    }),
    awaitDriftYield: async ({ app, release }: { tenant: string; app: string; release: string }) => {
      const waitedFor: string[] = [];
      for (const id of driftRuns) {
        const answer = await env.client.workflow
          .getHandle(id)
          .executeUpdate(yieldAppUpdate, { args: [{ app, release }] })
          .catch(() => undefined); // finished
        if (answer?.waitedForPod) waitedFor.push(`${id}: ${answer.waitedForPod}`);
      }
      return { waitedFor, unanswered: [] };
    },
  };
}

/**
 * Polls the release's status (real time; no timer needs to fire) until `predicate` holds. 45 s by default: it returns
 * as soon as the predicate holds, and 15 s ran out once while the whole suite loaded the machine.
 */
export async function until(
  releases: ReleaseClient,
  ref: ReleaseRef,
  what: string,
  predicate: (s: ReleaseStatus) => boolean,
  timeoutMs = 45_000,
  view?: StatusView,
): Promise<ReleaseStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ReleaseStatus | undefined;
  while (Date.now() < deadline) {
    last = await releases.status(ref, view);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last state ${last?.state}, audit ${JSON.stringify(last?.audit.map((a) => a.action))}`);
}
