import { withClusterOverrides, type Revision } from './app.js';
import { lowestOrdinalsFirst } from './first-release.js';
import { planRelease, type PlanReleaseInput, type ReleasePlan } from './release.js';

/** What a release runs: its plan, and the revisions as its cells get them (each cell's override made whole). */
export interface ReleaseRun {
  plan: ReleasePlan;
  /** The target with cluster overrides folded into each cell's override (what workloads and pods are moved to). */
  to: Revision;
  /** The revision rolled back to, folded the same way; undefined for a first release. */
  from?: Revision;
  /** A first release: each cell's pods are created group by group, lowest ordinal first. */
  firstRelease: boolean;
}

/**
 * The plan a release runs, once its cells are located: cell over cluster over template for both revisions, the
 * groups over placement ∩ mask (domain/release.ts), and for a first release the groups mirrored to create pods
 * from ordinal 0 up. The release workflow runs exactly this; a dry run (api/release-plan.ts) calls it with the same
 * inputs, so what it shows is what a start runs. Errors name the request field (DomainError). `input.app`: the App
 * with its placement's cells resolved (clusters of the placement looked up).
 */
export function planReleaseRun(
  input: PlanReleaseInput & {
    /**
     * Whether a first release creates pods group by group (default yes). Asked only for a first release whose plan
     * succeeded: the workflow answers it with a `patched()` marker, which must be written at exactly that point.
     */
    firstReleaseByGroup?: () => boolean;
  },
): ReleaseRun {
  const cells = input.app.placement.cells;
  const to = withClusterOverrides(input.to, cells, input.clusterOf);
  const from = input.from && withClusterOverrides(input.from, cells, input.clusterOf);
  const planned = planRelease({
    app: input.app,
    namespace: input.namespace,
    from,
    to,
    request: input.request,
    clusterOf: input.clusterOf,
    ...(input.planner ? { planner: input.planner } : {}),
  });
  const firstRelease = from === undefined && (input.firstReleaseByGroup?.() ?? true);
  const replicasOf = new Map(planned.cells.map((c) => [c.cell, c.replicas]));
  const plan = firstRelease ? { ...planned, groups: lowestOrdinalsFirst(planned.groups, (c) => replicasOf.get(c) ?? 0) } : planned;
  return { plan, to, ...(from ? { from } : {}), firstRelease };
}
