import { z } from 'zod';
import type { AppSpec, Revision, TrafficComponent } from './app.js';
import { replicasIn, workloadName } from './app.js';
import { DomainError } from './errors.js';
import { dnsLabel } from './names.js';
import { cellPods, planGroups, PlanError, type PlannedGroup } from './plan-groups.js';
import { planGroupsV1 } from './plan-groups-v1.js';
import { effectiveScope, MaskSchema } from './placement.js';
import { StrategySchema, type Strategy } from './strategy.js';
import { toFieldIssues } from './validation.js';

/** What a caller asks for when starting a release. */
export const ReleaseRequestSchema = z.strictObject({
  app: dnsLabel,
  tenant: dnsLabel,
  /** Target revision; default: the App's latest. A lower number is a rollback release. */
  revision: z.number().int('must be a whole revision number').positive('must be a revision number ≥ 1').optional(),
  /**
   * What this release may change: cells, or `{cells, clusters}`; scope = placement ∩ mask. Default: the whole
   * placement.
   */
  mask: MaskSchema.optional(),
  strategy: StrategySchema.default(StrategySchema.parse({})),
  requestedBy: z.string().min(1).max(200),
  reason: z.string().max(1000).optional(),
  /** Queue behind a release in flight instead of being refused. */
  queue: z.boolean().default(false),
  /**
   * `normal` pauses on a cluster it cannot reach; `disaster` skips the cells of such a cluster into the release's
   * ledger and goes on with the others (docs/multi-cluster.md).
   */
  mode: z.enum(['normal', 'disaster'], { error: 'mode must be "normal" or "disaster"' }).default('normal'),
});

/** A catch-up of a disaster-mode release: a release over exactly the cells its ledger still owes. */
export const CatchUpRequestSchema = z.strictObject({
  /** Default: the skipped release's target. A newer one may be named; an older one is a rollback, not a catch-up. */
  revision: z.number().int('must be a whole revision number').positive('must be a revision number ≥ 1').optional(),
  /** Default: the skipped release's strategy. */
  strategy: StrategySchema.optional(),
  requestedBy: z.string().min(1).max(200),
  reason: z.string().max(1000).optional(),
});
export type CatchUpRequest = z.output<typeof CatchUpRequestSchema>;

export type ReleaseRequest = z.output<typeof ReleaseRequestSchema>;
export type ReleaseRequestInput = z.input<typeof ReleaseRequestSchema>;

export function parseReleaseRequest(input: unknown): ReleaseRequest {
  const result = ReleaseRequestSchema.safeParse(input);
  if (!result.success) throw DomainError.invalid(toFieldIssues(result.error));
  return result.data;
}

export interface CellPlan {
  cell: string;
  cluster: string;
  workload: string;
  replicas: number;
}

/** Everything the release workflow needs, fixed at start so the workflow stays deterministic. */
export interface ReleasePlan {
  app: { name: string; tenant: string; workspace: string; namespace: string; traffic: TrafficComponent[] };
  from: Revision | undefined;
  to: Revision;
  cells: CellPlan[];
  groups: PlannedGroup[];
  strategy: Strategy;
  /** The App's unavailability budget (strategy.maxUnavailable) over every cluster of its placement. */
  budget?: { maxUnavailable: number; clusters: { name: string; pods: number }[] };
}

/**
 * strategy.maxUnavailable as a pod count over all the App's pods (every cell of its placement): a share rounds
 * down but is at least 1; a count above the App's pods is refused (it would be no budget at all).
 */
export function unavailabilityBudget(
  maxUnavailable: Strategy['maxUnavailable'],
  app: AppSpec,
  to: Revision,
  clusterOf: (cell: string) => string | undefined,
): ReleasePlan['budget'] {
  if (maxUnavailable === undefined) return undefined;
  const perCluster = new Map<string, number>();
  let total = 0;
  for (const cell of app.placement.cells) {
    const n = replicasIn(to, cell);
    total += n;
    const cluster = clusterOf(cell) ?? '';
    perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + n);
  }
  const count = typeof maxUnavailable === 'number' ? maxUnavailable : Math.max(1, Math.floor((total * parseFloat(maxUnavailable)) / 100));
  if (count > total)
    throw new PlanError(
      'strategy.maxUnavailable',
      `${count} pods is more than all ${total} pods of ${app.name} (${app.placement.cells.length} cells): give at most ${total}, or a percentage`,
    );
  return { maxUnavailable: count, clusters: [...perCluster].filter(([name]) => name).map(([name, pods]) => ({ name, pods })) };
}

/**
 * Which group planner a release uses: `exact` (default) honours the strategy exactly; `v1` is the planner of
 * releases started before it, which the workflow keeps (behind a patch) so that their histories replay.
 */
export type GroupPlanner = 'v1' | 'exact';

const groupPlanners = { v1: planGroupsV1, exact: planGroups } satisfies Record<GroupPlanner, typeof planGroups>;

/**
 * Plans a release of `app` to revision `to` over placement ∩ mask. `clusterOf` maps a cell to its
 * cluster. Errors name the request field (mask, revision, strategy.groups, …).
 */
export interface PlanReleaseInput {
  app: AppSpec;
  namespace: string;
  from: Revision | undefined;
  to: Revision;
  request: ReleaseRequest;
  clusterOf: (cell: string) => string | undefined;
  planner?: GroupPlanner;
}

export function planRelease(input: PlanReleaseInput): ReleasePlan {
  const { app, request } = input;
  const { scope, outside } = effectiveScope(app.placement.cells, request.mask, input.clusterOf);
  const placed = app.placement.cells.join(', ');
  const maskIssues = [
    ...(outside.cells.length
      ? [{ field: 'mask.cells', message: `cells ${outside.cells.join(', ')} are not in the placement of ${app.name} (${placed})` }]
      : []),
    ...(outside.clusters.length
      ? [
          {
            field: 'mask.clusters',
            message: `clusters ${outside.clusters.join(', ')} hold no cell of the placement of ${app.name} (${placed})`,
          },
        ]
      : []),
  ];
  if (maskIssues.length) throw DomainError.invalid(maskIssues);
  if (scope.length === 0) throw DomainError.invalid([{ field: 'mask', message: 'placement ∩ mask is empty: nothing to release' }]);
  const cells: CellPlan[] = scope.map((cell) => {
    const cluster = input.clusterOf(cell);
    if (!cluster)
      throw DomainError.invalid([
        { field: 'placement.cells', message: `cell ${cell} is not known in any cluster of tenant ${app.tenant}` },
      ]);
    return { cell, cluster, workload: workloadName(app.name, cell), replicas: replicasIn(input.to, cell) };
  });
  try {
    const groups = groupPlanners[input.planner ?? 'exact'](
      cells.map((c) => cellPods(c.cell, c.workload, c.replicas)),
      request.strategy,
    );
    const budget = unavailabilityBudget(request.strategy.maxUnavailable, app, input.to, input.clusterOf);
    return {
      app: { name: app.name, tenant: app.tenant, workspace: app.workspace, namespace: input.namespace, traffic: app.traffic },
      from: input.from,
      to: input.to,
      cells,
      groups,
      strategy: request.strategy,
      ...(budget ? { budget } : {}),
    };
  } catch (err) {
    if (err instanceof PlanError) throw DomainError.invalid([{ field: err.field, message: err.message }]);
    throw err;
  }
}
