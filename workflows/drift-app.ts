import { ActivityFailure } from '@temporalio/workflow';
import {
  decideRepairs,
  DEFAULT_DRIFT_SETTINGS,
  driftKey,
  nextMemory,
  placedCells,
  revisionFor,
  withClusterOverrides,
  workloadName,
  type DriftMemory,
  type RepairUnit,
  type UnitDecision,
} from '../domain/index.js';
import type { CellDrift } from '../activities/observe-cell-drift.js';
import type { DriftTarget } from '../activities/drift-targets.js';
import type { AppDriftReport, CellDriftReport, DriftFinding, DriftOutcome } from './drift-definitions.js';
import { cells as cellSide, DRIFT_POD_TIMEOUT_SECONDS, podRepairs, reads, repairs } from './drift-proxies.js';
import { agentQueueOf, type ClusterRoutes } from '../domain/cluster-queues.js';
import { forCluster } from './cluster-routing.js';
import { askAgents, cellsOfClustersRouted } from './locate-cells.js';

/**
 * The activities acting on `cluster`: the central proxies for a direct cluster (exactly as before), its agent's
 * queue for an agent-served one (issue #16), each within the budget of its kind.
 */
function onCluster(routes: ClusterRoutes | undefined, cluster: string) {
  if (!agentQueueOf(routes, cluster)) return { reads: cellSide, repairs, podRepairs };
  const side = forCluster(routes, cluster);
  return { reads: side.budgeted(90), repairs: side.budgeted(180), podRepairs: side.waits(DRIFT_POD_TIMEOUT_SECONDS) };
}

/** How the run lets a release pre-empt it: asked before each pod, and told which pod is in hand. */
export interface Preemption {
  /** A release of the App asked the run to yield (its id), or undefined. */
  yieldedTo(app: string): string | undefined;
  /** The pod being repaired now (a yield request waits for it), or undefined when none. */
  inHand(app: string, pod: string | undefined): void;
}

interface CellInHand {
  cell: string;
  cluster: string;
  report: CellDriftReport;
  drift?: CellDrift;
}

/**
 * One App's drift repair: each reachable cell of its placement that a release reached is compared with the
 * revision recorded for it, then repaired through the release's own steps (workload first, then pods one at a
 * time through the per-pod protocol), within the run's caps; a release that starts meanwhile takes over between
 * pods. Returns the App's report and its next memory (undefined in a dry run: it changes nothing).
 */
