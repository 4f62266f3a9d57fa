import type { Logger } from 'pino';
import { createAwaitGroupStable } from './await-group-stable.js';
import type { Clusters } from './clusters.js';
import { createEnsurePodReleased } from './ensure-pod-released.js';
import { createEnsurePodHandedBack } from './ensure-pod-handed-back.js';
import { createEnsureWorkload } from './ensure-workload.js';
import { createResolveCells } from './resolve-cells.js';

export { Clusters } from './clusters.js';
export { LABELS, TRAFFIC_READY, FIELD_MANAGER } from './labels.js';

export interface ActivityDeps {
  clusters: Clusters;
  logger: Logger;
  /** Test-only: skip waiting for traffic components, to show that the counter sees loss without draining. */
  skipDrainForTests?: boolean;
}

/** Every activity Barista's workflows call, built from their dependencies (real clients, a logger). */
export function createActivities({ clusters, logger, skipDrainForTests }: ActivityDeps) {
  return {
    resolveCells: createResolveCells(clusters),
    ensureWorkload: createEnsureWorkload(clusters, logger),
    ensurePodReleased: createEnsurePodReleased(clusters, logger, { skipDrainForTests }),
    awaitGroupStable: createAwaitGroupStable(clusters),
    ensurePodHandedBack: createEnsurePodHandedBack(clusters),
  };
}

export type Activities = ReturnType<typeof createActivities>;