export async function repairApp(
  target: DriftTarget,
  opts: { dryRun: boolean; preemption: Preemption; routes?: ClusterRoutes },
): Promise<{ report: AppDriftReport; memory?: DriftMemory }> {
  const on = (cluster: string) => onCluster(opts.routes, cluster);
  const app = target.spec;
  const settings = { ...DEFAULT_DRIFT_SETTINGS, ...app.drift };
  const report: AppDriftReport = { app: app.name, state: 'clean', cells: [] };
  const placed = await placementCells(target, opts.routes);
  const released = placed.filter((c) => target.released[c] !== undefined);
  for (const cell of placed.filter((c) => target.released[c] === undefined))
    report.cells.push({ cell, state: 'not-released', reason: 'no release has reached this cell yet', findings: [] });
  if (!released.length) return { report: { ...report, state: 'skipped', reason: 'no cell has been released yet' } };

  const located = await locateCells(target, released, opts.routes);
  // every cell read at once; the report keeps the placement's order
  const observed = released.map(async (cell): Promise<CellInHand | undefined> => {
    const cluster = located.cells[cell];
    const revision = target.revisions.find((r) => r.number === target.released[cell]);
    const base = { cell, ...(cluster ? { cluster } : {}), revision: target.released[cell]!, findings: [] };
    if (!cluster) {
      report.cells.push({ ...base, state: 'unreachable', reason: located.unlocated?.reason ?? 'no cluster answered for this cell' });
      return undefined;
    }
    if (!revision) {
      report.cells.push({ ...base, state: 'failed', reason: `revision ${target.released[cell]} is no longer kept by the App` });
      return undefined;
    }
    const cellReport: CellDriftReport = { ...base, state: 'clean' };
    report.cells.push(cellReport);
    try {
      const drift = await on(cluster).reads.observeCellDrift({
        cluster,
        namespace: target.namespace,
        app: app.name,
        tenant: app.tenant,
        workspace: app.workspace,
        cell,
        revision: revisionFor(
          withClusterOverrides(revision, [cell], () => cluster),
          [cell],
        ),
        traffic: app.traffic,
        settings: { ignore: settings.ignore, handEditManagers: settings.handEditManagers },
      });
      return { cell, cluster, report: cellReport, drift };
    } catch (err) {
      Object.assign(cellReport, { state: 'unreachable', reason: `could not read the cell: ${messageOf(err)}` });
      return undefined;
    }
  });
  const inHand = (await Promise.all(observed)).filter((c): c is CellInHand => c !== undefined);

  const units = inHand.flatMap((c) => unitsOf(c, app.name));
  const decisions = decideRepairs(units, target.memory, { dryRun: opts.dryRun, settings });
  const outcomes = new Map<RepairUnit, { outcome: DriftOutcome; reason?: string }>();
  for (const d of decisions)
    if (d.action === 'report') outcomes.set(d.unit, { outcome: d.outcome, ...(d.reason ? { reason: d.reason } : {}) });

  const toRepair = decisions.filter((d): d is Extract<UnitDecision, { action: 'repair' }> => d.action === 'repair').map((d) => d.unit);
  // workloads first: a pod is moved within its workload's template
  for (const unit of toRepair.filter((u) => !u.pod)) outcomes.set(unit, await repairWorkload(target, inHand, unit, on));
  let yielded: string | undefined;
  for (const unit of toRepair.filter((u) => u.pod)) {
    yielded ??= opts.preemption.yieldedTo(app.name) ?? (await reads.releaseInFlight({ tenant: app.tenant, app: app.name }));
    // checked and marked in one step of the workflow: a release asking now waits for this pod, or finds it not started
    yielded ??= opts.preemption.yieldedTo(app.name);
    if (yielded) {
      outcomes.set(unit, { outcome: 'yielded', reason: `release ${yielded} started; it takes over` });
      continue;
    }
    opts.preemption.inHand(app.name, unit.object);
    try {
      outcomes.set(unit, await repairPod(target, inHand, unit, on));
    } finally {
      opts.preemption.inHand(app.name, undefined);
    }
  }

  for (const unit of units) {
    const { outcome, reason } = outcomes.get(unit)!;
    const cell = inHand.find((c) => c.cell === unit.cell)!.report;
    cell.state = 'drifted';
    for (const f of unit.fields) cell.findings.push({ cell: unit.cell, object: unit.object, ...f, outcome, ...(reason ? { reason } : {}) });
  }
  const findings = report.cells.flatMap((c) => c.findings);
  report.state = appState(report, findings);
  if (yielded) report.reason = `yielded to release ${yielded}`;
  if (opts.dryRun) return { report };
  const memory = nextMemory(
    target.memory,
    findings.map((f) => ({ key: driftKey(f.cell, f.object, f.field), repaired: f.outcome === 'repaired' })),
  );
  return { report, memory };
}

/** The cells of the placement, with the clusters it names looked up (an agent-served one by its agent). */
async function placementCells(target: DriftTarget, routes: ClusterRoutes | undefined): Promise<string[]> {
  const clusters = target.spec.placement.clusters ?? [];
  if (!clusters.length) return target.spec.placement.cells;
  const cellsOf = await cellsOfClustersRouted(routes, cellSide, (c) => onCluster(routes, c).reads, {
    tenant: target.spec.tenant,
    clusters,
  });
  return placedCells(target.spec.placement, cellsOf);
}

/**
 * Where the released cells are. The central worker finds those it can see; with agent-served clusters, the cells
 * it cannot see are asked of their agents, and a cell only silent agents could hold is unreachable for this run.
 */
async function locateCells(target: DriftTarget, cells: string[], routes: ClusterRoutes | undefined) {
  const app = target.spec;
  const agents = routes?.agentServed ?? [];
  const input = { tenant: app.tenant, workspace: app.workspace, cells };
  const located = await cellSide.resolveReachableCells(agents.length ? { ...input, elsewhere: agents } : input);
  if (!agents.length || !located.unlocated) return located;
  const { answers, silent } = await askAgents(agents, (c) => onCluster(routes, c).reads, app.tenant, located.unlocated.cells);
  const found = { ...located.cells };
  for (const a of answers) for (const cell of a.mine) if (located.unlocated.cells.includes(cell)) found[cell] = a.cluster;
  const missing = located.unlocated.cells.filter((c) => !found[c]);
  if (!missing.length) return { cells: found };
  const reason =
    [located.unlocated.reason, ...silent.map((x) => x.failure.message)].filter(Boolean).join('; ') || 'no cluster knows this cell';
  return { cells: found, unlocated: { cells: missing, clusters: located.unlocated.clusters, reason } };
}

function unitsOf(c: CellInHand, app: string): RepairUnit[] {
  if (!c.drift) return [];
  const units: RepairUnit[] = [];
  const object = `statefulset/${workloadName(app, c.cell)}`;
  if (c.drift.workload === 'missing')
    units.push({ cell: c.cell, object, fields: [{ field: '(object)', expected: 'present', actual: 'missing' }], pod: false });
  else if (c.drift.workload.length) units.push({ cell: c.cell, object, fields: c.drift.workload, pod: false });
  // a missing workload's pods are recreated with it; they are looked at again by the next run
  if (c.drift.workload !== 'missing')
    for (const p of c.drift.pods) units.push({ cell: c.cell, object: `pod/${p.pod}`, fields: p.fields, pod: true });
  return units;
}

type OnCluster = (cluster: string) => ReturnType<typeof onCluster>;

async function repairWorkload(target: DriftTarget, inHand: CellInHand[], unit: RepairUnit, on: OnCluster) {
  const c = inHand.find((x) => x.cell === unit.cell)!;
  const revision = target.revisions.find((r) => r.number === target.released[unit.cell])!;
  try {
    await on(c.cluster).repairs.ensureWorkload({
      ...refOf(target, c),
      revision: revisionFor(
        withClusterOverrides(revision, [c.cell], () => c.cluster),
        [c.cell],
      ),
      // replicas stay as they are unless they themselves drifted (another manager, an HPA, may own them)
      keepReplicas: !unit.fields.some((f) => f.field === 'spec.replicas' || f.field === '(object)'),
    });
    return { outcome: 'repaired' as const };
  } catch (err) {
    return { outcome: 'failed' as const, reason: messageOf(err) };
  }
}

async function repairPod(target: DriftTarget, inHand: CellInHand[], unit: RepairUnit, on: OnCluster) {
  const c = inHand.find((x) => x.cell === unit.cell)!;
  const pod = unit.object.slice('pod/'.length);
  const drift = c.drift!.pods.find((p) => p.pod === pod)!;
  const revision = revisionFor(
    withClusterOverrides(
      target.revisions.find((r) => r.number === target.released[c.cell])!,
      [c.cell],
      () => c.cluster,
    ),
    [c.cell],
  );
  const ref = refOf(target, c);
  try {
    const side = on(c.cluster);
    if (drift.repair === 'metadata') await side.repairs.ensurePodMetadata({ ...ref, pod, revision });
    else if (drift.repair === 'unblock')
      await side.repairs.ensureFinalizersLifted({
        cluster: ref.cluster,
        namespace: ref.namespace,
        tenant: ref.tenant,
        pod,
        finalizers: drift.fields.map((f) => /\[(.+)\]$/.exec(f.field)?.[1] ?? '').filter(Boolean),
      });
    else
      await side.podRepairs.ensurePodReleased({
        ...ref,
        pod,
        traffic: target.spec.traffic,
        revision,
        mode: 'in-place',
        podTimeoutSeconds: DRIFT_POD_TIMEOUT_SECONDS,
      });
    return { outcome: 'repaired' as const };
  } catch (err) {
    return { outcome: 'failed' as const, reason: messageOf(err) };
  }
}

function refOf(target: DriftTarget, c: CellInHand) {
  const app = target.spec;
  return { cluster: c.cluster, namespace: target.namespace, app: app.name, tenant: app.tenant, workspace: app.workspace, cell: c.cell };
}

function appState(report: AppDriftReport, findings: DriftFinding[]): AppDriftReport['state'] {
  if (findings.some((f) => f.outcome === 'failed') || report.cells.some((c) => c.state === 'failed')) return 'failed';
  if (!findings.length) return 'clean';
  return findings.every((f) => f.outcome === 'repaired') ? 'repaired' : 'drifted';
}

/** The innermost cause's message: what went wrong in the cluster, not Temporal's wrapping. */
function messageOf(err: unknown): string {
  let deepest: unknown = err instanceof ActivityFailure && err.cause ? err.cause : err;
  while (deepest instanceof Error && deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest instanceof Error ? deepest.message : String(deepest);
}
